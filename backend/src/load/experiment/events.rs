//! The experiment producer's events, their Avro schemas (the course's, verbatim) and their
//! encoding: one record per object container file, the event name in the `record_name` header.

use crate::kafka::avro::{self, AvroError};
use apache_avro::Schema;
use serde::Serialize;
use std::sync::OnceLock;

/// The header every record carries, naming its event (and so its schema).
pub const RECORD_NAME_HEADER: &str = "record_name";

pub const EXPERIMENT_CONFIGURED: &str = "experiment_configured";
pub const STABILIZATION_STARTED: &str = "stabilization_started";
pub const EXPERIMENT_STARTED: &str = "experiment_started";
pub const SENSOR_TEMPERATURE_MEASURED: &str = "sensor_temperature_measured";
pub const EXPERIMENT_TERMINATED: &str = "experiment_terminated";
pub const EXPERIMENT_DOCUMENT: &str = "experiment_document";

const RANGE: &str = r#"{"type":"record","name":"temperature_range","fields":[{"name":"upper_threshold","type":"float"},{"name":"lower_threshold","type":"float"}]}"#;

/// The schema of each event, by record name, as the course's producer embeds them.
pub fn schema_json(record_name: &str) -> Option<String> {
    let marker = |name: &str| {
        format!(
            r#"{{"type":"record","name":"{name}","fields":[{{"type":"string","name":"experiment"}},{{"name":"timestamp","type":"double"}}]}}"#
        )
    };
    Some(match record_name {
        EXPERIMENT_CONFIGURED => format!(
            r#"{{"type":"record","name":"ExperimentConfig","fields":[{{"type":"string","name":"experiment"}},{{"type":"string","name":"researcher"}},{{"name":"sensors","type":{{"type":"array","items":"string"}}}},{{"name":"temperature_range","type":{RANGE}}}]}}"#
        ),
        STABILIZATION_STARTED | EXPERIMENT_STARTED | EXPERIMENT_TERMINATED => marker(record_name),
        SENSOR_TEMPERATURE_MEASURED => r#"{"type":"record","name":"sensor_temperature_measured","fields":[{"name":"experiment","type":"string"},{"name":"sensor","type":"string"},{"name":"measurement_id","type":"string"},{"name":"timestamp","type":"double"},{"name":"temperature","type":"float"},{"name":"measurement_hash","type":"string"}]}"#.into(),
        EXPERIMENT_DOCUMENT => format!(
            r#"{{"type":"record","name":"experiment_document","fields":[{{"type":"string","name":"experiment"}},{{"name":"measurements","type":{{"type":"array","items":{{"name":"measurement","type":"record","fields":[{{"name":"timestamp","type":"double"}},{{"name":"temperature","type":"float"}}]}}}}}},{{"name":"temperature_range","type":{RANGE}}}]}}"#
        ),
        _ => return None,
    })
}

/// Every event's record name.
pub const ALL: [&str; 6] = [
    EXPERIMENT_CONFIGURED,
    STABILIZATION_STARTED,
    EXPERIMENT_STARTED,
    SENSOR_TEMPERATURE_MEASURED,
    EXPERIMENT_TERMINATED,
    EXPERIMENT_DOCUMENT,
];

/// Parsed once: every event of every experiment uses them.
fn schema(record_name: &str) -> &'static Schema {
    static SCHEMAS: OnceLock<Vec<(&'static str, Schema)>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        ALL.into_iter()
            .map(|n| {
                (n, Schema::parse_str(&schema_json(n).expect("a known event")).expect("the course's schemas parse"))
            })
            .collect()
    });
    &all.iter().find(|(n, _)| *n == record_name).expect("a known event").1
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TemperatureRange {
    pub upper_threshold: f32,
    pub lower_threshold: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    pub timestamp: f64,
    pub temperature: f32,
}

