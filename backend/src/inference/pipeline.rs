//! The at-least-once service as a pipeline: the consumer keeps reading while earlier
//! outputs are still on their way, so the broker's round trip is paid once, not per round.
//!
//! The work is shared by threads:
//! - the **reader** (the caller's thread) polls the consumer, records each request's offset
//!   in the [`Windows`], hands batches on ([`Handoff`]), and commits what the windows allow
//!   on a timer, on revocation and at the end;
//! - the **answering threads** ([`super::answering`]), one per core, parse and predict, each
//!   batch on whichever is free;
//! - the **sender** produces each batch's outputs in the order the batches were read, so
//!   outputs keep the order of their partition;
//! - the **producer's thread** ([`Polled`]) receives acknowledgements and
//!   marks them in the windows.
//!
//! Backpressure: when `max_in_flight` outputs are unacknowledged (the producer's queue is
//! full, or the broker is slow) the reader waits for acknowledgements. When the window
//! stays full for a second it pauses its partitions and keeps polling, so rebalances are
//! still served; it resumes at half.

use super::answer::now_ms;
use super::answering::{Answering, Slot};
use super::config::{InferenceConfig, next_batch};
use super::idle::Idle;
use super::metrics::InferenceMetrics;
use super::window::Windows;
use crate::kafka::KafkaConfig;
use crate::kafka::log::LogStorage;
use crate::kafka::producer::Polled;
use crate::shutdown::Shutdown;
use anyhow::Context;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamlab_model::{Artifact, Class};

/// How often acknowledged work is committed: what a crash may answer twice.
const COMMIT_EVERY: Duration = Duration::from_millis(200);
/// How long the in-flight window may stay full before the reader pauses its partitions.
const PAUSE_AFTER: Duration = Duration::from_secs(1);
/// How long a revocation waits for the revoked partitions' outputs before committing.
const DRAIN_ON_REVOKE: Duration = Duration::from_secs(10);

/// What the reader, the worker and the producer's thread share.
struct Shared {
    topic: String,
    windows: Mutex<Windows>,
    /// The first delivery failure; it ends the session.
    failed: Mutex<Option<String>>,
    /// Set after each rebalance: the reader resumes what it paused of the old assignment.
    rebalanced: AtomicBool,
    metrics: Arc<InferenceMetrics>,
}

impl Shared {
    fn failure(&self) -> Option<String> {
        self.failed.lock().expect("failure lock").clone()
    }

    /// Commits what the windows allow (only what changed).
    fn commit<C: ConsumerContext>(&self, consumer: &BaseConsumer<C>, mode: CommitMode) -> anyhow::Result<()> {
        let offsets = self.windows.lock().expect("windows lock").take_commit();
        if offsets.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (partition, offset) in offsets {
            tpl.add_partition_offset(&self.topic, partition, Offset::Offset(offset))?;
        }
        consumer.commit(&tpl, mode).context("cannot commit offsets")
    }
}

/// What the producer's thread needs to know about an output when it is acknowledged.
struct Sent {
    partition: i32,
    offset: i64,
    class: Option<Class>,
    request_timestamp_ms: Option<i64>,
}

struct Acks(Arc<Shared>);

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = Box<Sent>;

    fn delivery(&self, result: &DeliveryResult<'_>, sent: Box<Sent>) {
        match result {
            Ok(_) => {
                self.0.windows.lock().expect("windows lock").ack(sent.partition, sent.offset);
                self.0.metrics.answered(sent.class, sent.request_timestamp_ms, now_ms());
            }
            Err((e, _)) => {
                let mut failed = self.0.failed.lock().expect("failure lock");
                failed.get_or_insert_with(|| format!("an output was not acknowledged: {e}"));
            }
        }
    }
}

/// Commits on revocation, after the revoked partitions' outputs are acknowledged, so the
/// next owner starts where this one really stopped.
struct Rebalances(Arc<Shared>);

impl ClientContext for Rebalances {}

