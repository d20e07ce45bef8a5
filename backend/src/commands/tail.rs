//! `streamlab tail TOPIC`: the short form of `streamlab topic consume TOPIC --format json
//! --decode`: records as JSON lines with their values decoded, for anyone checking a topic by
//! hand or piping it into `jq`.

use crate::cli::{ConsumeArgs, TailArgs};
use crate::kafka::KafkaConfig;
use crate::shutdown::Shutdown;
use rdkafka::message::{Headers, Message};
use serde_json::{Value, json};
use std::process::ExitCode;

/// A record's bytes as JSON: the parsed value when it is JSON, a string when it is text,
/// otherwise `{"hex": ".."}`.
pub fn bytes_to_json(bytes: &[u8]) -> Value {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return v;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_owned()),
        Err(_) => json!({ "hex": bytes.iter().map(|b| format!("{b:02x}")).collect::<String>() }),
    }
}

/// A record as one JSON object. An Avro object container value (the experiment producer's)
/// is shown decoded, its schema's name in `avro_schema`.
pub fn record_to_json<M: Message>(m: &M) -> Value {
    let headers: Vec<Value> = m
        .headers()
        .map(|hs| hs.iter().map(|h| json!({ "key": h.key, "value": h.value.map(bytes_to_json) })).collect())
        .unwrap_or_default();
    let avro =
        m.payload().filter(|b| crate::kafka::avro::is_container(b)).and_then(|b| crate::kafka::avro::decode(b).ok());
    let mut record = json!({
        "topic": m.topic(),
        "partition": m.partition(),
        "offset": m.offset(),
        "timestamp": m.timestamp().to_millis(),
        "key": m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
        "headers": headers,
        "value": match &avro {
            Some(d) if d.records.len() == 1 => d.record().clone(),
            Some(d) => Value::Array(d.records.clone()),
            None => m.payload().map_or(Value::Null, bytes_to_json),
        },
    });
    if let Some(d) = avro {
        record["avro_schema"] = d.schema_name.map_or(Value::Null, Value::String);
    }
    record
}

/// `streamlab tail`: [`super::topic::consume`] with its arguments.
pub async fn run(args: TailArgs, kafka: KafkaConfig, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let stop = shutdown.flag();
    let args = ConsumeArgs::from(args);
    tokio::task::spawn_blocking(move || super::topic::consume(&args, &kafka, &stop, &mut std::io::stdout().lock()))
        .await??;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_shown_as_json_text_or_hex() {
        assert_eq!(bytes_to_json(br#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(bytes_to_json(b"plain words"), json!("plain words"));
        assert_eq!(bytes_to_json(&[0, 0xff]), json!({"hex": "00ff"}));
    }
}