/// One event. Field names are the schemas'.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Event {
    Configured {
        experiment: String,
        researcher: String,
        sensors: Vec<String>,
        temperature_range: TemperatureRange,
    },
    Marker {
        #[serde(skip)]
        name: &'static str,
        experiment: String,
        timestamp: f64,
    },
    Measured {
        experiment: String,
        sensor: String,
        measurement_id: String,
        timestamp: f64,
        temperature: f32,
        measurement_hash: String,
    },
    Document {
        experiment: String,
        measurements: Vec<Measurement>,
        temperature_range: TemperatureRange,
    },
}

impl Event {
    /// The `record_name` header's value.
    pub fn record_name(&self) -> &'static str {
        match self {
            Event::Configured { .. } => EXPERIMENT_CONFIGURED,
            Event::Marker { name, .. } => name,
            Event::Measured { .. } => SENSOR_TEMPERATURE_MEASURED,
            Event::Document { .. } => EXPERIMENT_DOCUMENT,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>, AvroError> {
        avro::encode(schema(self.record_name()), self)
    }

    /// The event in a Schema Registry's wire format: a zero byte, the id the registry gave
    /// its schema, then Avro's binary encoding without the schema.
    pub fn encode_framed(&self, id: u32) -> Result<Vec<u8>, AvroError> {
        let schema = schema(self.record_name());
        let value = apache_avro::to_value(self)?.resolve(schema)?;
        let mut framed = vec![0];
        framed.extend(id.to_be_bytes());
        framed.extend(apache_avro::to_avro_datum(schema, value)?);
        Ok(framed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_framed_event_is_the_id_and_the_bare_datum() {
        let event = Event::Marker { name: EXPERIMENT_STARTED, experiment: "e1".into(), timestamp: 1.5 };
        let framed = event.encode_framed(7).unwrap();
        assert_eq!(framed[..5], [0, 0, 0, 0, 7]);
        let read = apache_avro::from_avro_datum(schema(EXPERIMENT_STARTED), &mut &framed[5..], None).unwrap();
        assert_eq!(avro::to_json(read), json!({"experiment": "e1", "timestamp": 1.5}));
    }

    #[test]
    fn each_event_decodes_with_its_schema() {
        let range = TemperatureRange { upper_threshold: 26.5, lower_threshold: 25.5 };
        let events = [
            Event::Configured {
                experiment: "e".into(),
                researcher: "r@x".into(),
                sensors: vec!["s1".into(), "s2".into()],
                temperature_range: range,
            },
            Event::Marker { name: STABILIZATION_STARTED, experiment: "e".into(), timestamp: 1.5 },
            Event::Measured {
                experiment: "e".into(),
                sensor: "s1".into(),
                measurement_id: "m".into(),
                timestamp: 2.25,
                temperature: 25.9,
                measurement_hash: "h".into(),
            },
            Event::Document {
                experiment: "e".into(),
                measurements: vec![Measurement { timestamp: 2.25, temperature: 25.9 }],
                temperature_range: range,
            },
        ];
        let expected = [
            (
                "ExperimentConfig",
                json!({"experiment":"e","researcher":"r@x","sensors":["s1","s2"],"temperature_range":{"upper_threshold":26.5,"lower_threshold":25.5}}),
            ),
            ("stabilization_started", json!({"experiment":"e","timestamp":1.5})),
            (
                "sensor_temperature_measured",
                json!({"experiment":"e","sensor":"s1","measurement_id":"m","timestamp":2.25,"temperature":25.9,"measurement_hash":"h"}),
            ),
            (
                "experiment_document",
                json!({"experiment":"e","measurements":[{"timestamp":2.25,"temperature":25.9}],"temperature_range":{"upper_threshold":26.5,"lower_threshold":25.5}}),
            ),
        ];
        for (event, (schema_name, value)) in events.iter().zip(expected) {
            let decoded = avro::decode(&event.encode().unwrap()).unwrap();
            assert_eq!(decoded.schema_name.as_deref(), Some(schema_name));
            assert_eq!(decoded.record(), &value, "{}", event.record_name());
        }
    }
}
