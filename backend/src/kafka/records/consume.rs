//! `streamlab topic consume` and `streamlab tail`: records printed as they are read, until a
//! count, the end of what was stored when reading began, or a shutdown. Alone, from a start
//! in each partition; or as a consumer group, which commits exactly what was printed.

use super::view::{decoded_json, rpk_json, view_whole};
use crate::kafka::KafkaConfig;
use crate::kafka::metadata::{ClusterReader, MetadataError};
use crate::kafka::registry::{Replayed, Schemas};
use crate::shutdown::Shutdown;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};
use streamlab_wire::filter::{Filter, FilterError};

/// Where reading starts in each partition read (rpk's `--offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Beginning,
    End,
    Offset(i64),
}

/// What to consume and how to print it.
#[derive(Debug, Clone)]
pub struct Consume {
    pub topic: String,
    pub start: Start,
    /// Stop after this many records printed.
    pub num: Option<usize>,
    /// Only these partitions (none: all).
    pub partitions: Vec<i32>,
    /// Read as this group and commit what was printed.
    pub group: Option<String>,
    /// Print only what this filter (the lab's language) matches.
    pub filter: Option<String>,
    /// Values decoded as the lab shows them, instead of rpk's text.
    pub decode: bool,
    /// One compact JSON object per line, instead of rpk's pretty JSON.
    pub compact: bool,
    /// Stop at the end of what the partitions held when reading began.
    pub exit: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("--exit cannot be combined with --group: where the group starts is the broker's to say")]
    ExitWithGroup,
    #[error("--partitions cannot be combined with --group")]
    PartitionsWithGroup,
    #[error("an exact --offset cannot be combined with --group: the group's own offsets apply")]
    OffsetWithGroup,
    #[error("topic {0} does not exist")]
    NoTopic(String),
    #[error("topic {topic} has none of the partitions {partitions:?}")]
    NoPartitions { topic: String, partitions: Vec<i32> },
    #[error("no records arrived for 10 s before the end of {0}")]
    Stalled(String),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error("{what}: {source}")]
    Kafka { what: &'static str, source: KafkaError },
    #[error("cannot print a record: {0}")]
    Write(#[from] std::io::Error),
}

fn kafka(what: &'static str) -> impl FnOnce(KafkaError) -> ConsumeError {
    move |source| ConsumeError::Kafka { what, source }
}

/// Prints records to `out` until `--num` were printed, with `exit` the end is reached, or
/// `shutdown` is triggered. Returns how many were printed.
pub fn consume(
    c: &Consume,
    kafka_config: &KafkaConfig,
    shutdown: &Shutdown,
    out: &mut impl Write,
) -> Result<usize, ConsumeError> {
    let filter = c.filter.as_deref().map(Filter::parse).transpose()?;
    if c.exit && c.group.is_some() {
        return Err(ConsumeError::ExitWithGroup);
    }
    // Per partition read, the end it had when reading began: `exit` stops once each is reached.
    let mut ends: BTreeMap<i32, i64> = BTreeMap::new();
    let consumer = match &c.group {
        Some(group) => as_group(c, kafka_config, group)?,
        None => alone(c, kafka_config, &mut ends)?,
    };
    let mut printed = 0;
    // Per partition, one past the last record printed: what a group commits.
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    let mut last_commit = Instant::now();
    let commit = |next: &BTreeMap<i32, i64>| -> Result<(), ConsumeError> {
        if c.group.is_none() || next.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &o) in next {
            tpl.add_partition_offset(&c.topic, p, Offset::Offset(o)).map_err(kafka("cannot commit"))?;
        }
        consumer.commit(&tpl, CommitMode::Sync).map_err(kafka("cannot commit the group's offsets"))
    };
    let mut schemas = Replayed::new(kafka_config);
    let mut idle_since = Instant::now();
    while !shutdown.is_triggered() && c.num.is_none_or(|n| printed < n) && !(c.exit && ends.is_empty()) {
        if last_commit.elapsed() >= Duration::from_secs(1) {
            commit(&next)?;
            last_commit = Instant::now();
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                idle_since = Instant::now();
                next.insert(m.partition(), m.offset() + 1);
                if ends.get(&m.partition()).is_some_and(|end| m.offset() + 1 >= *end) {
                    ends.remove(&m.partition());
                }
                // Only a decoded view reads the registry's schemas.
                let decoding = filter.is_some() || c.decode;
                let schemas = if decoding { schemas.for_value(m.payload()) } else { None };
                if print(c, filter.as_ref(), &m, out, schemas.map(|s| s as &dyn Schemas))? {
                    printed += 1;
                }
            }
            Some(Err(e)) => tracing::warn!(error = %e, "consumer error"),
            None if c.exit && idle_since.elapsed() > Duration::from_secs(10) => {
                return Err(ConsumeError::Stalled(c.topic.clone()));
            }
            None => {}
        }
    }
    commit(&next)?;
    Ok(printed)
}

