//! The service's loop: consume a round of requests, answer it ([`super::answer`]), deliver
//! the outputs and only then commit; a failed session restarts and answers its round again.

use super::answer::{Output, answer, next_offsets, now_ms};
use super::metrics::InferenceMetrics;
use crate::kafka::KafkaConfig;
use anyhow::{Context, bail};
use futures::future::join_all;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
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

    fn consumer(&self) -> anyhow::Result<BaseConsumer> {
        let consumer: BaseConsumer = self
            .kafka
            .client()
            .set("group.id", &self.config.group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // Only committed requests, in case the producer of requests is transactional.
            .set("isolation.level", "read_committed")
            // A request should not wait in the broker for more to arrive: latency first.
            .set("fetch.wait.max.ms", "10")
            .create()
            .context("cannot create the inference consumer")?;
        consumer.subscribe(&[&self.config.requests]).context("cannot subscribe to the request topic")?;
        Ok(consumer)
    }

    fn producer(&self) -> anyhow::Result<FutureProducer> {
        let mut c = self.kafka.client();
        c.set("enable.idempotence", "true").set("linger.ms", "2").set("compression.type", "lz4");
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
        let consumer = self.consumer()?;
        let producer = self.producer()?;
        let version = self.model.version();
        tracing::info!(group = %self.config.group, topic = %self.config.requests, exactly_once = self.config.exactly_once, model = %version, "inference running");
        while !stop.load(Ordering::Relaxed) {
            let batch = next_batch(&consumer, self.config.max_batch);
            if batch.is_empty() {
                continue;
            }
            self.metrics.requests.fetch_add(batch.len() as u64, Ordering::Relaxed);
            self.metrics.batch_size.observe(batch.len() as f64);
            let outputs = answer(&batch, &self.model, &version, &self.config, &self.metrics);
            let offsets = next_offsets(&batch)?;
            if self.config.exactly_once {
                self.deliver_in_transaction(&producer, &consumer, outputs, &offsets)?;
            } else {
                self.deliver(&producer, outputs)?;
                consumer.commit(&offsets, CommitMode::Async).context("cannot commit offsets")?;
            }
        }
        if !self.config.exactly_once {
            let _ = consumer.commit_consumer_state(CommitMode::Sync);
        }
        Ok(())
    }

    /// Produces every output and waits for all acknowledgements; any failure fails the round.
    fn deliver(&self, producer: &FutureProducer, outputs: Vec<Output>) -> anyhow::Result<()> {
        // `send` waits (up to 30 s) while the local queue is full instead of failing.
        let pending: Vec<_> = outputs.iter().map(|o| producer.send(o.record(), Duration::from_secs(30))).collect();
        let results = futures::executor::block_on(join_all(pending));
        let acked = now_ms();
        for (o, r) in outputs.iter().zip(results) {
            if let Err((e, _)) = r {
                bail!("an output to {} was not acknowledged: {e}", o.topic);
            }
            self.count(o, acked);
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
                pending.push(producer.send_result(o.record()).map_err(|(e, _)| e)?);
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
            self.count(o, acked);
        }
        Ok(())
    }

    fn count(&self, o: &Output, acked_ms: i64) {
        match o.class {
            Some(streamlab_model::Class::Edible) => self.metrics.edible.fetch_add(1, Ordering::Relaxed),
            Some(streamlab_model::Class::Poisonous) => self.metrics.poisonous.fetch_add(1, Ordering::Relaxed),
            None => 0,
        };
        if let (Some(_), Some(ts)) = (o.class, o.request_timestamp_ms) {
            self.metrics.latency.observe((acked_ms - ts).max(0) as f64 / 1e3);
        }
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

/// What the consumer has ready: waits up to 100 ms for the first record, then takes the
/// rest without waiting, up to `max`.
fn next_batch(consumer: &BaseConsumer, max: usize) -> Vec<OwnedMessage> {
    let mut batch = Vec::new();
    let mut timeout = Duration::from_millis(100);
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