impl ConsumerContext for Rebalances {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else { return };
        let revoked: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        let deadline = Instant::now() + DRAIN_ON_REVOKE;
        while self.0.windows.lock().expect("windows lock").in_flight_of(&revoked) > 0
            && Instant::now() < deadline
            && self.0.failure().is_none()
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Err(e) = self.0.commit(consumer, CommitMode::Sync) {
            tracing::warn!(
                error = format!("{e:#}"),
                "commit on revocation failed; the next owner may answer some requests again"
            );
        }
        self.0.windows.lock().expect("windows lock").forget(&revoked);
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        // librdkafka keeps a partition paused through a rebalance (Java's consumer does not).
        // A window that was full when a broker went away paused the partitions; the group
        // revoked them, then assigned them again still paused, and the service sat idle
        // with a backlog (seen on three Kafka nodes with one killed). A new assignment
        // starts resumed, whatever the reader or the idle wait did to the old one.
        if let Rebalance::Assign(assigned) = rebalance
            && let Err(e) = consumer.resume(assigned)
        {
            tracing::warn!(error = %e, "cannot resume the new assignment");
        }
        self.0.rebalanced.store(true, Ordering::Relaxed);
    }
}

/// One session of the pipelined service; returns when `shutdown` is triggered (after a
/// final commit) or with the first error.
pub(super) fn session(
    kafka: &KafkaConfig,
    config: &InferenceConfig,
    model: &Artifact,
    metrics: &Arc<InferenceMetrics>,
    shutdown: &Shutdown,
    arrivals: Option<&LogStorage>,
) -> anyhow::Result<()> {
    let shared = Arc::new(Shared {
        topic: config.requests.clone(),
        windows: Mutex::new(Windows::default()),
        failed: Mutex::new(None),
        rebalanced: AtomicBool::new(false),
        metrics: metrics.clone(),
    });
    let consumer: BaseConsumer<Rebalances> = config
        .consumer_config(kafka)
        .create_with_context(Rebalances(shared.clone()))
        .context("cannot create the inference consumer")?;
    consumer.subscribe(&[&config.requests]).context("cannot subscribe to the request topic")?;
    let producer = Polled::create(&config.producer_config(kafka), Acks(shared.clone()))
        .context("cannot create the inference producer")?;
    let version = model.version();

    // A few batches may wait for an answer; more would only add latency.
    let (order, slots) = sync_channel::<Slot>(4);
    let sender_stop = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        let answering = Answering::start(scope, model, &version, metrics)?;
        tracing::info!(group = %config.group, topic = %config.requests, model = %version, max_batch = config.max_batch, max_in_flight = config.max_in_flight, linger_ms = config.linger_ms, answering = answering.threads, "inference running (pipelined, at least once)");
        let handoff = Handoff { answering, order };
        // Named, so a profiler or `top -H` shows where the service's time goes.
        let named = |name: String| std::thread::Builder::new().name(name);
        let sender = named("send".to_owned()).spawn_scoped(scope, || {
            // Slots come in read order; waiting on each in turn keeps every partition's
            // outputs in the order of its requests, whichever thread answered first.
            for slot in slots {
                let Ok((batch, outputs)) = slot.recv() else {
                    // Only a panic in an answering thread drops a slot unanswered.
                    shared
                        .failed
                        .lock()
                        .expect("failure lock")
                        .get_or_insert_with(|| "an answering thread stopped".to_owned());
                    return;
                };
                for (m, o) in batch.iter().zip(outputs) {
                    let sent = Box::new(Sent {
                        partition: m.partition(),
                        offset: m.offset(),
                        class: o.class,
                        request_timestamp_ms: o.request_timestamp_ms,
                    });
                    let mut record = BaseRecord::with_opaque_to(o.destination.topic(config), sent)
                        .payload(o.payload.as_slice())
                        .headers(o.headers);
                    if let Some(k) = m.key() {
                        record = record.key(k);
                    }
                    if let Err(e) = send_retrying(&producer, record, &sender_stop) {
                        shared.failed.lock().expect("failure lock").get_or_insert_with(|| e);
                        return;
                    }
                }
            }
        });
        let sender = sender.context("cannot start the sending thread")?;
        let mut idle = arrivals.map(|logs| Idle::new(logs, metrics));
        let read = read_loop(&consumer, &shared, config.max_batch, config.max_in_flight, shutdown, &handoff, &mut idle);
        metrics.idle.store(false, std::sync::atomic::Ordering::Relaxed);
        drop(handoff);
        if read.is_err() || shared.failure().is_some() {
            sender_stop.store(true, Ordering::Relaxed);
        }
        let _ = sender.join();
        read
    });
    // What was handed to the sender is produced; wait for its acknowledgements so the
    // final commit covers it.
    let _ = producer.flush(Duration::from_secs(10));
    let committed = shared.commit(&consumer, CommitMode::Sync);
    result?;
    if let Some(failure) = shared.failure() {
        anyhow::bail!(failure);
    }
    committed
}

