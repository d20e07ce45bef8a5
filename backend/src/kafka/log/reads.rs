//! The lab's own reads of the logs, in the process that holds them: a page of a topic's
//! records, an exercise check's look at a topic, a record to send again.
//!
//! Through a client such a read asks the broker three times (metadata, offsets, then
//! fetches), each through librdkafka's threads and the broker's connection tasks. With sixty
//! students at work on two cores, a page of 50 records took 200–275 ms at p99 that way
//! (the class bench); here it is a lookup in the logs. A read returns what a consumer would
//! fetch: the records below the high watermark, with their offsets, timestamps, keys, values
//! and headers as stored.

use super::LogStorage;
use nisshi_sans_io::TimestampType;
use nisshi_sans_io::record::{deflated, inflated};
use nisshi_storage::{Storage, Topition};
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage, Timestamp};
use std::fmt;
use std::io;
use std::sync::Arc;
use tokio::runtime::Handle;

/// What one read takes from a partition's log while holding its lock: producers to the
/// same partition wait at most that long.
const READ_BYTES: u64 = 1 << 20;

/// A partition's log start and high watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    pub partition: i32,
    pub low: i64,
    pub high: i64,
}

/// The logs of the broker running in this process, for reads made on blocking threads
/// (`spawn_blocking`), as every read of the lab is.
#[derive(Clone)]
pub struct LocalLogs {
    logs: Arc<LogStorage>,
    /// The runtime the broker runs on: a topic's partitions come from its metadata store,
    /// which answers asynchronously.
    runtime: Handle,
}

impl fmt::Debug for LocalLogs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalLogs")
    }
}

fn storage_error(e: impl fmt::Debug) -> io::Error {
    io::Error::other(format!("the embedded broker's storage: {e:?}"))
}

impl LocalLogs {
    /// `logs`, read from the runtime this is called on.
    pub fn new(logs: Arc<LogStorage>) -> LocalLogs {
        LocalLogs { logs, runtime: Handle::current() }
    }

    /// Every partition of `topic` with its watermarks; `None` when there is no such topic.
    /// Blocking.
    pub fn watermarks(&self, topic: &str) -> io::Result<Option<Vec<Marks>>> {
        let count = self.runtime.block_on(self.logs.partitions_of(topic)).map_err(storage_error)?;
        let Some(count) = count else { return Ok(None) };
        let logs = self.logs.logs.read().expect("logs lock");
        Ok(Some(
            (0..count as i32)
                .map(|partition| {
                    // A partition nothing was written to has no log yet: it is empty at 0.
                    let (low, high) = logs.get(&Topition::new(topic.to_owned(), partition)).map_or((0, 0), |log| {
                        let log = log.lock().expect("log lock");
                        (log.log_start(), log.high_watermark())
                    });
                    Marks { partition, low, high }
                })
                .collect(),
        ))
    }

    /// The offsets `group` committed in partitions `0..count` of `topic` (`None` where it
    /// committed none), as Kafka's `OffsetFetch` answers. Blocking.
    pub fn committed(&self, group: &str, topic: &str, count: usize) -> io::Result<Vec<(i32, Option<i64>)>> {
        let asked: Vec<Topition> = (0..count as i32).map(|p| Topition::new(topic.to_owned(), p)).collect();
        let found = self
            .runtime
            .block_on(self.logs.meta.offset_fetch(Some(group), &asked, Some(false)))
            .map_err(storage_error)?;
        Ok(asked.iter().map(|tp| (tp.partition, found.get(tp).copied().filter(|o| *o >= 0))).collect())
    }

    /// The offset of the first record at or after `ms` in a partition, as Kafka's
    /// `ListOffsets` by time answers; `None` when there is none.
    pub fn offset_for_time(&self, topic: &str, partition: i32, ms: i64) -> io::Result<Option<i64>> {
        let Some(log) = self.log(topic, partition) else { return Ok(None) };
        let found = log.lock().expect("log lock").offset_for_time(ms)?;
        Ok(found.map(|(offset, _)| offset))
    }

    /// Hands `take` each record of a partition from `start` up to `end` (not included),
    /// oldest first, until it returns false. Returns true when the read reached `end` (or the
    /// log's end, when that is nearer), false when `take` stopped it.
    pub fn read(
        &self,
        topic: &str,
        partition: i32,
        start: i64,
        end: i64,
        mut take: impl FnMut(OwnedMessage) -> bool,
    ) -> io::Result<bool> {
        let Some(log) = self.log(topic, partition) else { return Ok(true) };
        let mut next = start;
        while next < end {
            // The lock is held for one read at a time, not for the whole of a large one.
            let batches = log.lock().expect("log lock").read(next, READ_BYTES)?;
            if batches.is_empty() {
                break;
            }
            for batch in batches {
                let after = batch.base_offset + i64::from(batch.last_offset_delta) + 1;
                if !batch.is_control() {
                    for m in messages(topic, partition, &batch)? {
                        if m.offset() < next {
                            continue;
                        }
                        if m.offset() >= end {
                            return Ok(true);
                        }
                        if !take(m) {
                            return Ok(false);
                        }
                    }
                }
                if after <= next {
                    // A log always moves on; a batch that does not would read forever.
                    return Err(storage_error(format!("the batch at {} does not move past {next}", batch.base_offset)));
                }
                next = after;
            }
        }
        Ok(true)
    }

    fn log(&self, topic: &str, partition: i32) -> Option<super::Log> {
        self.logs.logs.read().expect("logs lock").get(&Topition::new(topic.to_owned(), partition)).cloned()
    }
}

/// A stored batch's records as a consumer receives them.
fn messages(topic: &str, partition: i32, batch: &deflated::Batch) -> io::Result<Vec<OwnedMessage>> {
    let batch = inflated::Batch::try_from(batch).map_err(storage_error)?;
    let log_append_time = TimestampType::from(batch.attributes) == TimestampType::LogAppendTime;
    Ok(batch
        .records
        .iter()
        .map(|r| {
            let offset = batch.base_offset + i64::from(r.offset_delta);
            let ms = batch.record_timestamp(r);
            let timestamp = if log_append_time { Timestamp::LogAppendTime(ms) } else { Timestamp::CreateTime(ms) };
            let headers = (!r.headers.is_empty()).then(|| {
                r.headers.iter().fold(OwnedHeaders::new_with_capacity(r.headers.len()), |hs, h| {
                    let key = h.key.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
                    hs.insert(Header { key: &key, value: h.value.as_deref() })
                })
            });
            OwnedMessage::new(
                r.value.as_ref().map(|v| v.to_vec()),
                r.key.as_ref().map(|k| k.to_vec()),
                topic.to_owned(),
                timestamp,
                partition,
                offset,
                headers,
            )
        })
        .collect())
}
