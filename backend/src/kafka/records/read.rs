//! Reading a slice of a topic: its partitions and watermarks, a consumer assigned where
//! reading starts, and reading up to the end of what is stored when the read began.

use super::RecordsError;
use super::view::view;
use crate::kafka::KafkaConfig;
use crate::kafka::log::LocalLogs;
use crate::kafka::metadata::watermarks;
use crate::kafka::registry::Schemas;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};
use streamlab_wire::filter::Filter;
use streamlab_wire::{PartitionInfo, RecordView, StartPosition};

/// Where reading a partition starts, and the end it stops at (the high watermark when the
/// read began: a read, not a tail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub partition: i32,
    pub start: i64,
    pub end: i64,
}

/// The partitions of `topic` (all, or the ones asked for) with their watermarks.
pub fn partitions(
    consumer: &BaseConsumer,
    topic: &str,
    only: Option<&[i32]>,
) -> Result<Vec<PartitionInfo>, RecordsError> {
    let timeout = Duration::from_secs(5);
    let md = consumer.fetch_metadata(Some(topic), timeout)?;
    let t = md
        .topics()
        .first()
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .ok_or_else(|| RecordsError::NoTopic(topic.into()))?;
    let all: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    let chosen = choose(topic, &all, only)?;
    let asked: Vec<(&str, i32)> = chosen.iter().map(|id| (topic, *id)).collect();
    let marks = watermarks(consumer, &asked, timeout)?;
    Ok(chosen
        .into_iter()
        .map(|id| {
            let (low, high) = marks[&(topic.to_owned(), id)];
            PartitionInfo { id, low, high }
        })
        .collect())
}

/// The partitions asked for (`only`), or all of them; an error names one that is not there.
fn choose(topic: &str, all: &[i32], only: Option<&[i32]>) -> Result<Vec<i32>, RecordsError> {
    match only {
        Some(ids) => match ids.iter().find(|id| !all.contains(id)) {
            Some(&missing) => Err(RecordsError::NoPartition { topic: topic.into(), partition: missing }),
            None => Ok(ids.to_vec()),
        },
        None => Ok(all.to_vec()),
    }
}

/// The partitions of `topic` (all, or the ones asked for) with their watermarks, as the
/// embedded broker's logs hold them.
fn local_partitions(logs: &LocalLogs, topic: &str, only: Option<&[i32]>) -> Result<Vec<PartitionInfo>, RecordsError> {
    let marks = logs.watermarks(topic)?.filter(|m| !m.is_empty()).ok_or_else(|| RecordsError::NoTopic(topic.into()))?;
    let all: Vec<i32> = marks.iter().map(|m| m.partition).collect();
    let chosen = choose(topic, &all, only)?;
    Ok(marks
        .into_iter()
        .filter(|m| chosen.contains(&m.partition))
        .map(|m| PartitionInfo { id: m.partition, low: m.low, high: m.high })
        .collect())
}

/// Where reading a partition with watermarks `low` and `high` starts, for every `from` but a
/// timestamp (which the broker turns into offsets).
fn start_at(from: StartPosition, low: i64, high: i64) -> i64 {
    match from {
        StartPosition::Earliest => low,
        StartPosition::Latest | StartPosition::Timestamp { .. } => high,
        StartPosition::Offset { offset } => offset.clamp(low, high),
        StartPosition::Newest { count } => (high - count.max(0)).max(low),
    }
}

