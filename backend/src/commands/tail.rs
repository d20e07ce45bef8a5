//! `streamlab tail TOPIC`: prints records as JSON lines, like `rpk topic consume`, for anyone
//! checking a topic by hand or piping it into `jq`.

use crate::cli::{TailArgs, TailFrom};
use crate::kafka::KafkaConfig;
use crate::shutdown::Shutdown;
use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

pub async fn run(args: TailArgs, kafka: KafkaConfig, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let stop = shutdown.flag();
    tokio::task::spawn_blocking(move || {
        let out = &mut std::io::stdout().lock();
        tail(&kafka, &args.topic, args.from, args.count, args.exit, &stop, out)
    })
    .await??;
    Ok(ExitCode::SUCCESS)
}

/// Prints records of `topic` until `count` were printed (if given), with `--exit` the end of
/// every partition is reached, or `stop` is set.
pub fn tail(
    kafka: &KafkaConfig,
    topic: &str,
    from: TailFrom,
    count: Option<usize>,
    exit_at_end: bool,
    stop: &AtomicBool,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let consumer: BaseConsumer = kafka
        .client()
        .set("group.id", format!("streamlab-tail-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .context("cannot create a Kafka consumer")?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let t = metadata.topics().first().filter(|t| t.error().is_none() && !t.partitions().is_empty());
    let t = t.with_context(|| format!("topic {topic} does not exist"))?;
    let mut tpl = TopicPartitionList::new();
    let mut ends = std::collections::HashMap::new();
    for p in t.partitions() {
        let (low, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
        let start = match from {
            TailFrom::Earliest => low,
            TailFrom::Latest => high,
        };
        tpl.add_partition_offset(topic, p.id(), Offset::Offset(start))?;
        if high > start {
            ends.insert(p.id(), high);
        }
    }
    consumer.assign(&tpl)?;
    let mut printed = 0;
    let mut idle_since = Instant::now();
    loop {
        let done = count.is_some_and(|c| printed >= c) || (exit_at_end && ends.is_empty());
        if done || stop.load(Ordering::Relaxed) {
            return Ok(printed);
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                writeln!(out, "{}", record_to_json(&m))?;
                printed += 1;
                if ends.get(&m.partition()).is_some_and(|end| m.offset() + 1 >= *end) {
                    ends.remove(&m.partition());
                }
                idle_since = Instant::now();
            }
            Some(Err(e)) => tracing::warn!(error = %e, "consumer error"),
            None if exit_at_end && idle_since.elapsed() > Duration::from_secs(10) => {
                anyhow::bail!("no records arrived for 10 s before the end of {topic}")
            }
            None => {}
        }
    }
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
