//! Exactly once (`--exactly-once`): rounds of consume → answer ([`super::answer`]) → one
//! Kafka transaction holding the outputs and the consumer's offsets. Nothing is in flight
//! across rounds, so this path is not pipelined. It needs a broker with transactions (Kafka,
//! Redpanda); the embedded broker refuses them.

use super::answer::{Output, answer, next_offsets, now_ms};
use super::config::{InferenceConfig, next_batch};
use super::metrics::InferenceMetrics;
use crate::kafka::KafkaConfig;
use crate::shutdown::Shutdown;
use anyhow::Context;
use futures::future::join_all;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, Producer};
use std::sync::atomic::Ordering;
use std::time::Duration;
use streamlab_model::Artifact;

/// One session of rounds in transactions; returns when `shutdown` is triggered or with the
/// first error (the round in flight is then aborted, and answered again by the next session).
pub(super) fn session(
    kafka: &KafkaConfig,
    config: &InferenceConfig,
    model: &Artifact,
    metrics: &InferenceMetrics,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let consumer: BaseConsumer =
        config.consumer_config(kafka).create().context("cannot create the inference consumer")?;
    consumer.subscribe(&[&config.requests]).context("cannot subscribe to the request topic")?;
    let producer = transactional_producer(kafka, config)?;
    let version = model.version();
    tracing::info!(group = %config.group, topic = %config.requests, model = %version, "inference running (exactly once)");
    while !shutdown.is_triggered() {
        let batch = next_batch(&consumer, config.max_batch, Duration::from_millis(100));
        if batch.is_empty() {
            continue;
        }
        metrics.requests.fetch_add(batch.len() as u64, Ordering::Relaxed);
        metrics.batch_size.observe(batch.len() as f64);
        let outputs = answer(&batch, model, &version, metrics);
        let offsets = next_offsets(&batch)?;
        deliver(config, metrics, &producer, &consumer, outputs, &offsets)?;
    }
    Ok(())
}

fn transactional_producer(kafka: &KafkaConfig, config: &InferenceConfig) -> anyhow::Result<FutureProducer> {
    let mut c = config.producer_config(kafka);
    let id = config.transactional_id.clone().unwrap_or_else(|| format!("streamlab-inference-{}", uuid::Uuid::new_v4()));
    c.set("transactional.id", id);
    let producer: FutureProducer = c.create().context("cannot create the inference producer")?;
    producer.init_transactions(Duration::from_secs(30)).context(
        "the broker refused transactions (--exactly-once needs Kafka or Redpanda; the embedded broker has none)",
    )?;
    Ok(producer)
}

/// The round's outputs and offsets in one transaction; aborted on any failure.
fn deliver(
    config: &InferenceConfig,
    metrics: &InferenceMetrics,
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
            pending.push(producer.send_result(o.record(config)).map_err(|(e, _)| e)?);
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
        metrics.answered(o.class, o.request_timestamp_ms, acked);
    }
    Ok(())
}
