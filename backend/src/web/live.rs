//! Live tails for the websockets: each socket holds several subscriptions; each subscription
//! is fed by a tail (one consumer) into a bounded buffer, drained into at most one frame every
//! 50 ms. Browsers tailing a whole topic from "latest" or from its newest few records (the
//! topic page's and the inference page's default) share one tail, so sixty students watching
//! one topic cost one consumer and one JSON encoding per record, not sixty consumers fetching
//! all the time. The newest records come from a one-off read, joined to the shared tail
//! without a record twice or a record missed.
//!
//! A tail never waits for a browser. When a browser reads more slowly than records arrive,
//! its buffer fills and the oldest records are passed over and counted; the next frame says
//! how many. A tail therefore never stops at a "max results", never grows without bound,
//! and always shows the newest records.
//!
//! A subscription may carry a [`Filter`]: the tail tests each record against it before the
//! record is encoded or buffered, so a browser receives only what matched, and every frame
//! says how many records the subscription has scanned and how many matched.

use crate::kafka::KafkaConfig;
use crate::kafka::records::{self, Span};
use crate::kafka::registry::{Registry, Schemas};
use crate::shutdown::Shutdown;
use rdkafka::consumer::BaseConsumer;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write;
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;
use streamlab_wire::filter::Filter;
use streamlab_wire::{RecordView, StartPosition};

/// Records and bytes a subscription may hold for a slow browser.
pub const BUFFER_RECORDS: usize = 2_000;
pub const BUFFER_BYTES: usize = 8 << 20;
/// Records per subscription in one frame, so a frame stays a few hundred KB at most.
pub const FRAME_RECORDS: usize = 500;
/// "The newest N per partition" shares the topic's tail up to this N (the pages ask for 10
/// or 20); a longer backlog gets a tail of its own, which streams it through the buffer.
pub const SHARED_NEWEST: i64 = 100;

/// A record as it goes into a frame: the `RecordView` JSON, serialised once however many
/// browsers receive it.
type Encoded = Arc<str>;

#[derive(Default)]
struct Buffer {
    records: VecDeque<Encoded>,
    bytes: usize,
    skipped: u64,
    filter: Option<Filter>,
    /// Records the tail read for this subscription, and how many of them the filter let
    /// through, since it began.
    scanned: u64,
    matched: u64,
    /// `scanned` when the last frame was sent: a filter that matches nothing still gets a
    /// frame now and then saying how many records it passed over.
    reported: u64,
    /// Per partition, where a backlog read for this subscription ended: the shared tail's
    /// records below it were in the backlog.
    floors: HashMap<i32, i64>,
    /// While the backlog is read, what the shared tail brings meanwhile, sorted out after.
    held: Option<Vec<RecordView>>,
}

impl Buffer {
    /// A record from the tail: counted, tested against the filter, encoded once (into
    /// `encoded`, for the other subscriptions) and kept.
    fn offer(&mut self, view: &RecordView, encoded: &mut Option<Encoded>) {
        if self.floors.get(&view.partition).is_some_and(|floor| view.offset < *floor) {
            return;
        }
        if let Some(held) = &mut self.held {
            held.push(view.clone());
            return;
        }
        self.keep(view, encoded);
    }

    fn keep(&mut self, view: &RecordView, encoded: &mut Option<Encoded>) {
        self.scanned += 1;
        if self.filter.as_ref().is_none_or(|f| f.matches(view)) {
            self.matched += 1;
            let e = encoded.get_or_insert_with(|| serde_json::to_string(view).expect("records serialise").into());
            self.push(e.clone());
        }
    }

    /// The backlog read up to `ends`, then what the tail brought while it was read and
    /// the backlog does not hold.
    fn settle(&mut self, backlog: Vec<RecordView>, ends: &[Span]) {
        for view in &backlog {
            self.keep(view, &mut None);
        }
        self.floors = ends.iter().map(|s| (s.partition, s.end)).collect();
        for view in self.held.take().unwrap_or_default() {
            self.offer(&view, &mut None);
        }
    }

    fn push(&mut self, r: Encoded) {
        self.bytes += r.len();
        self.records.push_back(r);
        while self.records.len() > BUFFER_RECORDS || (self.bytes > BUFFER_BYTES && self.records.len() > 1) {
            let old = self.records.pop_front().expect("not empty");
            self.bytes -= old.len();
            self.skipped += 1;
        }
    }

    fn drain(&mut self) -> (Vec<Encoded>, u64) {
        let n = self.records.len().min(FRAME_RECORDS);
        let records: Vec<Encoded> = self.records.drain(..n).collect();
        self.bytes -= records.iter().map(|r| r.len()).sum::<usize>();
        self.reported = self.scanned;
        (records, std::mem::take(&mut self.skipped))
    }
}

