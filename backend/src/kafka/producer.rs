//! Producers whose acknowledgements a thread of their own serves, waiting in long polls.
//!
//! rdkafka's `ThreadedProducer` (and `FutureProducer`, built on it) polls every 100 ms, and
//! each poll ends in a busy wait: its deadline is turned into whole milliseconds for
//! librdkafka, so the last fraction of a millisecond is spent polling with a zero timeout,
//! over and over. That is a millisecond of a core every 100 ms per producer, some 1 % of a
//! core each while the lab idles (measured with `perf`: `clock_gettime` in the "producer
//! polling thread"). Polling in waits of [`POLL`] costs the same millisecond five times less
//! often. Acknowledgements are not delayed by it: a poll returns each event as it comes.
//!
//! - [`Polled`]: a `BaseProducer` and its polling thread, for the services' producers.
//! - [`AsyncProducer`]: sends whose acknowledgement can be awaited, for the web API.

use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long one poll of the acknowledgement thread waits; also how long dropping a producer
/// may wait for that thread.
pub const POLL: Duration = Duration::from_millis(500);

/// A `BaseProducer` whose acknowledgements its own thread serves (see the module's doc).
/// Dereferences to the `BaseProducer`: send, flush and the rest are its own.
pub struct Polled<C: ProducerContext + 'static> {
    producer: Arc<BaseProducer<C>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<C: ProducerContext + 'static> Polled<C> {
    pub fn create(config: &ClientConfig, context: C) -> KafkaResult<Polled<C>> {
        let producer = Arc::new(BaseProducer::from_config_and_context(config, context)?);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (producer, stop) = (producer.clone(), stop.clone());
            std::thread::Builder::new()
                .name("producer acks".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        producer.poll(POLL);
                    }
                })
                .map_err(|e| KafkaError::ClientCreation(format!("cannot start the producer's thread: {e}")))?
        };
        Ok(Polled { producer, stop, thread: Some(thread) })
    }

    /// Waits until every record handed to the producer is acknowledged (or has failed), up to
    /// `timeout`. Called instead of `BaseProducer::flush`, which this shadows: rust-rdkafka's
    /// flush polls the producer's queue in waits of up to 100 ms until nothing is in flight,
    /// and here this producer's own thread takes the acknowledgements from that queue, so the
    /// flush's wait often ran its whole 100 ms for nothing. In the inference service's
    /// transactions (`commit_transaction` flushes first) a quarter of the commits on one Kafka
    /// node took 101 ms instead of 1–5 (librdkafka's log, `-X debug=eos`).
    pub fn flush(&self, timeout: Duration) -> KafkaResult<()> {
        let deadline = Instant::now() + timeout;
        while self.producer.in_flight_count() > 0 {
            if Instant::now() >= deadline {
                return Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut));
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        Ok(())
    }
}

impl<C: ProducerContext + 'static> Deref for Polled<C> {
    type Target = BaseProducer<C>;

    fn deref(&self) -> &BaseProducer<C> {
        &self.producer
    }
}

impl<C: ProducerContext + 'static> Drop for Polled<C> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Where an acknowledged record was stored: its partition and offset.
pub type Stored = (i32, i64);

type Reply = oneshot::Sender<Result<Stored, KafkaError>>;

/// Hands each acknowledgement to the one waiting for it.
pub struct Replies;

impl ClientContext for Replies {}

impl ProducerContext for Replies {
    type DeliveryOpaque = Box<Reply>;

    fn delivery(&self, result: &DeliveryResult<'_>, reply: Box<Reply>) {
        use rdkafka::message::Message;
        let answer = match result {
            Ok(m) => Ok((m.partition(), m.offset())),
            Err((e, _)) => Err(e.clone()),
        };
        // The sender may have stopped waiting; nothing is lost by not telling it.
        let _ = reply.send(answer);
    }
}

/// A record to send: the parts the lab's API and its re-send use.
#[derive(Default)]
pub struct Outgoing<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Option<OwnedHeaders>,
    pub partition: Option<i32>,
}

/// A producer whose sends return the acknowledgement to await, as rdkafka's `FutureProducer`
/// does, polled by a [`Polled`] thread. Clones share the producer.
#[derive(Clone)]
pub struct AsyncProducer(Arc<Polled<Replies>>);

impl AsyncProducer {
    pub fn create(config: &ClientConfig) -> KafkaResult<AsyncProducer> {
        Ok(AsyncProducer(Arc::new(Polled::create(config, Replies)?)))
    }

    /// Sends `record` to `topic` and waits for its acknowledgement. While librdkafka's queue
    /// is full it waits for room, at most `queue_timeout`, as `FutureProducer::send` does.
    pub async fn send(&self, topic: &str, record: Outgoing<'_>, queue_timeout: Duration) -> Result<Stored, KafkaError> {
        let (tx, rx) = oneshot::channel();
        let mut r: BaseRecord<'_, [u8], [u8], Box<Reply>> = BaseRecord::with_opaque_to(topic, Box::new(tx));
        r.key = record.key;
        r.payload = record.value;
        r.headers = record.headers;
        r.partition = record.partition;
        let give_up = Instant::now() + queue_timeout;
        loop {
            match self.0.send(r) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) if Instant::now() < give_up => {
                    r = back;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((e, _)) => return Err(e),
            }
        }
        rx.await.unwrap_or(Err(KafkaError::Canceled))
    }
}
