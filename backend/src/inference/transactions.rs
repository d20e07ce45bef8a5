//! Exactly once (`--exactly-once`): consume → answer ([`super::answering`]) → Kafka
//! transactions holding the outputs and the consumer's offsets. A transaction goes on taking
//! batches for `commit_interval` (100 ms, as Kafka Streams does under exactly once) or until
//! `max_in_flight` outputs, its outputs on their way meanwhile, then commits them all with
//! the offsets: one commit, which costs the broker several writes, carries thousands of
//! requests rather than one batch. It needs a broker with transactions (Kafka, Redpanda);
//! the embedded broker refuses them.
//!
//! A thread of its own reads, and the answering threads work up to [`AHEAD`] batches ahead of
//! the one being produced, also while a transaction commits: the coordinators' round trips no
//! longer stop the reading and the forest. A batch belongs to the transaction that produces
//! its outputs, and its offsets go into that transaction, so one read during a commit goes
//! into the next. A transaction that fails is aborted and the session ends; the next one
//! starts from the committed offsets, so the batches read ahead are read again.
//!
//! The calls that talk to the coordinators run on a thread of their own and are given up
//! after their timeout and a margin ([`bounded`]): librdkafka 2.10 and later can wait
//! forever in them when the coordinator's broker has left the cluster
//! (confluentinc/librdkafka#5511, seen here as a stall of minutes after a broker of three was
//! killed). The session then ends; the next one's producer, with the same transactional id,
//! fences the stuck one and its open transaction is aborted, so exactly once still holds.

use super::answer::{Output, next_offsets, now_ms};
use super::answering::{Answered, Answering, Slot};
use super::config::{InferenceConfig, next_batch};
use super::metrics::InferenceMetrics;
use crate::kafka::KafkaConfig;
use crate::kafka::producer::Polled;
use crate::shutdown::Shutdown;
use anyhow::Context;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};
use streamlab_model::Artifact;

/// How many batches may be read and answered ahead of the one being produced: enough to keep
/// the answering threads busy through a commit, few enough that little is read twice after a
/// failure.
const AHEAD: usize = 8;

/// The transactional producer. Acknowledgements need no handling of their own:
/// `commit_transaction` waits for every output and fails if one failed.
type TxnProducer = Polled<DefaultProducerContext>;

/// One session of transactions; returns when `shutdown` is triggered or with the first error
/// (the transaction in flight is then aborted, and its requests answered again by the next
/// session).
///
/// Three kinds of thread: the **reader** polls the consumer and gives each batch to the
/// answering threads, its slot to the caller's thread in read order; the **answering
/// threads** parse and predict; the caller's thread produces each batch's outputs in a
/// transaction and commits. Produce and commit on one thread, read on another: a profile of
/// the transactions on one thread had it busy reading a quarter of the time, producing a
/// third and waiting for commits a fifth, the pace of the whole service.
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
    let stop_reading = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let answering = Answering::start(scope, model, &version, metrics)?;
        tracing::info!(group = %config.group, topic = %config.requests, model = %version, answering = answering.threads, "inference running (exactly once)");
        let (order, slots) = sync_channel::<Slot>(AHEAD);
        let (consumer, stop) = (&consumer, &stop_reading);
        std::thread::Builder::new()
            .name("read".to_owned())
            .spawn_scoped(scope, move || {
                while !stop.load(Ordering::Relaxed) && !shutdown.is_triggered() {
                    let batch = next_batch(consumer, config.max_batch, Duration::from_millis(100));
                    // Fails once the transactions have ended.
                    if !batch.is_empty() && order.send(answering.submit(batch)).is_err() {
                        return;
                    }
                }
            })
            .context("cannot start the reading thread")?;
        let result = transactions(consumer, &slots, &producer, config, metrics, shutdown);
        stop_reading.store(true, Ordering::Relaxed);
        // A reader waiting for room in the channel learns it has ended.
        drop(slots);
        result
    })
}

/// The oldest batch read, answered, or None after `wait` or once the reader has stopped.
fn next_answered(slots: &Receiver<Slot>, wait: Duration) -> anyhow::Result<Option<Answered>> {
    let slot = match slots.recv_timeout(wait) {
        Ok(slot) => slot,
        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return Ok(None),
    };
    // Only a panic in an answering thread drops a slot unanswered.
    slot.recv().map(Some).map_err(|_| anyhow::anyhow!("an answering thread stopped"))
}

fn transactions(
    consumer: &BaseConsumer,
    slots: &Receiver<Slot>,
    producer: &Arc<TxnProducer>,
    config: &InferenceConfig,
    metrics: &InferenceMetrics,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    while !shutdown.is_triggered() {
        let Some(mut answered) = next_answered(slots, Duration::from_millis(100))? else { continue };
        producer.begin_transaction()?;
        let mut txn = Transaction::default();
        let result = (|| -> anyhow::Result<()> {
            let opened = Instant::now();
            loop {
                let (batch, outputs) = answered;
                metrics.requests.fetch_add(batch.len() as u64, Ordering::Relaxed);
                metrics.batch_size.observe(batch.len() as f64);
                txn.read(&batch)?;
                for (m, o) in batch.iter().zip(outputs) {
                    txn.send(producer, config, m.key(), o)?;
                }
                let left = config.commit_interval.saturating_sub(opened.elapsed());
                if left.is_zero() || txn.answered.len() >= config.max_in_flight || shutdown.is_triggered() {
                    break;
                }
                match next_answered(slots, left)? {
                    Some(next) => answered = next,
                    None => break,
                }
            }
            // Meanwhile the reader and the answering threads go on with the next transaction's
            // batches.
            let metadata = consumer.group_metadata().context("the consumer has no group metadata")?;
            let offsets = txn.offsets()?;
            let p = producer.clone();
            bounded("commit_transaction", move || -> anyhow::Result<()> {
                p.send_offsets_to_transaction(&offsets, &metadata, TIMEOUT)?;
                // `Polled::flush`: then the flush inside `commit_transaction` finds nothing in
                // flight and does not wait.
                p.flush(TIMEOUT)?;
                p.commit_transaction(TIMEOUT)?;
                Ok(())
            })??;
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

/// What one open transaction holds: what to count once it is committed, and the next offset
/// per request partition.
#[derive(Default)]
struct Transaction {
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

    /// Hands `output` to the producer under its request's key, waiting while its queue is
    /// full (a long transaction on a slow broker) rather than failing the transaction.
    fn send(
        &mut self,
        producer: &TxnProducer,
        config: &InferenceConfig,
        key: Option<&[u8]>,
        output: Output,
    ) -> anyhow::Result<()> {
        let mut record =
            BaseRecord::to(output.destination.topic(config)).payload(output.payload.as_slice()).headers(output.headers);
        if let Some(k) = key {
            record = record.key(k);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
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

fn transactional_producer(kafka: &KafkaConfig, config: &InferenceConfig, id: &str) -> anyhow::Result<TxnProducer> {
    let mut c = config.producer_config(kafka);
    c.set("transactional.id", id);
    let producer = Polled::create(&c, DefaultProducerContext).context("cannot create the inference producer")?;
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
