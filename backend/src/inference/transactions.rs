//! Exactly once (`--exactly-once`): consume → answer ([`super::answer`]) → Kafka transactions
//! holding the outputs and the consumer's offsets. A transaction goes on taking batches for
//! `commit_interval` (100 ms, as Kafka Streams does under exactly once) or until
//! `max_in_flight` outputs, its outputs on their way meanwhile, then commits them all with
//! the offsets: one commit, which costs the broker several writes, carries thousands of
//! requests rather than one batch. Nothing is in flight across transactions. It needs a
//! broker with transactions (Kafka, Redpanda); the embedded broker refuses them.
//!
//! The calls that talk to the coordinators run on a thread of their own and are given up
//! after their timeout and a margin ([`bounded`]): librdkafka 2.10 and later can wait
//! forever in them when the coordinator's broker has left the cluster
//! (confluentinc/librdkafka#5511, seen here as a stall of minutes after a broker of three was
//! killed). The session then ends; the next one's producer, with the same transactional id,
//! fences the stuck one and its open transaction is aborted, so exactly once still holds.

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
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use streamlab_model::Artifact;

/// One session of transactions; returns when `shutdown` is triggered or with the first error
/// (the transaction in flight is then aborted, and its requests answered again by the next
/// session).
pub(super) fn session(
    kafka: &KafkaConfig,
    config: &InferenceConfig,
    transactional_id: &str,
    model: &Artifact,
    metrics: &InferenceMetrics,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let consumer: BaseConsumer =
        config.consumer_config(kafka).create().context("cannot create the inference consumer")?;
    consumer.subscribe(&[&config.requests]).context("cannot subscribe to the request topic")?;
    let producer = Arc::new(transactional_producer(kafka, config, transactional_id)?);
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
            let offsets = txn.offsets()?;
            let p = producer.clone();
            bounded("send_offsets_to_transaction", move || {
                p.send_offsets_to_transaction(&offsets, &metadata, TIMEOUT)
            })??;
            let p = producer.clone();
            bounded("commit_transaction", move || p.commit_transaction(TIMEOUT))??;
            for r in futures::executor::block_on(join_all(std::mem::take(&mut txn.pending))) {
                r.map_err(|_| anyhow::anyhow!("delivery cancelled"))?.map_err(|(e, _)| e)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            let p = producer.clone();
            let _ = bounded("abort_transaction", move || p.abort_transaction(TIMEOUT));
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

/// How long a transactional call may take (librdkafka caps it to `transaction.timeout.ms`).
const TIMEOUT: Duration = Duration::from_secs(30);

/// How long a transactional call is waited for: its own timeout and a margin.
const GIVEN_UP_AFTER: Duration = Duration::from_secs(45);

/// Runs a call to the coordinators on a thread of its own and waits for it [`GIVEN_UP_AFTER`].
/// A call that has not returned by then is left to its thread (see the module's
/// documentation), and this says so.
fn bounded<T: Send + 'static>(what: &'static str, call: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    bounded_by(what, GIVEN_UP_AFTER, call)
}

fn bounded_by<T: Send + 'static>(
    what: &'static str,
    limit: Duration,
    call: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(format!("txn-{what}"))
        .spawn(move || {
            let _ = tx.send(call());
        })
        .context("cannot start a thread for a transactional call")?;
    rx.recv_timeout(limit).map_err(|_| {
        anyhow::anyhow!(
            "librdkafka's {what} did not return within {:?} (its timeout is {:?}): the \
             coordinator's broker may have left the cluster (confluentinc/librdkafka#5511); a new \
             producer with the same transactional id fences this one",
            limit,
            TIMEOUT
        )
    })
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

fn transactional_producer(kafka: &KafkaConfig, config: &InferenceConfig, id: &str) -> anyhow::Result<FutureProducer> {
    let mut c = config.producer_config(kafka);
    c.set("transactional.id", id);
    let producer: FutureProducer = c.create().context("cannot create the inference producer")?;
    producer.init_transactions(TIMEOUT).context(
        "the broker refused transactions (--exactly-once needs Kafka or Redpanda; the embedded broker has none)",
    )?;
    Ok(producer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_returns_in_time_gives_its_result() {
        assert_eq!(bounded_by("commit_transaction", Duration::from_secs(5), || 42).unwrap(), 42);
    }

    #[test]
    fn a_call_that_does_not_return_is_given_up_and_named() {
        let started = Instant::now();
        let stuck = bounded_by("send_offsets_to_transaction", Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(3600));
        });
        let error = stuck.unwrap_err().to_string();
        assert!(started.elapsed() < Duration::from_secs(5), "waited for the stuck call");
        assert!(error.contains("send_offsets_to_transaction did not return within 50ms"), "{error}");
        assert!(error.contains("librdkafka#5511"), "{error}");
    }
}
