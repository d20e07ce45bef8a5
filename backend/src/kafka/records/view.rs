//! A record decoded for reading, and the JSON shapes the commands print it in.

use crate::kafka::registry::Schemas;
use rdkafka::message::{Headers, Message};
use serde::Serialize;
use serde_json::{Value, json};
use std::borrow::Cow;
use streamlab_wire::{Decoded, Header, RecordView};

/// Largest value the lab decodes for display; longer values are shown cut, as hex or text.
const SHOWN_BYTES: usize = 64 * 1024;

/// A value decoded for reading: Avro container, JSON, UTF-8 text, else hex; cut at 64 KiB
/// for a browser.
pub fn decode(bytes: &[u8]) -> Decoded {
    decode_within(bytes, SHOWN_BYTES, None)
}

fn decode_within(bytes: &[u8], limit: usize, schemas: Option<&dyn Schemas>) -> Decoded {
    // The registry's wire format first: its records start with a zero byte, which no JSON or
    // text does.
    if let Some(decoded) = schemas.and_then(|s| s.decode(bytes)) {
        return decoded;
    }
    if crate::kafka::avro::is_container(bytes)
        && let Ok(d) = crate::kafka::avro::decode(bytes)
    {
        let record = if d.records.len() == 1 {
            d.records.into_iter().next().unwrap()
        } else {
            serde_json::Value::Array(d.records)
        };
        return Decoded::Avro { schema: d.schema_name, record };
    }
    let shown = &bytes[..bytes.len().min(limit)];
    if shown.len() == bytes.len()
        && let Ok(json) = serde_json::from_slice(bytes)
    {
        return Decoded::Json { json };
    }
    match std::str::from_utf8(shown) {
        Ok(text) => Decoded::Text { text: text.to_owned() },
        Err(_) => Decoded::Hex { hex: shown.iter().map(|b| format!("{b:02x}")).collect() },
    }
}

/// A record as the lab shows it, its value cut at 64 KiB; a value in the registry's wire
/// format decoded with `schemas` (the lab's registry).
pub fn view<M: Message>(m: &M, schemas: Option<&dyn Schemas>) -> RecordView {
    view_within(m, SHOWN_BYTES, schemas)
}

/// A record with its whole value decoded, for the command line, which prints it all.
pub fn view_whole<M: Message>(m: &M, schemas: Option<&dyn Schemas>) -> RecordView {
    view_within(m, usize::MAX, schemas)
}

fn view_within<M: Message>(m: &M, limit: usize, schemas: Option<&dyn Schemas>) -> RecordView {
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| Header {
                    key: h.key.to_owned(),
                    value: h.value.map(|v| String::from_utf8_lossy(v).into_owned()),
                })
                .collect()
        })
        .unwrap_or_default();
    RecordView {
        topic: m.topic().to_owned(),
        partition: m.partition(),
        offset: m.offset(),
        timestamp_ms: m.timestamp().to_millis(),
        key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
        headers,
        value: m.payload().map(|v| decode_within(v, limit, schemas)),
        size: m.payload().map_or(0, <[u8]>::len),
    }
}

/// Bytes as JSON: the parsed value when it is JSON, a string when it is text, otherwise
/// `{"hex": ".."}`.
pub fn bytes_to_json(bytes: &[u8]) -> Value {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return v;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_owned()),
        Err(_) => json!({ "hex": bytes.iter().map(|b| format!("{b:02x}")).collect::<String>() }),
    }
}

/// `m` as `tail` prints it, one JSON object: headers read as JSON where they are, the value
/// as `view` decoded it (an Avro container's record, its schema's name in `avro_schema`).
pub fn decoded_json<M: Message>(m: &M, view: &RecordView) -> Value {
    let headers: Vec<Value> = m
        .headers()
        .map(|hs| hs.iter().map(|h| json!({ "key": h.key, "value": h.value.map(bytes_to_json) })).collect())
        .unwrap_or_default();
    let mut record = json!({
        "topic": view.topic,
        "partition": view.partition,
        "offset": view.offset,
        "timestamp": view.timestamp_ms,
        "key": view.key,
        "headers": headers,
        "value": match &view.value {
            None => Value::Null,
            Some(Decoded::Avro { record, .. }) | Some(Decoded::Json { json: record }) => record.clone(),
            Some(Decoded::Text { text }) => Value::String(text.clone()),
            Some(Decoded::Hex { hex }) => json!({ "hex": hex }),
        },
    });
    if let Some(Decoded::Avro { schema, .. }) = &view.value {
        record["avro_schema"] = schema.clone().map_or(Value::Null, Value::String);
    }
    record
}

/// A record in `rpk topic consume`'s shape: key, value and headers as text.
#[derive(Debug, Serialize)]
pub struct RpkRecord<'a> {
    topic: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<Cow<'a, str>>,
    value: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    headers: Vec<RpkHeader<'a>>,
    timestamp: i64,
    partition: i32,
    offset: i64,
}

#[derive(Debug, Serialize)]
struct RpkHeader<'a> {
    key: &'a str,
    value: Option<Cow<'a, str>>,
}

pub fn rpk_json<M: Message>(m: &M) -> RpkRecord<'_> {
    let headers = m
        .headers()
        .map(|hs| hs.iter().map(|h| RpkHeader { key: h.key, value: h.value.map(String::from_utf8_lossy) }).collect())
        .unwrap_or_default();
    RpkRecord {
        topic: m.topic(),
        key: m.key().map(String::from_utf8_lossy),
        value: m.payload().map(String::from_utf8_lossy),
        headers,
        timestamp: m.timestamp().to_millis().unwrap_or(-1),
        partition: m.partition(),
        offset: m.offset(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_decode_by_what_they_are() {
        assert_eq!(decode(br#"{"a":1}"#), Decoded::Json { json: serde_json::json!({"a": 1}) });
        assert_eq!(decode(b"hello"), Decoded::Text { text: "hello".into() });
        assert_eq!(decode(&[0xff, 0x00]), Decoded::Hex { hex: "ff00".into() });
    }

    #[test]
    fn values_are_shown_as_json_text_or_hex() {
        assert_eq!(bytes_to_json(br#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(bytes_to_json(b"plain words"), json!("plain words"));
        assert_eq!(bytes_to_json(&[0, 0xff]), json!({"hex": "00ff"}));
    }

    #[test]
    fn the_command_line_decodes_a_value_whole_and_the_browser_cuts_it() {
        let long = "x".repeat(SHOWN_BYTES + 10);
        assert_eq!(decode_within(long.as_bytes(), usize::MAX, None), Decoded::Text { text: long.clone() });
        assert_eq!(decode(long.as_bytes()), Decoded::Text { text: long[..SHOWN_BYTES].to_owned() });
    }
}
