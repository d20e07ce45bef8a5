//! The service's settings (`streamlab infer`'s flags) and the Kafka clients they make: the
//! consumer of requests, the producer of outputs, and how a batch is taken from the consumer.

use crate::kafka::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, ConsumerContext};
use rdkafka::message::OwnedMessage;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct InferenceConfig {
    pub requests: String,
    pub predictions: String,
    pub dead_letters: String,
    pub group: String,
    pub max_batch: usize,
    /// Outputs not yet acknowledged before the consumer pauses (at least once only).
    pub max_in_flight: usize,
    /// The producer's `linger.ms`: how long an output may wait for others to share its
    /// request to the broker.
    pub linger_ms: u32,
    pub exactly_once: bool,
    /// The transactional id in exactly-once mode; unique per instance by default.
    pub transactional_id: Option<String>,
    /// In exactly-once mode, how long one transaction goes on taking batches before it
    /// commits them all (Kafka Streams' `commit.interval.ms` under exactly once).
    pub commit_interval: Duration,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        InferenceConfig {
            requests: streamlab_wire::topics::REQUESTS.to_owned(),
            predictions: streamlab_wire::topics::PREDICTIONS.to_owned(),
            dead_letters: streamlab_wire::topics::DEAD_LETTERS.to_owned(),
            group: "streamlab-inference".to_owned(),
            max_batch: 500,
            max_in_flight: 20_000,
            linger_ms: 1,
            exactly_once: false,
            transactional_id: None,
            commit_interval: Duration::from_millis(100),
        }
    }
}

impl InferenceConfig {
    /// The consumer of requests: the service's group, committing only by hand.
    pub fn consumer_config(&self, kafka: &KafkaConfig) -> rdkafka::ClientConfig {
        let mut c = kafka.client();
        c.set("group.id", &self.group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // Only committed requests, in case the producer of requests is transactional.
            .set("isolation.level", "read_committed")
            // A request should not wait in the broker for more to arrive: latency first.
            .set("fetch.wait.max.ms", "10");
        // When its local queue is full (`queued.min.messages`, `queued.max.messages.kbytes`),
        // librdkafka stops fetching for `fetch.queue.backoff.ms`, 1 s by default. Draining a
        // backlog, the service emptied a full queue in under that second and then sat idle,
        // the broker too, for the rest of it: a quarter of every second on one Kafka node
        // (perf), and half the speed. The backoff only applies to a full queue, so an idle or
        // keeping-up service is unchanged.
        c.set("fetch.queue.backoff.ms", "10");
        c
    }

    /// The producer of predictions and dead letters.
    pub fn producer_config(&self, kafka: &KafkaConfig) -> rdkafka::ClientConfig {
        let mut c = kafka.client();
        // Idempotence keeps each partition's outputs in order through retries.
        // No compression: kafka-python, the course's client, reads lz4, snappy and zstd only
        // with packages `pip install kafka-python` does not bring, and a subscriber must be
        // able to read predictions with what a student has.
        c.set("enable.idempotence", "true")
            .set("linger.ms", self.linger_ms.to_string())
            .set("compression.type", "none");
        c
    }
}

/// What the consumer has ready: waits up to `wait` for the first record, then takes the
/// rest without waiting, up to `max`.
pub fn next_batch<C: ConsumerContext>(consumer: &BaseConsumer<C>, max: usize, wait: Duration) -> Vec<OwnedMessage> {
    let mut batch = Vec::new();
    let mut timeout = wait;
    while batch.len() < max {
        match consumer.poll(timeout) {
            Some(Ok(m)) => batch.push(m.detach()),
            // Transient broker errors surface here; librdkafka retries by itself.
            Some(Err(e)) => {
                tracing::warn!(error = %e, "consumer error");
                break;
            }
            None => break,
        }
        timeout = Duration::ZERO;
    }
    batch
}
