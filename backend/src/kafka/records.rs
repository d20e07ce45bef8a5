//! Records as the lab shows them, reading a slice of a topic, and producing one record.

use crate::kafka::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Header as KafkaHeader, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};
use streamlab_wire::filter::Filter;
use streamlab_wire::{Decoded, Header, ProduceRecord, Produced, RecordView, StartPosition};

/// Largest value the lab decodes for display; longer values are shown cut, as hex or text.
const SHOWN_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error("topic {0} does not exist")]
    NoTopic(String),
    #[error("topic {topic} has no partition {partition}")]
    NoPartition { topic: String, partition: i32 },
    #[error("the record is {size} bytes; the lab accepts at most {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("topic {topic} has no record at partition {partition}, offset {offset}")]
    NoRecord { topic: String, partition: i32, offset: i64 },
    #[error("{0}")]
    Invalid(String),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

/// A value decoded for reading: Avro container, JSON, UTF-8 text, else hex.
pub fn decode(bytes: &[u8]) -> Decoded {
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
    let shown = &bytes[..bytes.len().min(SHOWN_BYTES)];
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

pub fn view<M: Message>(m: &M) -> RecordView {
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
        value: m.payload().map(decode),
        size: m.payload().map_or(0, <[u8]>::len),
    }
}

/// The partitions of `topic` (all, or the ones asked for) with their watermarks.
pub fn partitions(
    consumer: &BaseConsumer,
    topic: &str,
    only: Option<&[i32]>,
) -> Result<Vec<(i32, i64, i64)>, RecordsError> {
    let timeout = Duration::from_secs(5);
    let md = consumer.fetch_metadata(Some(topic), timeout)?;
    let t = md
        .topics()
        .first()
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .ok_or_else(|| RecordsError::NoTopic(topic.into()))?;
    let all: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    let chosen = match only {
        Some(ids) => {
            if let Some(&missing) = ids.iter().find(|id| !all.contains(id)) {
                return Err(RecordsError::NoPartition { topic: topic.into(), partition: missing });
            }
            ids.to_vec()
        }
        None => all,
    };
    chosen
        .into_iter()
        .map(|p| {
            let (low, high) = consumer.fetch_watermarks(topic, p, timeout)?;
            Ok((p, low, high))
        })
        .collect()
}

/// Assigns `consumer` to `topic` at `from`. Returns, per partition, the offset reading
/// starts at and the high watermark now (where a bounded read stops).
pub fn assign(
    consumer: &BaseConsumer,
    topic: &str,
    from: StartPosition,
    only: Option<&[i32]>,
) -> Result<Vec<(i32, i64, i64)>, RecordsError> {
    let parts = partitions(consumer, topic, only)?;
    let mut starts: Vec<(i32, i64, i64)> = parts
        .iter()
        .map(|&(p, low, high)| {
            let start = match from {
                StartPosition::Earliest => low,
                StartPosition::Latest | StartPosition::Timestamp { .. } => high,
                StartPosition::Offset { offset } => offset.clamp(low, high),
                StartPosition::Newest { count } => (high - count.max(0)).max(low),
            };
            (p, start, high)
        })
        .collect();
    if let StartPosition::Timestamp { ms } = from {
        // The broker turns the timestamp into each partition's first offset at or after it;
        // a partition with no such record starts at its end.
        let mut query = TopicPartitionList::new();
        for &(p, _, _) in &parts {
            query.add_partition_offset(topic, p, Offset::Offset(ms))?;
        }
        for e in consumer.offsets_for_times(query, Duration::from_secs(5))?.elements() {
            if let (Offset::Offset(o), Some(s)) = (e.offset(), starts.iter_mut().find(|s| s.0 == e.partition()))
                && o >= 0
            {
                s.1 = o;
            }
        }
    }
    let mut tpl = TopicPartitionList::new();
    for &(p, start, _) in &starts {
        tpl.add_partition_offset(topic, p, Offset::Offset(start))?;
    }
    consumer.assign(&tpl)?;
    starts.sort_unstable();
    Ok(starts)
}

