//! Avro object container files holding one record each, as the course's experiment producer
//! writes its values: magic `Obj\x01`, the writer's schema in the header, then the record.
//! This is not the schema-registry wire format (magic byte 0 + schema id): a reader needs no
//! registry, which is why the course chose it and why the lab can show any such value.

pub use apache_avro::types::Value as AvroValue;
use apache_avro::{Reader, Schema, Writer};
use serde::Serialize;
use serde_json::{Map, Number, Value};

/// The first four bytes of every object container file.
pub const MAGIC: &[u8; 4] = b"Obj\x01";

#[derive(Debug, thiserror::Error)]
pub enum AvroError {
    #[error("not an Avro object container file (it does not start with Obj\\x01)")]
    NotAContainer,
    #[error("invalid Avro: {0}")]
    Invalid(#[from] apache_avro::Error),
    #[error("the Avro file holds no record")]
    Empty,
}

/// Is `bytes` (probably) an Avro object container file?
pub fn is_container(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// One record in an object container file with `schema` embedded.
pub fn encode<T: Serialize>(schema: &Schema, record: &T) -> Result<Vec<u8>, AvroError> {
    let mut writer = Writer::new(schema, Vec::new());
    writer.append_ser(record)?;
    Ok(writer.into_inner()?)
}

/// A decoded container: the writer's schema and its records as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The schema's name (`ExperimentConfig`, `sensor_temperature_measured`, ..).
    pub schema_name: Option<String>,
    /// The writer's schema in Avro's canonical form.
    pub schema: Value,
    pub records: Vec<Value>,
}

impl Decoded {
    /// The first (for the course's files, the only) record.
    pub fn record(&self) -> &Value {
        &self.records[0]
    }
}

/// Decodes every record of an object container file with the schema it carries.
pub fn decode(bytes: &[u8]) -> Result<Decoded, AvroError> {
    let (schema, values) = read(bytes)?;
    let schema_name = schema.name().map(|n| n.name.clone());
    let canonical = serde_json::from_str(&schema.canonical_form()).unwrap_or(Value::Null);
    Ok(Decoded { schema_name, schema: canonical, records: values.into_iter().map(to_json).collect() })
}

/// The records of an object container file as Avro values, which still know that a
/// number was a 32-bit `float`: the checker compares those at f32 precision.
pub fn decode_values(bytes: &[u8]) -> Result<Vec<AvroValue>, AvroError> {
    read(bytes).map(|(_, values)| values)
}

fn read(bytes: &[u8]) -> Result<(Schema, Vec<AvroValue>), AvroError> {
    if !is_container(bytes) {
        return Err(AvroError::NotAContainer);
    }
    let reader = Reader::new(bytes)?;
    let schema = reader.writer_schema().clone();
    let values = reader.collect::<Result<Vec<_>, _>>()?;
    if values.is_empty() {
        return Err(AvroError::Empty);
    }
    Ok((schema, values))
}

/// Avro → JSON. Written here rather than with apache-avro's own conversion because that one
/// widens a `float` to the nearest `f64` (25.3 becomes 25.299999237060547); a reader of the
/// lab wants the number the producer wrote.
pub fn to_json(value: AvroValue) -> Value {
    match value {
        AvroValue::Null => Value::Null,
        AvroValue::Boolean(b) => Value::Bool(b),
        AvroValue::Int(i) => i.into(),
        AvroValue::Long(l) => l.into(),
        AvroValue::Float(f) => {
            f.to_string().parse::<f64>().ok().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
        }
        AvroValue::Double(d) => Number::from_f64(d).map_or(Value::Null, Value::Number),
        AvroValue::String(s) | AvroValue::Enum(_, s) => Value::String(s),
        AvroValue::Bytes(b) | AvroValue::Fixed(_, b) => Value::Array(b.into_iter().map(Value::from).collect()),
        AvroValue::Union(_, inner) => to_json(*inner),
        AvroValue::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        AvroValue::Map(items) => Value::Object(items.into_iter().map(|(k, v)| (k, to_json(v))).collect()),
        AvroValue::Record(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (k, to_json(v))).collect::<Map<_, _>>())
        }
        // Logical types the course never writes; show them as text rather than fail.
        other => Value::String(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_with_its_schema_name() {
        let schema = Schema::parse_str(
            r#"{"type":"record","name":"reading","fields":[{"name":"sensor","type":"string"},{"name":"t","type":"float"}]}"#,
        )
        .unwrap();
        #[derive(Serialize)]
        struct Reading {
            sensor: &'static str,
            t: f32,
        }
        let bytes = encode(&schema, &Reading { sensor: "s1", t: 25.3 }).unwrap();
        assert!(is_container(&bytes));
        let d = decode(&bytes).unwrap();
        assert_eq!(d.schema_name.as_deref(), Some("reading"));
        assert_eq!(d.record(), &serde_json::json!({"sensor": "s1", "t": 25.3}));
    }

    #[test]
    fn other_bytes_are_refused_with_a_reason() {
        assert!(matches!(decode(b"{\"json\": true}"), Err(AvroError::NotAContainer)));
        assert!(matches!(decode(b"Obj\x01garbage"), Err(AvroError::Invalid(_))));
    }
}
