//! Live tails for one websocket: several subscriptions, each read by its own consumer into a
//! bounded buffer, drained into at most one frame every 50 ms.
//!
//! The consumer never waits for the browser. When a browser reads more slowly than records
//! arrive, its buffer fills and the oldest records are passed over and counted; the next
//! frame says how many. A tail therefore never stops at a "max results", never grows without
//! bound, and always shows the newest records.

use crate::kafka::KafkaConfig;
use crate::records;
use rdkafka::consumer::BaseConsumer;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamlab_wire::{RecordBatch, RecordView, StartPosition};

/// Records and bytes a subscription may hold for a slow browser.
pub const BUFFER_RECORDS: usize = 2_000;
pub const BUFFER_BYTES: usize = 8 << 20;
/// Records per subscription in one frame, so a frame stays a few hundred KB at most.
pub const FRAME_RECORDS: usize = 500;

#[derive(Default)]
struct Buffer {
    records: VecDeque<RecordView>,
    bytes: usize,
    skipped: u64,
}

impl Buffer {
    fn push(&mut self, r: RecordView) {
        self.bytes += r.size;
        self.records.push_back(r);
        while self.records.len() > BUFFER_RECORDS || (self.bytes > BUFFER_BYTES && self.records.len() > 1) {
            let old = self.records.pop_front().expect("not empty");
            self.bytes -= old.size;
            self.skipped += 1;
        }
    }

    fn drain(&mut self) -> (Vec<RecordView>, u64) {
        let n = self.records.len().min(FRAME_RECORDS);
        let records: Vec<RecordView> = self.records.drain(..n).collect();
        self.bytes -= records.iter().map(|r| r.size).sum::<usize>();
        (records, std::mem::take(&mut self.skipped))
    }
}

struct Subscription {
    buffer: Arc<Mutex<Buffer>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("at most {0} subscriptions per socket")]
    TooMany(usize),
    #[error("subscription {0} already exists; unsubscribe first")]
    Taken(u32),
    #[error("{0}")]
    Records(#[from] records::RecordsError),
    #[error("{0}")]
    Failed(String),
}

/// One socket's subscriptions.
pub struct Subscriptions {
    kafka: KafkaConfig,
    max: usize,
    subs: BTreeMap<u32, Subscription>,
}

impl Subscriptions {
    pub fn new(kafka: KafkaConfig, max: usize) -> Self {
        Subscriptions { kafka, max, subs: BTreeMap::new() }
    }

    /// May subscription `id` be added?
    pub fn check(&self, id: u32) -> Result<(), SubscribeError> {
        if self.subs.contains_key(&id) {
            return Err(SubscribeError::Taken(id));
        }
        if self.subs.len() >= self.max {
            return Err(SubscribeError::TooMany(self.max));
        }
        Ok(())
    }

    pub fn kafka(&self) -> &KafkaConfig {
        &self.kafka
    }

    /// A consumer assigned to `topic` at `from` (checking the topic and partitions exist).
    /// Blocking: it talks to the broker.
    pub fn open(kafka: &KafkaConfig, topic: &str, from: StartPosition, partitions: Option<&[i32]>) -> Result<BaseConsumer, SubscribeError> {
        let consumer: BaseConsumer = kafka
            .client()
            .set("group.id", format!("streamlab-live-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "20")
            .create()
            .map_err(records::RecordsError::from)?;
        records::assign(&consumer, topic, from, partitions)?;
        Ok(consumer)
    }

    /// Starts tailing with a consumer from [`Subscriptions::open`].
    pub fn start(&mut self, id: u32, topic: &str, consumer: BaseConsumer) {
        let sub = Subscription { buffer: Arc::default(), stop: Arc::new(AtomicBool::new(false)) };
        let (buffer, stop) = (sub.buffer.clone(), sub.stop.clone());
        std::thread::Builder::new()
            .name(format!("tail-{topic}"))
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match consumer.poll(Duration::from_millis(100)) {
                        Some(Ok(m)) => {
                            let view = records::view(&m);
                            buffer.lock().expect("buffer lock").push(view);
                        }
                        Some(Err(e)) => tracing::debug!("live tail: {e}"),
                        None => {}
                    }
                }
            })
            .expect("a thread for the tail");
        self.subs.insert(id, sub);
    }

    /// Stops a subscription; false if there was none.
    pub fn unsubscribe(&mut self, id: u32) -> bool {
        self.subs.remove(&id).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// What has arrived since the last frame, or `None` when nothing has.
    pub fn frame(&self) -> Option<Vec<RecordBatch>> {
        let batches: Vec<RecordBatch> = self
            .subs
            .iter()
            .filter_map(|(&id, s)| {
                let (records, skipped) = s.buffer.lock().expect("buffer lock").drain();
                (!records.is_empty() || skipped > 0).then_some(RecordBatch { subscription: id, records, skipped })
            })
            .collect();
        (!batches.is_empty()).then_some(batches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: i64, size: usize) -> RecordView {
        RecordView { topic: "t".into(), partition: 0, offset, timestamp_ms: None, key: None, headers: vec![], value: None, size }
    }

    #[test]
    fn a_full_buffer_passes_over_the_oldest_and_counts_them() {
        let mut b = Buffer::default();
        for i in 0..(BUFFER_RECORDS as i64 + 10) {
            b.push(record(i, 10));
        }
        let (first, skipped) = b.drain();
        assert_eq!(skipped, 10);
        assert_eq!(first.len(), FRAME_RECORDS);
        assert_eq!(first[0].offset, 10, "the oldest ten were skipped");
        let (_, skipped) = b.drain();
        assert_eq!(skipped, 0, "a skip is reported once");
        let mut big = Buffer::default();
        for i in 0..10 {
            big.push(record(i, BUFFER_BYTES / 4));
        }
        assert_eq!(big.records.len(), 4);
        assert_eq!(big.skipped, 6);
    }
}
