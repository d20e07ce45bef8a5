//! What a check saw, the helpers every kind uses to say it, and reading JSON fields.

use crate::exercises::probe::{Own, ProbeError, Record};
use crate::kafka::records::{FROM_GENERATOR, FROM_INFERENCE, LAB_SOURCE};
use serde_json::Value;

/// What a check saw: whether the condition holds, and the evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub holds: bool,
    /// What the checker saw and, for a failed comparison, what it expected.
    pub detail: String,
    /// `detail` without the expected value, where it names one: what `actual-only` shows.
    pub seen_only: Option<String>,
}

/// "1 record", "3 records".
pub fn n_records(n: usize) -> String {
    format!("{n} record{}", if n == 1 { "" } else { "s" })
}

pub fn pass(detail: impl Into<String>) -> Result<Found, ProbeError> {
    Ok(Found { holds: true, detail: detail.into(), seen_only: None })
}

pub fn fail(detail: impl Into<String>) -> Result<Found, ProbeError> {
    Ok(Found { holds: false, detail: detail.into(), seen_only: None })
}

/// A failed comparison: `detail` names the expected value, `seen_only` does not.
pub fn differs(detail: impl Into<String>, seen_only: impl Into<String>) -> Result<Found, ProbeError> {
    Ok(Found { holds: false, detail: detail.into(), seen_only: Some(seen_only.into()) })
}

/// Said after a failure on a topic the lab's own services wrote to as well: their records
/// were left out, and what makes the student's own count. Empty when the lab wrote none.
pub fn lab_note(own: &Own, topic: &str) -> String {
    let n = n_records(own.lab);
    match own.lab_source.as_deref() {
        None => String::new(),
        Some(FROM_GENERATOR) => format!(
            "; {n} on {topic} come from the lab's own generator and do not count: run your generator \
             (the lab's may stay on, or stop it on the overview page)"
        ),
        Some(FROM_INFERENCE) => format!(
            "; {n} on {topic} come from the lab's own inference service and do not count: run your \
             service, in your own namespace or beside the lab's"
        ),
        Some(other) => {
            format!("; {n} on {topic} come from the lab's own {other} ({LAB_SOURCE} header) and do not count")
        }
    }
}

/// A record's value, cut to 60 characters, for a message.
pub fn preview(r: &Record) -> String {
    let text = r.value.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() { format!("\"{cut}…\"") } else { format!("\"{cut}\"") }
}

/// A dotted path into JSON; names compare without case, and a string that holds JSON is
/// looked into (ksqlDB's `payload STRING` columns).
pub fn field<'a>(json: &'a Value, path: &str) -> Option<std::borrow::Cow<'a, Value>> {
    use std::borrow::Cow;
    let mut current: Cow<'a, Value> = Cow::Borrowed(json);
    for name in path.split('.') {
        if let Value::String(s) = current.as_ref()
            && let Ok(inner) = serde_json::from_str::<Value>(s)
        {
            current = Cow::Owned(inner);
        }
        let next = match current.as_ref() {
            Value::Object(map) => map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()),
            _ => None,
        }?;
        current = Cow::Owned(next);
    }
    Some(current)
}

/// A JSON leaf as text (a string without its quotes).
pub fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Records for the kinds' unit tests.
#[cfg(test)]
pub(super) mod sample {
    use crate::exercises::probe::Record;

    /// A record of partition 0 whose timestamp is its offset.
    pub fn record(offset: i64, value: &str) -> Record {
        Record {
            partition: 0,
            offset,
            timestamp_ms: offset,
            key: None,
            value: Some(value.as_bytes().to_vec()),
            headers: vec![],
            decoded: None,
        }
    }

    pub fn at(partition: i32, offset: i64, timestamp_ms: i64, value: &str) -> Record {
        Record { partition, timestamp_ms, ..record(offset, value) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_found_without_case_and_inside_json_strings() {
        let v = json!({"PAYLOAD": "{\"sensor_id\": 3}", "correlation_id": "x"});
        assert_eq!(field(&v, "payload.sensor_id").unwrap().into_owned(), json!(3));
        assert_eq!(field(&v, "CORRELATION_ID").unwrap().into_owned(), json!("x"));
        assert!(field(&v, "payload.nope").is_none());
    }
}