/// How the reader hands batches on: the batch goes to whichever answering thread is free,
/// and the slot for its answer goes, in read order, to the sender.
struct Handoff {
    answering: Answering,
    order: SyncSender<Slot>,
}

impl Handoff {
    /// False once the sender has stopped. Blocks while four batches wait for the sender.
    fn send(&self, batch: Vec<OwnedMessage>) -> bool {
        self.order.send(self.answering.submit(batch)).is_ok()
    }
}

/// Sends one output, waiting while the producer's local queue is full (acknowledgements
/// drain it). Gives up with a reason on any other error, or when `stop` is set.
fn send_retrying(
    producer: &Polled<Acks>,
    mut record: BaseRecord<'_, [u8], [u8], Box<Sent>>,
    stop: &AtomicBool,
) -> Result<(), String> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                if stop.load(Ordering::Relaxed) {
                    return Err("stopped while the producer's queue was full".to_owned());
                }
                record = back;
                std::thread::sleep(Duration::from_micros(500));
            }
            Err((e, _)) => return Err(format!("cannot produce an output: {e}")),
        }
    }
}

fn read_loop(
    consumer: &BaseConsumer<Rebalances>,
    shared: &Shared,
    max_batch: usize,
    max_in_flight: usize,
    shutdown: &Shutdown,
    handoff: &Handoff,
    idle: &mut Option<Idle<'_>>,
) -> anyhow::Result<()> {
    let mut last_commit = Instant::now();
    let mut paused = false;
    let mut full_since: Option<Instant> = None;
    while !shutdown.is_triggered() && shared.failure().is_none() {
        if shared.rebalanced.swap(false, Ordering::Relaxed) {
            // The new assignment was resumed as it was made (post_rebalance).
            paused = false;
            if let Some(idle) = idle.as_mut() {
                idle.reassigned(consumer)?;
            }
        }
        if let Some(idle) = idle.as_mut() {
            idle.wait(consumer)?;
        }
        let idling = idle.as_ref().is_some_and(Idle::is_paused);
        if last_commit.elapsed() >= COMMIT_EVERY {
            shared.commit(consumer, CommitMode::Async)?;
            last_commit = Instant::now();
        }
        let in_flight = shared.windows.lock().expect("windows lock").in_flight();
        if in_flight >= max_in_flight {
            // Full: wait for acknowledgements without polling. Pausing instead makes
            // librdkafka drop what it has fetched ahead and fetch it again on resume, which
            // cut the service to a quarter of its speed when the broker's acknowledgements
            // set the pace. Only a window that stays full (a stalled broker) pauses, so that
            // polling goes on and rebalances are served.
            let since = *full_since.get_or_insert_with(Instant::now);
            if since.elapsed() < PAUSE_AFTER {
                std::thread::sleep(Duration::from_micros(200));
                continue;
            }
            if !paused {
                consumer.pause(&consumer.assignment()?)?;
                paused = true;
            }
        } else {
            full_since = None;
            if paused && in_flight <= max_in_flight / 2 {
                consumer.resume(&consumer.assignment()?)?;
                paused = false;
            }
        }
        // While paused, poll briefly: it serves rebalances and returns nothing.
        let wait = if idling {
            Duration::ZERO
        } else if paused {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(100)
        };
        let batch = next_batch(consumer, max_batch.min(max_in_flight.saturating_sub(in_flight).max(1)), wait);
        if let Some(idle) = idle.as_mut() {
            if !batch.is_empty() {
                idle.busy();
            } else if !paused && in_flight == 0 {
                idle.maybe_pause(consumer)?;
            }
        }
        if !batch.is_empty() {
            {
                let mut windows = shared.windows.lock().expect("windows lock");
                for m in &batch {
                    windows.read(m.partition(), m.offset());
                }
            }
            shared.metrics.requests.fetch_add(batch.len() as u64, Ordering::Relaxed);
            shared.metrics.batch_size.observe(batch.len() as f64);
            if !handoff.send(batch) {
                break; // the sender stopped on a failure
            }
        }
    }
    Ok(())
}