/// A consumer for one read: a group of its own that commits nothing, and a short fetch wait
/// (the embedded broker holds a fetch for the whole wait even when records are there).
fn one_off_reader(kafka: &KafkaConfig) -> Result<BaseConsumer, RecordsError> {
    Ok(kafka
        .client()
        .set("group.id", format!("streamlab-read-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()?)
}

/// What [`read`] found.
#[derive(Debug, Default)]
pub struct Matching {
    /// Oldest first.
    pub records: Vec<RecordView>,
    /// Records read to find them.
    pub scanned: u64,
}

/// Reads `topic` from `from` up to the end of what is stored now (a read, not a tail),
/// keeping the first `limit` records `filter` matches (every record without one). The filter
/// is tested here, on the server, so a search through a large topic sends only what it
/// found. Blocking.
pub fn read(
    kafka: &KafkaConfig,
    topic: &str,
    from: StartPosition,
    only: Option<&[i32]>,
    limit: usize,
    filter: Option<&Filter>,
) -> Result<Matching, RecordsError> {
    let consumer = one_off_reader(kafka)?;
    let parts = assign(&consumer, topic, from, only)?;
    let mut out = Matching::default();
    if limit == 0 {
        return Ok(out);
    }
    read_to_end(&consumer, &parts, Instant::now() + Duration::from_secs(10), |m| {
        out.scanned += 1;
        let v = view(m);
        if filter.is_none_or(|f| f.matches(&v)) {
            out.records.push(v);
        }
        out.records.len() < limit
    })?;
    out.records.sort_by_key(|r| (r.timestamp_ms, r.partition, r.offset));
    Ok(out)
}

/// Polls `consumer`, assigned at `parts` (partition, start, end), handing `take` each record
/// before its partition's end, until every partition reached the end it had when the read
/// began. Returns true then, false when `take` said stop or `deadline` came first.
pub fn read_to_end(
    consumer: &BaseConsumer,
    parts: &[(i32, i64, i64)],
    deadline: Instant,
    mut take: impl FnMut(&BorrowedMessage<'_>) -> bool,
) -> Result<bool, rdkafka::error::KafkaError> {
    let end_of = |p: i32| parts.iter().find(|s| s.0 == p).map_or(0, |s| s.2);
    let mut open: std::collections::HashSet<i32> =
        parts.iter().filter(|(_, start, end)| start < end).map(|s| s.0).collect();
    while !open.is_empty() {
        if Instant::now() >= deadline {
            return Ok(false);
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let end = end_of(m.partition());
                if m.offset() >= end - 1 {
                    open.remove(&m.partition());
                }
                if m.offset() < end && !take(&m) {
                    return Ok(false);
                }
            }
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    Ok(true)
}

/// Produces one record and waits for its acknowledgement.
pub async fn produce(
    producer: &FutureProducer,
    topic: &str,
    record: &ProduceRecord,
    max_bytes: usize,
) -> Result<Produced, RecordsError> {
    let size = record.value.len()
        + record.key.as_ref().map_or(0, String::len)
        + record.headers.iter().map(|h| h.key.len() + h.value.as_ref().map_or(0, String::len)).sum::<usize>();
    if size > max_bytes {
        return Err(RecordsError::TooLarge { size, limit: max_bytes });
    }
    if let Some(p) = record.partition
        && p < 0
    {
        return Err(RecordsError::Invalid(format!("partition must be ≥ 0, got {p}")));
    }
    let mut headers = OwnedHeaders::new();
    for h in &record.headers {
        headers = headers.insert(KafkaHeader { key: &h.key, value: h.value.as_deref() });
    }
    let mut r = FutureRecord::to(topic).payload(&record.value).headers(headers);
    if let Some(k) = &record.key {
        r = r.key(k);
    }
    if let Some(p) = record.partition {
        r = r.partition(p);
    }
    match producer.send(r, Duration::from_secs(10)).await {
        Ok(delivery) => Ok(Produced { partition: delivery.partition, offset: delivery.offset }),
        Err((rdkafka::error::KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::UnknownPartition), _)) => {
            Err(RecordsError::NoPartition { topic: topic.into(), partition: record.partition.unwrap_or(-1) })
        }
        Err((e, _)) => Err(e.into()),
    }
}

/// The record at `partition` and `offset` of `topic`, its bytes as they are stored: for
/// sending it again. Blocking.
pub fn fetch(kafka: &KafkaConfig, topic: &str, partition: i32, offset: i64) -> Result<OwnedMessage, RecordsError> {
    let consumer = one_off_reader(kafka)?;
    let missing = || RecordsError::NoRecord { topic: topic.into(), partition, offset };
    let parts = partitions(&consumer, topic, Some(&[partition]))?;
    let &(_, low, high) = parts.first().ok_or_else(missing)?;
    if !(low..high).contains(&offset) {
        return Err(missing());
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    consumer.assign(&tpl)?;
    let mut found = None;
    read_to_end(&consumer, &[(partition, offset, high)], Instant::now() + Duration::from_secs(10), |m| {
        // A compacted topic may have no record at this offset; the next one is not it.
        if m.offset() == offset {
            found = Some(m.detach());
        }
        false
    })?;
    found.ok_or_else(missing)
}

/// Produces bytes as they are (no size or text checks: they come from the broker already)
/// and waits for the acknowledgement.
pub async fn produce_bytes(
    producer: &FutureProducer,
    topic: &str,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: OwnedHeaders,
) -> Result<Produced, RecordsError> {
    let mut r: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
    if let Some(k) = key {
        r = r.key(k);
    }
    if let Some(v) = value {
        r = r.payload(v);
    }
    match producer.send(r, Duration::from_secs(10)).await {
        Ok(delivery) => Ok(Produced { partition: delivery.partition, offset: delivery.offset }),
        Err((e, _)) => Err(e.into()),
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
}
