//! An idle service stops fetching while the lab's own broker has nothing for it.
//!
//! The service's consumer asks for records with `fetch.wait.max.ms=10`, so that a request is
//! answered within milliseconds; the embedded broker holds an empty fetch by sleeping half of
//! what is left of that wait, again and again, so an idle consumer costs it a hundred fetches
//! and some five hundred wake-ups a second: about 5 % of a core on the build machine (`perf`:
//! fetch decoding, encoding and timers), half of an idle lab's CPU. In the lab, the broker
//! runs in the same process and tells of each stored batch ([`LogStorage::arrivals`]): once
//! every assigned partition is read to its end and nothing came for [`AFTER`], the service
//! pauses its partitions (librdkafka then fetches nothing) and wakes on the next arrival.
//! Against another cluster there is no such signal and the service fetches as always.

use super::metrics::InferenceMetrics;
use crate::kafka::log::LogStorage;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long nothing must come before the service stops fetching.
pub const AFTER: Duration = Duration::from_secs(1);
/// How long one wait for an arrival lasts; between waits the consumer is polled, so that
/// rebalances are served while paused.
pub const WAKE_EVERY: Duration = Duration::from_millis(100);

/// The reader's idleness: fetching (since when nothing came) or paused (at which count of
/// arrivals).
pub struct Idle<'a> {
    logs: &'a LogStorage,
    metrics: &'a InferenceMetrics,
    quiet_since: Instant,
    paused_at: Option<u64>,
}

impl<'a> Idle<'a> {
    pub fn new(logs: &'a LogStorage, metrics: &'a InferenceMetrics) -> Idle<'a> {
        Idle { logs, metrics, quiet_since: Instant::now(), paused_at: None }
    }

    fn set_paused(&mut self, at: Option<u64>) {
        self.paused_at = at;
        self.metrics.idle.store(at.is_some(), Ordering::Relaxed);
    }

    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Records came: the service is busy.
    pub fn busy(&mut self) {
        self.quiet_since = Instant::now();
    }

    /// A rebalance assigned partitions afresh: none stays paused.
    pub fn reassigned<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> KafkaResult<()> {
        if self.paused_at.is_some() {
            self.set_paused(None);
            consumer.resume(&consumer.assignment()?)?;
        }
        self.quiet_since = Instant::now();
        Ok(())
    }

    /// While paused: waits for an arrival (at most [`WAKE_EVERY`]) and resumes the
    /// partitions when one came.
    pub fn wait<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> KafkaResult<()> {
        let Some(seen) = self.paused_at else { return Ok(()) };
        if self.logs.wait_arrival(seen, WAKE_EVERY) == seen {
            return Ok(());
        }
        self.set_paused(None);
        let assignment = consumer.assignment()?;
        consumer.resume(&assignment)?;
        // Resumed alone, librdkafka fetches again only half a second later (measured: 500–
        // 600 ms, whatever fetch.error.backoff.ms or fetch.queue.backoff.ms): the broker's
        // thread in librdkafka sleeps until its next round. A request to that broker wakes
        // it, and the partitions are fetched at once (1–2 ms); a seek does so only for a
        // partition that has been read from.
        if let Some(e) = assignment.elements().first() {
            let _ = consumer.fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(1));
        }
        self.quiet_since = Instant::now();
        Ok(())
    }

    /// After a poll that brought nothing, with nothing in flight: pauses when nothing came
    /// for [`AFTER`] and every assigned partition is read to its end.
    pub fn maybe_pause<C: ConsumerContext>(&mut self, consumer: &BaseConsumer<C>) -> KafkaResult<()> {
        if self.paused_at.is_some() || self.quiet_since.elapsed() < AFTER {
            return Ok(());
        }
        // The count first: a batch stored after it changes the count and wakes the service;
        // one stored before it is within the end offsets read below.
        let seen = self.logs.arrivals();
        let assignment = consumer.assignment()?;
        if assignment.count() == 0 || !self.read_to_end(consumer, &assignment)? {
            // Not yet: look again after another quiet spell.
            self.quiet_since = Instant::now();
            return Ok(());
        }
        consumer.pause(&assignment)?;
        self.set_paused(Some(seen));
        Ok(())
    }

    /// Whether every assigned partition is read to its end.
    fn read_to_end<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        assignment: &TopicPartitionList,
    ) -> KafkaResult<bool> {
        let positions = consumer.position()?;
        // A partition the consumer has not read from in this session has no position; its
        // committed offset says where it stands.
        let mut committed: Option<TopicPartitionList> = None;
        for e in assignment.elements() {
            let end = self.logs.end_offset(e.topic(), e.partition()).unwrap_or(0);
            let at = match positions.find_partition(e.topic(), e.partition()).map(|p| p.offset()) {
                Some(Offset::Offset(o)) => o,
                // An empty log: where it starts.
                _ if end == 0 => 0,
                _ => {
                    if committed.is_none() {
                        committed = Some(consumer.committed(Duration::from_secs(2))?);
                    }
                    match committed
                        .as_ref()
                        .and_then(|c| c.find_partition(e.topic(), e.partition()))
                        .map(|p| p.offset())
                    {
                        Some(Offset::Offset(o)) => o,
                        _ => return Ok(false),
                    }
                }
            };
            if at < end {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
