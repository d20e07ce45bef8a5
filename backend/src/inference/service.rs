//! The service's sessions: at least once (default), the pipeline of [`super::pipeline`];
//! exactly once, rounds of consume → answer ([`super::answer`]) → one transaction with the
//! outputs and the offsets. A failed session restarts from the committed offsets and answers
//! what it had not committed again.

use super::answer::{Output, answer, next_offsets, now_ms};
use super::metrics::InferenceMetrics;
use crate::kafka::KafkaConfig;
use anyhow::Context;
use futures::future::join_all;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use streamlab_model::Artifact;

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
        }
    }
}

pub struct InferenceService {
    pub kafka: KafkaConfig,
    pub config: InferenceConfig,
    pub model: Arc<Artifact>,
    pub metrics: Arc<InferenceMetrics>,
}

impl InferenceService {
    /// Runs until `stop` is set, restarting a failed session after a pause: a failed round
    /// was not committed, so the next session answers it again.
    pub fn run_until(&self, stop: &AtomicBool) {
        std::thread::scope(|scope| {
            scope.spawn(|| self.watch_lag(stop));
            self.serve(stop);
        });
    }

    fn serve(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            match self.session(stop) {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "inference session failed; restarting in 1 s");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    pub(super) fn consumer_config(&self) -> rdkafka::ClientConfig {
        let mut c = self.kafka.client();
        c.set("group.id", &self.config.group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // Only committed requests, in case the producer of requests is transactional.
            .set("isolation.level", "read_committed")
            // A request should not wait in the broker for more to arrive: latency first.
            .set("fetch.wait.max.ms", "10");
        c
    }

    fn consumer(&self) -> anyhow::Result<BaseConsumer> {
        let consumer: BaseConsumer = self.consumer_config().create().context("cannot create the inference consumer")?;
        consumer.subscribe(&[&self.config.requests]).context("cannot subscribe to the request topic")?;
        Ok(consumer)
    }

    pub(super) fn producer_config(&self) -> rdkafka::ClientConfig {
        let mut c = self.kafka.client();
        // Idempotence keeps each partition's outputs in order through retries.
        // No compression: kafka-python, the course's client, reads lz4, snappy and zstd only
        // with packages `pip install kafka-python` does not bring, and a subscriber must be
        // able to read predictions with what a student has.
        c.set("enable.idempotence", "true")
            .set("linger.ms", self.config.linger_ms.to_string())
            .set("compression.type", "none");
        c
    }

    fn producer(&self) -> anyhow::Result<FutureProducer> {
        let mut c = self.producer_config();
        if self.config.exactly_once {
            let id = self
                .config
                .transactional_id
                .clone()
                .unwrap_or_else(|| format!("streamlab-inference-{}", uuid::Uuid::new_v4()));
            c.set("transactional.id", id);
        }
        let producer: FutureProducer = c.create().context("cannot create the inference producer")?;
        if self.config.exactly_once {
            producer
                .init_transactions(Duration::from_secs(30))
                .context("the broker refused transactions (--exactly-once needs Kafka or Redpanda; the embedded broker has none)")?;
        }
        Ok(producer)
    }

    fn session(&self, stop: &AtomicBool) -> anyhow::Result<()> {
        if self.config.exactly_once { self.rounds_in_transactions(stop) } else { super::pipeline::session(self, stop) }
    }

    /// Exactly once: each round is one transaction, so nothing can be in flight across rounds.
    fn rounds_in_transactions(&self, stop: &AtomicBool) -> anyhow::Result<()> {
        let consumer = self.consumer()?;
        let producer = self.producer()?;
        let version = self.model.version();
        tracing::info!(group = %self.config.group, topic = %self.config.requests, model = %version, "inference running (exactly once)");
        while !stop.load(Ordering::Relaxed) {
            let batch = next_batch(&consumer, self.config.max_batch, Duration::from_millis(100));
            if batch.is_empty() {
                continue;
            }
            self.metrics.requests.fetch_add(batch.len() as u64, Ordering::Relaxed);
            self.metrics.batch_size.observe(batch.len() as f64);
            let outputs = answer(&batch, &self.model, &version, &self.metrics);
            let offsets = next_offsets(&batch)?;
            self.deliver_in_transaction(&producer, &consumer, outputs, &offsets)?;
        }
        Ok(())
    }

    fn deliver_in_transaction(
        &self,
        producer: &FutureProducer,
        consumer: &BaseConsumer,
        outputs: Vec<Output>,
        offsets: &TopicPartitionList,
    ) -> anyhow::Result<()> {
        let timeout = Duration::from_secs(30);
        producer.begin_transaction()?;
        let result = (|| -> anyhow::Result<()> {
            let mut pending = Vec::with_capacity(outputs.len());
            for o in &outputs {
                pending.push(producer.send_result(o.record(&self.config)).map_err(|(e, _)| e)?);
            }
            let metadata = consumer.group_metadata().context("the consumer has no group metadata")?;
            producer.send_offsets_to_transaction(offsets, &metadata, timeout)?;
            producer.commit_transaction(timeout)?;
            for r in futures::executor::block_on(join_all(pending)) {
                r.map_err(|_| anyhow::anyhow!("delivery cancelled"))?.map_err(|(e, _)| e)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = producer.abort_transaction(timeout);
            // The session ends with this error; the next one starts from the committed
            // offsets, so the aborted round's requests are read again.
            return Err(e.context("transaction aborted"));
        }
        let acked = now_ms();
        for o in &outputs {
            self.metrics.answered(o.class, o.request_timestamp_ms, acked);
        }
        Ok(())
    }

    /// Once a second: lag per partition as Kafka's tools define it, log end offset minus
    /// the group's committed offset. A client of its own does the asking, so broker round
    /// trips never hold up the service's loop.
    fn watch_lag(&self, stop: &AtomicBool) {
        let Ok(client) = self.kafka.client().set("group.id", &self.config.group).create::<BaseConsumer>() else {
            return;
        };
        let topic = &self.config.requests;
        let timeout = Duration::from_secs(2);
        while !stop.load(Ordering::Relaxed) {
            if let Ok(md) = client.fetch_metadata(Some(topic), timeout) {
                let mut tpl = TopicPartitionList::new();
                for p in md.topics().iter().flat_map(|t| t.partitions()) {
                    tpl.add_partition(topic, p.id());
                }
                if let Ok(committed) = client.committed_offsets(tpl, timeout) {
                    for e in committed.elements() {
                        if let Ok((low, high)) = client.fetch_watermarks(topic, e.partition(), timeout) {
                            let done = match e.offset() {
                                Offset::Offset(o) => o,
                                _ => low,
                            };
                            self.metrics.set_lag(topic, e.partition(), (high - done).max(0));
                        }
                    }
                }
            }
            for _ in 0..10 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// What the consumer has ready: waits up to `wait` for the first record, then takes the
/// rest without waiting, up to `max`.
pub(super) fn next_batch<C: rdkafka::consumer::ConsumerContext>(
    consumer: &BaseConsumer<C>,
    max: usize,
    wait: Duration,
) -> Vec<OwnedMessage> {
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