/// Prints `m` unless the filter passes over it; true when printed. The value is decoded at
/// most once, for the filter and the decoded shape alike; a value in the Schema Registry's
/// wire format with `schemas`, read from the broker's `_schemas`.
fn print(
    c: &Consume,
    filter: Option<&Filter>,
    m: &BorrowedMessage<'_>,
    out: &mut impl Write,
    schemas: Option<&dyn Schemas>,
) -> Result<bool, ConsumeError> {
    let view = (filter.is_some() || c.decode).then(|| view_whole(m, schemas));
    if let (Some(f), Some(v)) = (filter, &view)
        && !f.matches(v)
    {
        return Ok(false);
    }
    let text = match (&view, c.decode, c.compact) {
        (Some(v), true, true) => decoded_json(m, v).to_string(),
        (Some(v), true, false) => serde_json::to_string_pretty(&decoded_json(m, v)).expect("JSON serialises"),
        (_, _, true) => serde_json::to_string(&rpk_json(m)).expect("records serialise"),
        (_, _, false) => serde_json::to_string_pretty(&rpk_json(m)).expect("records serialise"),
    };
    writeln!(out, "{text}")?;
    Ok(true)
}

/// A consumer in `group`, which starts where the group committed (`start` only where it
/// committed nothing) and commits exactly what was printed, not what librdkafka fetched ahead.
fn as_group(c: &Consume, kafka_config: &KafkaConfig, group: &str) -> Result<BaseConsumer, ConsumeError> {
    if !c.partitions.is_empty() {
        return Err(ConsumeError::PartitionsWithGroup);
    }
    let reset = match c.start {
        Start::Beginning => "earliest",
        Start::End => "latest",
        Start::Offset(_) => return Err(ConsumeError::OffsetWithGroup),
    };
    let consumer: BaseConsumer = reader(kafka_config)
        .set("group.id", group)
        .set("auto.offset.reset", reset)
        .create()
        .map_err(kafka("cannot create a consumer"))?;
    consumer.subscribe(&[&c.topic]).map_err(kafka("cannot subscribe"))?;
    Ok(consumer)
}

/// A consumer of its own, assigned at `start` in each partition read; `ends` gets each
/// partition's end, where `exit` stops.
fn alone(c: &Consume, kafka_config: &KafkaConfig, ends: &mut BTreeMap<i32, i64>) -> Result<BaseConsumer, ConsumeError> {
    let consumer: BaseConsumer = reader(kafka_config)
        .set("group.id", format!("streamlab-tail-{}", uuid::Uuid::new_v4()))
        .create()
        .map_err(kafka("cannot create a consumer"))?;
    let details = ClusterReader::new(kafka_config)?.details(Some(&c.topic))?;
    let topic = details.first().ok_or_else(|| ConsumeError::NoTopic(c.topic.clone()))?;
    let mut tpl = TopicPartitionList::new();
    for p in &topic.partitions {
        if !c.partitions.is_empty() && !c.partitions.contains(&p.partition) {
            continue;
        }
        let start = match c.start {
            Start::Beginning => p.log_start_offset,
            Start::End => p.high_watermark,
            Start::Offset(n) => n,
        };
        tpl.add_partition_offset(&c.topic, p.partition, Offset::Offset(start)).map_err(kafka("cannot assign"))?;
        if p.high_watermark > start {
            ends.insert(p.partition, p.high_watermark);
        }
    }
    if tpl.count() == 0 {
        return Err(ConsumeError::NoPartitions { topic: c.topic.clone(), partitions: c.partitions.clone() });
    }
    consumer.assign(&tpl).map_err(kafka("cannot assign"))?;
    Ok(consumer)
}

/// What both kinds of reader share.
fn reader(kafka_config: &KafkaConfig) -> rdkafka::ClientConfig {
    let mut config = kafka_config.client();
    // The embedded broker holds a fetch for the client's whole wait even when records are
    // there; a short wait keeps the output live (README: "what it does not do").
    config.set("fetch.wait.max.ms", "20").set("auto.offset.reset", "earliest").set("enable.auto.commit", "false");
    config
}
