//! The course's `--config-file`: a JSON array of experiments, each started `start_time`
//! seconds after the producer.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The course's load files, shipped as examples (`--load 2`, `--load 3`).
pub const LOAD_2: &str = include_str!("../../../loads/2.json");
pub const LOAD_3: &str = include_str!("../../../loads/3.json");

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TempRange {
    pub lower_threshold: f32,
    pub upper_threshold: f32,
}

/// One experiment. Unknown fields are refused: a misspelt `num_sensor` would otherwise
/// silently run with a default and make the load wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Seconds after the producer starts.
    #[serde(default)]
    pub start_time: f64,
    pub researcher: String,
    pub num_sensors: u32,
    /// Milliseconds between measurement rounds (the course calls a period a "rate").
    pub sample_rate: u64,
    pub start_temperature: f32,
    pub stabilization_samples: u32,
    pub carry_out_samples: u32,
    pub temp_range: TempRange,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the config file is not an array of experiments: {0}")]
    Json(#[from] serde_json::Error),
    #[error("experiment {index} (counting from 1): {reason}")]
    Invalid { index: usize, reason: String },
    #[error("the config file lists no experiment")]
    Empty,
}

impl ExperimentSpec {
    pub fn period(&self) -> Duration {
        Duration::from_millis(self.sample_rate)
    }

    pub fn rounds(&self) -> u32 {
        self.stabilization_samples + self.carry_out_samples
    }

    /// Measurement events per second while it runs: `num_sensors × 1000 / sample_rate`.
    pub fn events_per_second(&self) -> f64 {
        self.num_sensors as f64 * 1000.0 / self.sample_rate as f64
    }

    /// From the first round to the end of the last one.
    pub fn duration(&self) -> Duration {
        self.period() * self.rounds()
    }

    pub fn validate(&self) -> Result<(), String> {
        let r = self.temp_range;
        if self.num_sensors == 0 {
            return Err("num_sensors must be at least 1".into());
        }
        if self.sample_rate == 0 {
            return Err("sample_rate is a period in milliseconds and must be at least 1".into());
        }
        if self.rounds() == 0 {
            return Err("stabilization_samples + carry_out_samples must be at least 1".into());
        }
        if !(self.start_time.is_finite() && self.start_time >= 0.0) {
            return Err(format!("start_time must be seconds ≥ 0, got {}", self.start_time));
        }
        if !(r.lower_threshold.is_finite() && r.upper_threshold.is_finite() && r.lower_threshold < r.upper_threshold) {
            return Err(format!(
                "temp_range needs lower_threshold < upper_threshold, got {}..{}",
                r.lower_threshold, r.upper_threshold
            ));
        }
        if !self.start_temperature.is_finite() {
            return Err("start_temperature must be a number".into());
        }
        Ok(())
    }
}

/// Parses and validates a config file's text.
pub fn parse(text: &str) -> Result<Vec<ExperimentSpec>, ConfigError> {
    let specs: Vec<ExperimentSpec> = serde_json::from_str(text)?;
    if specs.is_empty() {
        return Err(ConfigError::Empty);
    }
    for (i, s) in specs.iter().enumerate() {
        s.validate().map_err(|reason| ConfigError::Invalid { index: i + 1, reason })?;
    }
    Ok(specs)
}

pub fn load(path: &Path) -> Result<Vec<ExperimentSpec>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    parse(&text)
}

/// The expected production rate (events/s of measurements) at `t` seconds after the start:
/// the sum over running experiments. What the lab's rate graph should show.
pub fn expected_rate(specs: &[ExperimentSpec], t: f64) -> f64 {
    specs
        .iter()
        .filter(|s| t >= s.start_time && t < s.start_time + s.duration().as_secs_f64())
        // A fold from +0.0: an empty f64 sum is -0.0, which prints as "-0".
        .fold(0.0, |total, s| total + s.events_per_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_3_gives_the_course_curve() {
        let specs = parse(LOAD_3).unwrap();
        assert_eq!(specs.len(), 3);
        let at = |t| expected_rate(&specs, t);
        assert_eq!((at(0.0), at(29.9), at(30.0), at(44.9)), (10.0, 10.0, 50.0, 50.0));
        assert_eq!((at(45.0), at(47.9), at(48.0), at(59.9)), (90.0, 90.0, 50.0, 50.0));
        assert_eq!((at(60.0), at(72.4), at(72.5)), (40.0, 40.0, 0.0));
        assert_eq!(parse(LOAD_2).unwrap().len(), 2);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let ok = r#"{"researcher":"r","num_sensors":1,"sample_rate":100,"start_temperature":0,"stabilization_samples":1,"carry_out_samples":1,"temp_range":{"lower_threshold":1,"upper_threshold":2}}"#;
        assert!(parse(&format!("[{ok}]")).is_ok());
        let typo = ok.replace("num_sensors", "num_sensor");
        assert!(parse(&format!("[{typo}]")).unwrap_err().to_string().contains("num_sensor"));
        let zero = ok.replace("\"sample_rate\":100", "\"sample_rate\":0");
        assert_eq!(
            parse(&format!("[{ok},{zero}]")).unwrap_err().to_string(),
            "experiment 2 (counting from 1): sample_rate is a period in milliseconds and must be at least 1"
        );
        let upside_down = ok.replace("\"upper_threshold\":2", "\"upper_threshold\":0");
        assert!(
            parse(&format!("[{upside_down}]")).unwrap_err().to_string().contains("lower_threshold < upper_threshold")
        );
        assert!(matches!(parse("[]"), Err(ConfigError::Empty)));
        assert!(matches!(parse("{}"), Err(ConfigError::Json(_))));
    }
}
