//! One module per page of the lab.

pub mod connectors;
pub mod exercises;
pub mod groups;
pub mod inference;
pub mod lag;
pub mod overview;
pub mod rates;
pub mod schemas;
pub mod topic;
pub mod topics;

use crate::state::Lab;

/// A topic's (or, with `groups`, a group's) rate over the kept history, as chart points:
/// (seconds before the newest sample, messages/s). Times are the server's, so a browser with
/// a wrong clock still draws the right curve.
pub fn rate_points(lab: &Lab, name: &str, groups: bool) -> Vec<(f64, Option<f64>)> {
    let Some(last) = lab.history.back() else { return Vec::new() };
    lab.history
        .iter()
        .map(|s| {
            let v = if groups { s.groups.get(name) } else { s.topics.get(name) };
            ((last.at_ms - s.at_ms) as f64 / 1000.0, v.copied().flatten())
        })
        .collect()
}

/// The value shown for a record: JSON pretty-printed, Avro as its record, text, or hex.
pub fn show_value(v: &Option<streamlab_wire::Decoded>) -> (String, Option<String>) {
    use streamlab_wire::Decoded;
    match v {
        None => ("(null)".into(), None),
        Some(Decoded::Json { json }) => (serde_json::to_string_pretty(json).unwrap_or_default(), Some("json".into())),
        Some(Decoded::Avro { schema, record }) => (
            serde_json::to_string_pretty(record).unwrap_or_default(),
            Some(format!("avro {}", schema.clone().unwrap_or_default())),
        ),
        Some(Decoded::Text { text }) => (text.clone(), None),
        Some(Decoded::Hex { hex }) => (hex.clone(), Some("hex".into())),
    }
}

/// A record's time as HH:MM:SS.mmm UTC (the lab has no time-zone database; UTC is
/// unambiguous when students compare notes).
pub fn time_of(ms: Option<i64>) -> String {
    match ms {
        Some(ms) => {
            let secs = ms.div_euclid(1000);
            let (h, m, s) = ((secs / 3600).rem_euclid(24), (secs / 60).rem_euclid(60), secs.rem_euclid(60));
            format!("{h:02}:{m:02}:{s:02}.{:03}", ms.rem_euclid(1000))
        }
        None => "–".into(),
    }
}