type Readers = Arc<Mutex<Vec<Weak<Mutex<Buffer>>>>>;

/// One consumer reading a topic into the buffers of every subscription attached to it. It
/// stops when its last subscription lets go, or when the lab stops.
pub struct Tail {
    readers: Readers,
    stop: Shutdown,
}

impl Drop for Tail {
    fn drop(&mut self) {
        self.stop.trigger();
    }
}

impl Tail {
    fn start(
        topic: &str,
        consumer: BaseConsumer,
        schemas: Option<Arc<Registry>>,
        stop: Shutdown,
    ) -> (Arc<Tail>, JoinHandle<()>) {
        let tail = Arc::new(Tail { readers: Arc::default(), stop: stop.clone() });
        let readers = tail.readers.clone();
        let thread = std::thread::Builder::new()
            .name(format!("tail-{topic}"))
            .spawn(move || {
                while !stop.is_triggered() {
                    match consumer.poll(Duration::from_millis(100)) {
                        Some(Ok(m)) => {
                            let view = records::view(&m, schemas.as_deref().map(|r| r as &dyn Schemas));
                            // Encoded at most once, and only when some subscription takes it.
                            let mut encoded: Option<Encoded> = None;
                            readers.lock().expect("readers lock").retain(|r| match r.upgrade() {
                                Some(buffer) => {
                                    buffer.lock().expect("buffer lock").offer(&view, &mut encoded);
                                    true
                                }
                                None => false,
                            });
                        }
                        Some(Err(e)) => tracing::debug!("live tail: {e}"),
                        None => {}
                    }
                }
            })
            .expect("a thread for the tail");
        (tail, thread)
    }

