//! Redrive: send the dead letters of one reason back to the request topic, say after the
//! model's validation was fixed to accept what it refused.
//!
//! Each dead letter holds the request's original bytes, key and headers (and `dlq-*` headers
//! saying why); a redrive sends those again with a header `redriven-from` naming the dead
//! letter. Two rules keep it from looping or repeating itself:
//! - a dead letter that already carries `redriven-from` is a redriven request that failed
//!   again: it is counted, never sent a second time;
//! - each reason has a consumer group, `streamlab-redrive-REASON`, whose committed offsets say
//!   how far that reason was redriven, so a second redrive sends only what came since.

use crate::kafka::KafkaConfig;
use crate::kafka::producer::{AsyncProducer, Outgoing};
use crate::kafka::records::{self, RecordsError, Span};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use streamlab_wire::{PartitionInfo, Redriven};

/// The header a redriven request carries: `topic/partition/offset` of its dead letter.
pub const REDRIVEN_FROM: &str = "redriven-from";
/// The dead-letter header that says why.
pub const REASON: &str = "dlq-reason";
/// Dead letters one redrive sends at most (they are held in memory until acknowledged); a
/// redrive that stops there says so (`complete: false`), and the next one goes on from there.
pub const MAX_SENT: usize = 50_000;

#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("a reason is a word like not_json (letters, digits and _), got `{0}`")]
    BadReason(String),
    #[error("no dead letter with reason {reason} waits to be redriven{}", waiting_list(.waiting))]
    Nothing { reason: String, waiting: BTreeMap<String, u64> },
    #[error("{0}")]
    Records(#[from] RecordsError),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

fn waiting_list(waiting: &BTreeMap<String, u64>) -> String {
    if waiting.is_empty() {
        return " (the dead-letter topic holds none since)".into();
    }
    let reasons: Vec<String> = waiting.iter().map(|(r, n)| format!("{r} ({n})")).collect();
    format!("; the reasons there are: {}", reasons.join(", "))
}

/// The consumer group that remembers how far `reason` was redriven.
pub fn group_of(reason: &str) -> String {
    format!("streamlab-redrive-{reason}")
}

/// Sends the dead letters of `reason` on `dead_letters` that came since its last redrive
/// to `requests`, waits for every acknowledgement, then commits how far it read. Blocking.
pub fn redrive(
    kafka: &KafkaConfig,
    producer: &AsyncProducer,
    dead_letters: &str,
    requests: &str,
    reason: &str,
) -> Result<Redriven, RedriveError> {
    if reason.is_empty() || reason.len() > 64 || !reason.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(RedriveError::BadReason(reason.into()));
    }
    let consumer: BaseConsumer = kafka
        .client()
        .set("group.id", group_of(reason))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .map_err(RecordsError::from)?;
    let stored = records::partitions(&consumer, dead_letters, None)?;
    let mut asked = TopicPartitionList::new();
    for p in &stored {
        asked.add_partition(dead_letters, p.id);
    }
    let committed = consumer.committed_offsets(asked, Duration::from_secs(5))?;
    let parts: Vec<Span> = stored
        .iter()
        .map(|&PartitionInfo { id, low, high }| {
            let done = committed.find_partition(dead_letters, id).and_then(|e| e.offset().to_raw()).unwrap_or(low);
            Span { partition: id, start: done.clamp(low, high), end: high }
        })
        .collect();
    let mut tpl = TopicPartitionList::new();
    for s in &parts {
        tpl.add_partition_offset(dead_letters, s.partition, Offset::Offset(s.start))?;
    }
    consumer.assign(&tpl)?;

    let (mut chosen, mut waiting, mut failed_again, mut scanned) = (Vec::new(), BTreeMap::new(), 0, 0);
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    let complete = records::read_to_end(&consumer, &parts, Instant::now() + Duration::from_secs(30), |m| {
        scanned += 1;
        next.insert(m.partition(), m.offset() + 1);
        let header = |key: &str| m.headers().and_then(|hs| hs.iter().find(|h| h.key == key).map(|h| h.value));
        let why = header(REASON).flatten().map(String::from_utf8_lossy);
        match why.as_deref() {
            Some(r) if r == reason && header(REDRIVEN_FROM).is_some() => failed_again += 1,
            Some(r) if r == reason => chosen.push(m.detach()),
            Some(r) => *waiting.entry(r.to_owned()).or_insert(0) += 1,
            None => {}
        }
        chosen.len() < MAX_SENT
    })?;

    let sends = chosen.iter().map(|m| {
        let record = Outgoing { key: m.key(), value: m.payload(), headers: Some(original_headers(m)), partition: None };
        producer.send(requests, record, Duration::from_secs(10))
    });
    // Nothing is committed unless every record was acknowledged: a failed redrive can be
    // run again and sends the same records (at least once, as the service itself).
    for sent in futures::executor::block_on(futures::future::join_all(sends)) {
        sent?;
    }
    if !next.is_empty() {
        let mut done = TopicPartitionList::new();
        for (p, o) in &next {
            done.add_partition_offset(dead_letters, *p, Offset::Offset(*o))?;
        }
        consumer.commit(&done, CommitMode::Sync)?;
    }
    if chosen.is_empty() && failed_again == 0 {
        return Err(RedriveError::Nothing { reason: reason.into(), waiting });
    }
    Ok(Redriven {
        reason: reason.into(),
        to: requests.into(),
        sent: chosen.len() as u64,
        failed_again,
        scanned,
        complete,
    })
}

/// The request's own headers (the dead letter's without the `dlq-*` ones it added), and
/// `redriven-from` naming the dead letter.
fn original_headers(m: &OwnedMessage) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new();
    if let Some(hs) = m.headers() {
        for h in hs.iter().filter(|h| !h.key.starts_with("dlq-")) {
            headers = headers.insert(Header { key: h.key, value: h.value });
        }
    }
    let from = format!("{}/{}/{}", m.topic(), m.partition(), m.offset());
    headers.insert(Header { key: REDRIVEN_FROM, value: Some(&from) })
}
