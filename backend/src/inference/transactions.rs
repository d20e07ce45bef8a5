//! Exactly once (`--exactly-once`): consume → answer ([`super::answer`]) → Kafka transactions
//! holding the outputs and the consumer's offsets. A transaction goes on taking batches for
//! `commit_interval` (100 ms, as Kafka Streams does under exactly once) or until
//! `max_in_flight` outputs, its outputs on their way meanwhile, then commits them all with
//! the offsets: one commit, which costs the broker several writes, carries thousands of
//! requests rather than one batch. Nothing is in flight across transactions. It needs a
//! broker with transactions (Kafka, Redpanda); the embedded broker refuses them.

use super::answer::{Output, answer, next_offsets, now_ms};
use super::config::{InferenceConfig, next_batch};
use super::metrics::InferenceMetrics;
use crate::kafka::KafkaConfig;
use crate::shutdown::Shutdown;
use anyhow::Context;
use futures::future::join_all;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{DeliveryFuture, FutureProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use streamlab_model::Artifact;

/// One session of transactions; returns when `shutdown` is triggered or with the first error
/// (the transaction in flight is then aborted, and its requests answered again by the next
/// session).
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
        let first = next_batch(&consumer, config.max_batch, Duration::from_millis(100));
        if first.is_empty() {
            continue;
        }
        producer.begin_transaction()?;
        let mut txn = Transaction::default();
        let result = (|| -> anyhow::Result<()> {
            let opened = Instant::now();
            let mut batch = first;
            loop {
                metrics.requests.fetch_add(batch.len() as u64, Ordering::Relaxed);
                metrics.batch_size.observe(batch.len() as f64);
                txn.read(&batch)?;
                for o in answer(&batch, model, &version, metrics) {
                    txn.send(&producer, config, o)?;
                }
                let left = config.commit_interval.saturating_sub(opened.elapsed());
                if left.is_zero() || txn.pending.len() >= config.max_in_flight || shutdown.is_triggered() {
                    break;
                }
                batch = next_batch(&consumer, config.max_batch, left);
            }
            let metadata = consumer.group_metadata().context("the consumer has no group metadata")?;
            let timeout = Duration::from_secs(30);
            producer.send_offsets_to_transaction(&txn.offsets()?, &metadata, timeout)?;
            producer.commit_transaction(timeout)?;
            for r in futures::executor::block_on(join_all(std::mem::take(&mut txn.pending))) {
                r.map_err(|_| anyhow::anyhow!("delivery cancelled"))?.map_err(|(e, _)| e)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = producer.abort_transaction(Duration::from_secs(30));
            // The session ends with this error; the next one starts from the committed
            // offsets, so the aborted transaction's requests are read again.
            return Err(e.context("transaction aborted"));
        }
        let acked = now_ms();
        for (class, requested) in txn.answered {
            metrics.answered(class, requested, acked);
        }
    }
    Ok(())
}

/// What one open transaction holds: its outputs on their way, what to count once it is
/// committed, and the next offset per request partition.
#[derive(Default)]
struct Transaction {
    pending: Vec<DeliveryFuture>,
    answered: Vec<(Option<streamlab_model::Class>, Option<i64>)>,
    next: BTreeMap<(String, i32), i64>,
}

impl Transaction {
    fn read(&mut self, batch: &[OwnedMessage]) -> anyhow::Result<()> {
        for e in next_offsets(batch)?.elements() {
            if let Offset::Offset(o) = e.offset() {
                let next = self.next.entry((e.topic().to_owned(), e.partition())).or_insert(o);
                *next = (*next).max(o);
            }
        }
        Ok(())
    }

    /// Hands `output` to the producer, waiting while its queue is full (a long transaction
    /// on a slow broker) rather than failing the transaction.
    fn send(&mut self, producer: &FutureProducer, config: &InferenceConfig, output: Output) -> anyhow::Result<()> {
        let mut record = output.record(config);
        let future = loop {
            match producer.send_result(record) {
                Ok(f) => break f,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(e.into()),
            }
        };
        self.pending.push(future);
        self.answered.push((output.class, output.request_timestamp_ms));
        Ok(())
    }

    fn offsets(&self) -> anyhow::Result<TopicPartitionList> {
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), offset) in &self.next {
            tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
        }
        Ok(tpl)
    }
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