    /// A buffer fed by this tail; `holding` while a backlog is read for it.
    fn attach(&self, filter: Option<Filter>, holding: bool) -> Arc<Mutex<Buffer>> {
        let held = holding.then(Vec::new);
        let buffer = Arc::new(Mutex::new(Buffer { filter, held, ..Buffer::default() }));
        self.readers.lock().expect("readers lock").push(Arc::downgrade(&buffer));
        buffer
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("at most {0} subscriptions per socket")]
    TooMany(usize),
    #[error("subscription {0} already exists; unsubscribe first")]
    Taken(u32),
    #[error("{0}")]
    Records(#[from] records::RecordsError),
    #[error("{0}")]
    Failed(String),
}

/// The server's tails. Every browser tailing a topic from "latest" on all partitions (the
/// common case: a class watching one topic) shares one consumer and one encoding per record;
/// other positions get a tail of their own.
pub struct Tails {
    kafka: KafkaConfig,
    /// The lab's Schema Registry, whose records the tails decode.
    schemas: Option<Arc<Registry>>,
    shared: Mutex<HashMap<String, Weak<Tail>>>,
    /// The lab's; each tail holds a child of it.
    shutdown: Shutdown,
    /// The tails' threads, joined when the lab stops so none outlives the broker.
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Tails {
    pub fn new(kafka: KafkaConfig, schemas: Option<Arc<Registry>>, shutdown: Shutdown) -> Self {
        Tails { kafka, schemas, shared: Mutex::new(HashMap::new()), shutdown, threads: Mutex::default() }
    }

    /// Waits for every tail's thread; each ends within one poll (100 ms) of the lab's
    /// shutdown. Blocking.
    pub fn join(&self) {
        let threads = std::mem::take(&mut *self.threads.lock().expect("threads lock"));
        for t in threads {
            let _ = t.join();
        }
    }

    /// A subscription's feed of `topic` from `from`, checking the topic and partitions
    /// exist: a buffer fed by a tail, the topic's shared one where it can be. Blocking: it
    /// may talk to the broker.
    pub fn open(
        &self,
        topic: &str,
        from: StartPosition,
        partitions: Option<&[i32]>,
        filter: Option<Filter>,
    ) -> Result<Feed, SubscribeError> {
        match (from, partitions) {
            (StartPosition::Latest, None) => {
                let tail = self.shared(topic)?;
                let buffer = tail.attach(filter, false);
                Ok(Feed { tail, buffer })
            }
            (StartPosition::Newest { count }, None) if count <= SHARED_NEWEST => {
                let tail = self.shared(topic)?;
                // Attached first, holding what the tail brings: the backlog read next ends
                // at the high watermark then, so every record is in one or the other.
                let buffer = tail.attach(filter, true);
                let consumer = self.kafka.reader().map_err(records::RecordsError::from)?;
                let spans = records::assign(&consumer, topic, from, None)?;
                let mut backlog = Vec::new();
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                records::read_to_end(&consumer, &spans, deadline, |m| {
                    backlog.push(records::view(m, self.schemas.as_deref().map(|r| r as &dyn Schemas)));
                    true
                })
                .map_err(records::RecordsError::from)?;
                backlog.sort_by_key(|r| (r.timestamp_ms, r.partition, r.offset));
                buffer.lock().expect("buffer lock").settle(backlog, &spans);
                Ok(Feed { tail, buffer })
            }
            _ => {
                let tail = self.start(topic, from, partitions)?;
                let buffer = tail.attach(filter, false);
                Ok(Feed { tail, buffer })
            }
        }
    }

    /// The topic's tail from "latest" that subscriptions share, started if none runs.
    fn shared(&self, topic: &str) -> Result<Arc<Tail>, SubscribeError> {
        let mut shared = self.shared.lock().expect("tails lock");
        if let Some(tail) = shared.get(topic).and_then(Weak::upgrade) {
            return Ok(tail);
        }
        let tail = self.start(topic, StartPosition::Latest, None)?;
        shared.retain(|_, t| t.strong_count() > 0);
        shared.insert(topic.to_owned(), Arc::downgrade(&tail));
        Ok(tail)
    }

    /// A new tail (a consumer and its thread) of `topic` from `from`.
    fn start(&self, topic: &str, from: StartPosition, partitions: Option<&[i32]>) -> Result<Arc<Tail>, SubscribeError> {
        let consumer: BaseConsumer = self
            .kafka
            .client()
            .set("group.id", format!("streamlab-live-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "20")
            // librdkafka prefetches up to 64 MB per consumer by default; a tail shows the
            // newest records, so a small prefetch is enough and keeps fifty tails small.
            .set("queued.max.messages.kbytes", "2048")
            .create()
            .map_err(records::RecordsError::from)?;
        records::assign(&consumer, topic, from, partitions)?;
        let (tail, thread) = Tail::start(topic, consumer, self.schemas.clone(), self.shutdown.child());
        let mut threads = self.threads.lock().expect("threads lock");
        threads.retain(|t| !t.is_finished());
        threads.push(thread);
        Ok(tail)
    }
}

/// What a subscription reads: its buffer, and the tail that feeds it.
pub struct Feed {
    tail: Arc<Tail>,
    buffer: Arc<Mutex<Buffer>>,
}

struct Subscription {
    /// Held so the tail runs while a subscription uses it.
    _tail: Arc<Tail>,
    buffer: Arc<Mutex<Buffer>>,
}

/// One socket's subscriptions.
pub struct Subscriptions {
    max: usize,
    subs: BTreeMap<u32, Subscription>,
}

impl Subscriptions {
    pub fn new(max: usize) -> Self {
        Subscriptions { max, subs: BTreeMap::new() }
    }

    /// May subscription `id` be added?
    pub fn check(&self, id: u32) -> Result<(), SubscribeError> {
        if self.subs.contains_key(&id) {
            return Err(SubscribeError::Taken(id));
        }
        if self.subs.len() >= self.max {
            return Err(SubscribeError::TooMany(self.max));
        }
        Ok(())
    }

    /// Starts sending what `feed` (from [`Tails::open`]) receives.
    pub fn start(&mut self, id: u32, feed: Feed) {
        self.subs.insert(id, Subscription { _tail: feed.tail, buffer: feed.buffer });
    }

    /// Stops a subscription; false if there was none.
    pub fn unsubscribe(&mut self, id: u32) -> bool {
        self.subs.remove(&id).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// A `records` frame (the JSON of `ServerMessage::Records`) of what arrived since the
    /// last one, or `None` when nothing did. Written by hand to splice in the records'
    /// JSON, encoded once by their tail.
    pub fn frame(&self) -> Option<String> {
        let mut out = String::from(r#"{"type":"records","batches":["#);
        let mut any = false;
        for (id, s) in &self.subs {
            let mut buffer = s.buffer.lock().expect("buffer lock");
            let news = buffer.scanned > buffer.reported;
            let (records, skipped) = buffer.drain();
            let (scanned, matched) = (buffer.scanned, buffer.matched);
            drop(buffer);
            if records.is_empty() && skipped == 0 && !news {
                continue;
            }
            if any {
                out.push(',');
            }
            any = true;
            let _ = write!(
                out,
                r#"{{"subscription":{id},"skipped":{skipped},"scanned":{scanned},"matched":{matched},"records":["#
            );
            for (i, r) in records.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(r);
            }
            out.push_str("]}");
        }
        out.push_str("]}");
        any.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamlab_wire::{RecordView, ServerMessage};

    fn record(offset: i64, size: usize) -> Encoded {
        let view = RecordView {
            topic: "t".into(),
            partition: 0,
            offset,
            timestamp_ms: None,
            key: Some("k".repeat(size)),
            headers: vec![],
            value: None,
            size: 0,
        };
        serde_json::to_string(&view).unwrap().into()
    }

    #[test]
    fn a_full_buffer_passes_over_the_oldest_and_counts_them() {
        let mut b = Buffer::default();
        for i in 0..(BUFFER_RECORDS as i64 + 10) {
            b.push(record(i, 10));
        }
        let (first, skipped) = b.drain();
        assert_eq!(skipped, 10);
        assert_eq!(first.len(), FRAME_RECORDS);
        assert!(first[0].contains(r#""offset":10,"#), "the oldest ten were skipped");
        let (_, skipped) = b.drain();
        assert_eq!(skipped, 0, "a skip is reported once");
        let mut big = Buffer::default();
        for i in 0..10 {
            big.push(record(i, BUFFER_BYTES / 4));
        }
        assert_eq!(big.records.len(), 3);
        assert_eq!(big.skipped, 7);
    }

    #[test]
    fn a_frame_is_a_records_message() {
        let mut subs = Subscriptions::new(2);
        assert!(subs.frame().is_none());
        for id in [4, 9] {
            let buffer = Arc::new(Mutex::new(Buffer::default()));
            let tail =
                Arc::new(Tail { readers: Arc::new(Mutex::new(vec![Arc::downgrade(&buffer)])), stop: Shutdown::new() });
            subs.subs.insert(id, Subscription { _tail: tail, buffer });
        }
        subs.subs[&4].buffer.lock().unwrap().push(record(1, 1));
        subs.subs[&4].buffer.lock().unwrap().push(record(2, 1));
        subs.subs[&9].buffer.lock().unwrap().skipped = 3;
        let frame: ServerMessage = serde_json::from_str(&subs.frame().unwrap()).unwrap();
        let ServerMessage::Records { batches } = frame else { panic!("{frame:?}") };
        assert_eq!(batches.len(), 2);
        assert_eq!((batches[0].subscription, batches[0].records.len(), batches[0].skipped), (4, 2, 0));
        assert_eq!((batches[1].subscription, batches[1].records.len(), batches[1].skipped), (9, 0, 3));
        assert!(subs.check(5).is_err() && subs.check(4).is_err());
        assert!(subs.frame().is_none());
        // A filter that passed records over says so even when nothing matched.
        subs.subs[&9].buffer.lock().unwrap().scanned = 7;
        let frame: ServerMessage = serde_json::from_str(&subs.frame().unwrap()).unwrap();
        let ServerMessage::Records { batches } = frame else { panic!("{frame:?}") };
        assert_eq!((batches.len(), batches[0].subscription, batches[0].scanned, batches[0].matched), (1, 9, 7, 0));
        assert!(subs.frame().is_none(), "counts that did not change send nothing");
    }

    #[test]
    fn a_backlog_joins_the_shared_tail_without_a_record_twice_or_missed() {
        let view = |partition, offset| RecordView {
            topic: "t".into(),
            partition,
            offset,
            timestamp_ms: Some(offset),
            key: Some(format!("{partition}/{offset}")),
            headers: vec![],
            value: None,
            size: 0,
        };
        let mut b = Buffer { held: Some(Vec::new()), ..Buffer::default() };
        // While the backlog is read (partition 0 up to offset 5, partition 1 up to 3), the
        // shared tail brings 0/4, 0/5 and 1/3.
        for v in [view(0, 4), view(0, 5), view(1, 3)] {
            b.offer(&v, &mut None);
        }
        assert!(b.records.is_empty() && b.scanned == 0, "held until the backlog is in");
        let ends = [Span { partition: 0, start: 3, end: 5 }, Span { partition: 1, start: 2, end: 3 }];
        b.settle(vec![view(0, 3), view(0, 4), view(1, 2)], &ends);
        // A tail that was behind the backlog's end brings 0/4 late: it was in the backlog.
        b.offer(&view(0, 4), &mut None);
        b.offer(&view(0, 6), &mut None);
        let (records, skipped) = b.drain();
        let got: Vec<String> =
            records.iter().map(|r| serde_json::from_str::<RecordView>(r).unwrap().key.unwrap()).collect();
        assert_eq!(got, ["0/3", "0/4", "1/2", "0/5", "1/3", "0/6"]);
        assert_eq!((skipped, b.scanned, b.matched), (0, 6, 6));
    }
}