/// Assigns `consumer` to `topic` at `from`. Returns, per partition, the offset reading
/// starts at and the high watermark now (where a bounded read stops).
pub fn assign(
    consumer: &BaseConsumer,
    topic: &str,
    from: StartPosition,
    only: Option<&[i32]>,
) -> Result<Vec<Span>, RecordsError> {
    let parts = partitions(consumer, topic, only)?;
    let mut spans: Vec<Span> = parts
        .iter()
        .map(|&PartitionInfo { id, low, high }| Span { partition: id, start: start_at(from, low, high), end: high })
        .collect();
    if let StartPosition::Timestamp { ms } = from {
        // The broker turns the timestamp into each partition's first offset at or after it;
        // a partition with no such record starts at its end.
        let mut query = TopicPartitionList::new();
        for p in &parts {
            query.add_partition_offset(topic, p.id, Offset::Offset(ms))?;
        }
        for e in consumer.offsets_for_times(query, Duration::from_secs(5))?.elements() {
            if let (Offset::Offset(o), Some(s)) = (e.offset(), spans.iter_mut().find(|s| s.partition == e.partition()))
                && o >= 0
            {
                s.start = o;
            }
        }
    }
    let mut tpl = TopicPartitionList::new();
    for s in &spans {
        tpl.add_partition_offset(topic, s.partition, Offset::Offset(s.start))?;
    }
    consumer.assign(&tpl)?;
    spans.sort_unstable();
    Ok(spans)
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
/// found. Values in the registry's wire format are decoded with `schemas`. Blocking.
pub fn read(
    kafka: &KafkaConfig,
    topic: &str,
    from: StartPosition,
    only: Option<&[i32]>,
    limit: usize,
    filter: Option<&Filter>,
    schemas: Option<&dyn Schemas>,
) -> Result<Matching, RecordsError> {
    if let Some(logs) = kafka.local() {
        match read_local(logs, topic, from, only, limit, filter, schemas) {
            // What the logs could not give (a batch they cannot inflate), a consumer may.
            Err(RecordsError::Storage(e)) => tracing::warn!(topic, error = %e, "reading through a consumer instead"),
            done => return done,
        }
    }
    let consumer = kafka.reader()?;
    let spans = assign(&consumer, topic, from, only)?;
    let mut out = Matching::default();
    if limit == 0 {
        return Ok(out);
    }
    read_to_end(&consumer, &spans, Instant::now() + Duration::from_secs(10), |m| {
        out.scanned += 1;
        let v = view(m, schemas);
        if filter.is_none_or(|f| f.matches(&v)) {
            out.records.push(v);
        }
        out.records.len() < limit
    })?;
    out.records.sort_by_key(|r| (r.timestamp_ms, r.partition, r.offset));
    Ok(out)
}

/// [`read`] from the embedded broker's logs. Each partition is read to its first `limit`
/// matches, and the oldest `limit` of them all are kept.
fn read_local(
    logs: &LocalLogs,
    topic: &str,
    from: StartPosition,
    only: Option<&[i32]>,
    limit: usize,
    filter: Option<&Filter>,
    schemas: Option<&dyn Schemas>,
) -> Result<Matching, RecordsError> {
    let mut out = Matching::default();
    let parts = local_partitions(logs, topic, only)?;
    if limit == 0 {
        return Ok(out);
    }
    // A search that matches little in a large topic stops where a consumer's read would.
    let deadline = Instant::now() + Duration::from_secs(10);
    for PartitionInfo { id, low, high } in parts {
        if Instant::now() >= deadline {
            break;
        }
        let start = match from {
            StartPosition::Timestamp { ms } => logs.offset_for_time(topic, id, ms)?.unwrap_or(high),
            _ => start_at(from, low, high),
        };
        let mut here = 0;
        logs.read(topic, id, start, high, |m| {
            out.scanned += 1;
            let v = view(&m, schemas);
            if filter.is_none_or(|f| f.matches(&v)) {
                out.records.push(v);
                here += 1;
            }
            here < limit && (out.scanned % 1024 != 0 || Instant::now() < deadline)
        })?;
    }
    out.records.sort_by_key(|r| (r.timestamp_ms, r.partition, r.offset));
    out.records.truncate(limit);
    Ok(out)
}

/// Polls `consumer`, assigned at `spans`, handing `take` each record before its partition's
/// end, until every partition reached the end it had when the read began. Returns true then,
/// false when `take` said stop or `deadline` came first.
pub fn read_to_end(
    consumer: &BaseConsumer,
    spans: &[Span],
    deadline: Instant,
    mut take: impl FnMut(&BorrowedMessage<'_>) -> bool,
) -> Result<bool, rdkafka::error::KafkaError> {
    let end_of = |p: i32| spans.iter().find(|s| s.partition == p).map_or(0, |s| s.end);
    let mut open: std::collections::HashSet<i32> =
        spans.iter().filter(|s| s.start < s.end).map(|s| s.partition).collect();
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
            // A connection to a broker that went away and came back is reported once, and
            // librdkafka reconnects by itself: the read goes on until its deadline.
            Some(Err(e)) if transient(&e) => tracing::debug!("reading on after {e}"),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    Ok(true)
}

/// Errors librdkafka reports and recovers from without us: a dropped connection, every
/// broker down for a moment, a request that timed out.
fn transient(e: &rdkafka::error::KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode::*;
    matches!(e.rdkafka_error_code(), Some(BrokerTransportFailure | AllBrokersDown | NetworkException | RequestTimedOut))
}

/// The record at `partition` and `offset` of `topic`, its bytes as they are stored: for
/// sending it again. Blocking.
pub fn fetch(kafka: &KafkaConfig, topic: &str, partition: i32, offset: i64) -> Result<OwnedMessage, RecordsError> {
    if let Some(logs) = kafka.local() {
        match fetch_local(logs, topic, partition, offset) {
            Err(RecordsError::Storage(e)) => tracing::warn!(topic, error = %e, "reading through a consumer instead"),
            done => return done,
        }
    }
    let missing = || RecordsError::NoRecord { topic: topic.into(), partition, offset };
    let consumer = kafka.reader()?;
    let parts = partitions(&consumer, topic, Some(&[partition]))?;
    let &PartitionInfo { low, high, .. } = parts.first().ok_or_else(missing)?;
    if !(low..high).contains(&offset) {
        return Err(missing());
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    consumer.assign(&tpl)?;
    let mut found = None;
    read_to_end(
        &consumer,
        &[Span { partition, start: offset, end: high }],
        Instant::now() + Duration::from_secs(10),
        |m| {
            // A compacted topic may have no record at this offset; the next one is not it.
            if m.offset() == offset {
                found = Some(m.detach());
            }
            false
        },
    )?;
    found.ok_or_else(missing)
}

/// [`fetch`] from the embedded broker's logs.
fn fetch_local(logs: &LocalLogs, topic: &str, partition: i32, offset: i64) -> Result<OwnedMessage, RecordsError> {
    let missing = || RecordsError::NoRecord { topic: topic.into(), partition, offset };
    let parts = local_partitions(logs, topic, Some(&[partition]))?;
    let &PartitionInfo { low, high, .. } = parts.first().ok_or_else(missing)?;
    let mut found = None;
    if (low..high).contains(&offset) {
        logs.read(topic, partition, offset, high, |m| {
            // A compacted topic may have no record at this offset; the next one is not it.
            found = (m.offset() == offset).then_some(m);
            false
        })?;
    }
    found.ok_or_else(missing)
}
