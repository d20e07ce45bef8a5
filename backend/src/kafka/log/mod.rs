//! The embedded broker's storage engine for records: a log per partition, as Kafka keeps it.
//!
//! nisshi (the embedded broker) takes its storage as a `nisshi_storage::Storage`. Its own
//! engines list every stored batch of a partition on each fetch, so a lab slowed down as it
//! filled, and idle consumers, which fetch all the time, kept a core busy. [`LogStorage`] keeps
//! the records itself and hands everything else (topics and their configs, consumer groups,
//! committed offsets, producer ids, users) to one of nisshi's engines, the metadata store:
//! in memory, or SQLite with `--data-dir`.
//!
//! - A partition's log ([`partition`]) is a list of segments ([`segment`]), each an
//!   append-only run of record batches in Kafka's own format with a sparse offset index:
//!   produce appends; fetch finds the segment by a binary search of base offsets and the
//!   batch by the segment's index, then reads what was asked (O(log n), not O(batches)).
//! - With `--data-dir`, each segment is a file (`logs/TOPIC-PARTITION/BASE.log` and
//!   `.index`). A produce is acknowledged once its batch is on the disk: written, then
//!   `fdatasync`ed by one thread ([`syncer`]), one sync shared by every batch waiting for
//!   it (group commit), while the runtime's workers go on serving. So neither
//!   `kill -9` nor a power cut loses an acknowledged record. A client's connection
//!   ([`super::connection`]) appends its next requests while an answer waits for its sync
//!   ([`deferring_syncs`]), so one producer's pipelined writes share syncs too. On start,
//!   every segment's index is read and the newest segment is checked batch by batch (length
//!   and CRC); a torn tail, never acknowledged, is cut off.
//! - Retention ([`partition::Policy`]): `retention.ms` and `retention.bytes` per topic,
//!   a segment at a time, as Kafka does; segments close at `segment.bytes` or `segment.ms`.
//!   [`engine`] answers nisshi's `Storage` calls: records here, the rest to the metadata store.
//!   Topics that set none get [`Defaults`]; the lab's own topics are created with their
//!   own limits.
//! - Idempotent producers ([`producers`]): a batch sent again is answered with its first
//!   offset, a gap in sequences is refused.
//! - The lab's own reads ([`reads`]): its pages and exercise checks, in the same process,
//!   read the logs directly ([`LocalLogs`]) instead of through a client and the broker.
//! - The metadata store's answers that every fetch and produce asks for (the topic's
//!   metadata, its configs) are kept until a topic is created, deleted or altered, so an idle
//!   consumer's fetches do not query SQLite hundreds of times a second. Each group's
//!   committed offsets are kept too ([`committed`]), until it commits again: the lab's
//!   sampler reads every group's offsets once a second.
//!
//! What this engine does not do: transactions (the broker refuses them before they reach
//! storage), and compaction (`cleanup.policy=compact` is kept as a config, not applied).

mod committed;
mod engine;
pub mod partition;
mod producers;
mod reads;
mod segment;
mod syncer;

use nisshi_sans_io::describe_configs_response::DescribeConfigsResult;
use nisshi_sans_io::{ConfigResource, ErrorCode, ListOffset};
use nisshi_storage::{
    ArcDynStorage, Error, ListOffsetResponse, MetadataResponse, OffsetStage, Result, TopicId, Topition,
    max_message_bytes,
};
use partition::{AppendError, PartitionLog, Policy};
pub use reads::{LocalLogs, Marks};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a topic that sets nothing gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    pub segment_bytes: u64,
    pub segment_age: Duration,
    pub retention_age: Option<Duration>,
    pub retention_bytes: Option<u64>,
}

impl Defaults {
    /// Kafka's retention (7 days, no size limit) on disk; in memory, at most 1 GiB per
    /// partition, so that a producer left running cannot fill the machine's memory while a
    /// student's topic of a few million records stays whole.
    pub fn for_storage(on_disk: bool) -> Defaults {
        Defaults {
            segment_bytes: 16 << 20,
            segment_age: Duration::from_secs(3600),
            retention_age: Some(Duration::from_secs(7 * 24 * 3600)),
            retention_bytes: (!on_disk).then_some(1 << 30),
        }
    }
}

impl Defaults {
    /// What a topic that sets nothing keeps, in words.
    pub fn describe(&self) -> String {
        let age = match self.retention_age {
            Some(d) if d.as_secs() % 86_400 == 0 => format!("{} days", d.as_secs() / 86_400),
            Some(d) if d.as_secs() % 3600 == 0 => format!("{} hours", d.as_secs() / 3600),
            Some(d) => format!("{} s", d.as_secs()),
            None => "forever".to_owned(),
        };
        match self.retention_bytes {
            Some(b) if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{age}, at most {} GiB per partition", b >> 30),
            Some(b) => format!("{age}, at most {} MiB per partition", b >> 20),
            None => format!("{age}, no size limit"),
        }
    }
}

/// What the logs hold, for the overview page and `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of records held (in memory, or on disk with `--data-dir`).
    pub bytes: u64,
    /// Records held: the sum over partitions of high watermark minus log start.
    pub records: i64,
    pub partitions: usize,
    pub segments: usize,
    pub on_disk: bool,
}

type Log = Arc<Mutex<PartitionLog>>;

#[derive(Debug)]
pub struct LogStorage {
    /// Topics, configs, groups, offsets, producer ids: one of nisshi's engines.
    meta: ArcDynStorage,
    /// Where the logs are; `None` keeps them in memory.
    dir: Option<PathBuf>,
    logs: RwLock<HashMap<Topition, Log>>,
    /// The metadata store's answers every fetch or produce asks for, until a topic changes.
    metadata_cache: Mutex<HashMap<String, MetadataResponse>>,
    config_cache: Mutex<HashMap<String, DescribeConfigsResult>>,
    committed: committed::CommittedOffsets,
    defaults: Defaults,
    /// How many batches have been stored since the start, and a signal on each: the lab's
    /// own services, in this process, wait on it instead of fetching from an idle broker.
    arrived: Mutex<u64>,
    arrival: Condvar,
}

/// A topic's name from a directory name `TOPIC-PARTITION`.
fn parse_log_dir(name: &str) -> Option<Topition> {
    let (topic, partition) = name.rsplit_once('-')?;
    Some(Topition::new(topic, partition.parse().ok().filter(|p: &i32| *p >= 0)?))
}

fn io(e: std::io::Error) -> Error {
    Error::from(e)
}

impl LogStorage {
    /// Logs over `meta`: in `dir` (each partition's log recovered now), or in memory.
    pub async fn open(meta: ArcDynStorage, dir: Option<PathBuf>, defaults: Defaults) -> Result<Arc<LogStorage>> {
        let storage = LogStorage {
            meta,
            dir: dir.clone(),
            logs: RwLock::default(),
            metadata_cache: Mutex::default(),
            config_cache: Mutex::default(),
            committed: committed::CommittedOffsets::default(),
            defaults,
            arrived: Mutex::new(0),
            arrival: Condvar::new(),
        };
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(io)?;
            let started = std::time::Instant::now();
            let mut opened = HashMap::new();
            for entry in std::fs::read_dir(dir).map_err(io)? {
                let path = entry.map_err(io)?.path();
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let tp = parse_log_dir(&name);
                let exists = match &tp {
                    Some(tp) => storage.partitions_of(&tp.topic).await?.is_some_and(|n| (tp.partition as usize) < n),
                    None => false,
                };
                match tp {
                    Some(tp) if exists => {
                        let log = PartitionLog::open(&path).map_err(io)?;
                        opened.insert(tp, Arc::new(Mutex::new(log)));
                    }
                    // A topic deleted while the broker was down, or a crash between
                    // deleting the topic and its files.
                    _ => {
                        tracing::info!(dir = %path.display(), "removing the log of a topic that no longer exists");
                        std::fs::remove_dir_all(&path).map_err(io)?;
                    }
                }
            }
            tracing::info!(partitions = opened.len(), elapsed = ?started.elapsed(), "logs recovered");
            *storage.logs.write().expect("logs lock") = opened;
        }
        Ok(Arc::new(storage))
    }

    pub fn defaults(&self) -> Defaults {
        self.defaults
    }

    pub fn usage(&self) -> Usage {
        let logs = self.logs.read().expect("logs lock");
        let mut usage = Usage { partitions: logs.len(), on_disk: self.dir.is_some(), ..Usage::default() };
        for log in logs.values() {
            let log = log.lock().expect("log lock");
            usage.bytes += log.size();
            usage.records += log.high_watermark() - log.log_start();
            usage.segments += log.segments();
        }
        usage
    }

    /// The metadata store's metadata, kept until a topic changes.
    async fn cached_metadata(&self, topics: Option<&[TopicId]>) -> Result<MetadataResponse> {
        let key = format!("{topics:?}");
        if let Some(m) = self.metadata_cache.lock().expect("cache lock").get(&key) {
            return Ok(m.clone());
        }
        let m = self.meta.metadata(topics).await?;
        self.metadata_cache.lock().expect("cache lock").insert(key, m.clone());
        Ok(m)
    }

    async fn cached_config(
        &self,
        name: &str,
        resource: ConfigResource,
        keys: Option<&[String]>,
    ) -> Result<DescribeConfigsResult> {
        let key = format!("{name}\u{0}{resource:?}\u{0}{keys:?}");
        if let Some(c) = self.config_cache.lock().expect("cache lock").get(&key) {
            return Ok(c.clone());
        }
        let c = self.meta.describe_config(name, resource, keys).await?;
        self.config_cache.lock().expect("cache lock").insert(key, c.clone());
        Ok(c)
    }

    /// Forgets what was kept of the metadata store: a topic was created, deleted or altered.
    fn topics_changed(&self) {
        self.metadata_cache.lock().expect("cache lock").clear();
        self.config_cache.lock().expect("cache lock").clear();
        // A deleted topic's committed offsets go with it.
        self.committed.forget_all();
    }

    /// The partition count of `topic`, `None` when it does not exist.
    async fn partitions_of(&self, topic: &str) -> Result<Option<usize>> {
        let m = self.cached_metadata(Some(&[TopicId::Name(topic.to_owned())])).await?;
        Ok(m.topics()
            .first()
            .filter(|t| t.error_code == i16::from(ErrorCode::None) && t.name.as_deref() == Some(topic))
            .map(|t| t.partitions.as_deref().map_or(0, <[_]>::len)))
    }

    /// The log of `tp`, opened or started on first use; an error for a partition that does
    /// not exist (its index comes from a client: no state is kept for it).
    async fn log(&self, tp: &Topition) -> Result<Log> {
        if let Some(log) = self.logs.read().expect("logs lock").get(tp) {
            return Ok(log.clone());
        }
        let count = self.partitions_of(&tp.topic).await?;
        if !count.is_some_and(|n| tp.partition >= 0 && (tp.partition as usize) < n) {
            return Err(Error::Api(ErrorCode::UnknownTopicOrPartition));
        }
        let mut logs = self.logs.write().expect("logs lock");
        if let Some(log) = logs.get(tp) {
            return Ok(log.clone());
        }
        let log = match &self.dir {
            Some(dir) => PartitionLog::open(&dir.join(format!("{}-{}", tp.topic, tp.partition))).map_err(io)?,
            None => PartitionLog::in_memory(),
        };
        let log = Arc::new(Mutex::new(log));
        logs.insert(tp.clone(), log.clone());
        Ok(log)
    }

    /// The topic's settings that the log follows, its own where it has them.
    async fn policy(&self, topic: &str) -> Result<(Policy, usize)> {
        let described = self.cached_config(topic, ConfigResource::Topic, None).await?;
        let value = |key: &str| -> Option<String> {
            described.configs.as_deref()?.iter().find(|c| c.name == key)?.value.clone()
        };
        let number = |key: &str| value(key).and_then(|v| v.trim().parse::<i64>().ok());
        let d = self.defaults;
        let policy = Policy {
            segment_bytes: number("segment.bytes").filter(|b| *b > 0).map_or(d.segment_bytes, |b| b as u64),
            segment_age: number("segment.ms")
                .filter(|m| *m > 0)
                .map_or(d.segment_age, |m| Duration::from_millis(m as u64)),
            // -1 keeps everything, as in Kafka.
            retention_age: match number("retention.ms") {
                Some(ms) if ms < 0 => None,
                Some(ms) => Some(Duration::from_millis(ms as u64)),
                None => d.retention_age,
            },
            retention_bytes: match number("retention.bytes") {
                Some(b) if b < 0 => None,
                Some(b) => Some(b as u64),
                None => d.retention_bytes,
            },
        };
        let limit = max_message_bytes::limit(topic, value(max_message_bytes::KEY).as_deref());
        Ok((policy, limit))
    }

    async fn produce_batch(&self, tp: &Topition, batch: nisshi_sans_io::record::deflated::Batch) -> Result<i64> {
        let log = self.log(tp).await?;
        let (policy, limit) = self.policy(&tp.topic).await?;
        max_message_bytes::ensure_batch_fits(&batch, limit)?;
        if batch.is_transactional() || batch.is_control() {
            // The broker refuses transactions before they reach storage.
            return Err(Error::Api(ErrorCode::InvalidRequest));
        }
        let appended = {
            let mut log = log.lock().expect("log lock");
            match log.append(batch, &policy) {
                Ok(a) => a,
                Err(AppendError::Refused(code)) => return Err(Error::Api(code)),
                Err(AppendError::Io(e)) => {
                    tracing::error!(topic = %tp.topic, partition = tp.partition, error = %e, "cannot write the log");
                    return Err(Error::Api(ErrorCode::KafkaStorageError));
                }
            }
        };
        // Readers see a batch once it is appended, as before its sync: only its producer's
        // acknowledgement waits for the disk.
        *self.arrived.lock().expect("arrivals lock") += 1;
        self.arrival.notify_all();
        if let Some((file, upto)) = appended.durable
            && let Some((file, upto)) = defer_sync(file, upto)
        {
            syncer::durable(&file, upto).await.map_err(|e| {
                tracing::error!(topic = %tp.topic, partition = tp.partition, error = %e, "cannot sync the log");
                Error::Api(ErrorCode::KafkaStorageError)
            })?;
        }
        Ok(appended.base_offset)
    }

    /// A count of the batches stored so far; it changes with each one.
    pub fn arrivals(&self) -> u64 {
        *self.arrived.lock().expect("arrivals lock")
    }

    /// Waits until a batch is stored after the count `seen`, at most `timeout`; returns
    /// the count then. Blocking.
    pub fn wait_arrival(&self, seen: u64, timeout: Duration) -> u64 {
        let count = self.arrived.lock().expect("arrivals lock");
        let (count, _) = self.arrival.wait_timeout_while(count, timeout, |c| *c == seen).expect("arrivals lock");
        *count
    }

    /// The end offset (high watermark) of a partition holding records; `None` for one that
    /// has none here yet.
    pub fn end_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        let tp = Topition::new(topic.to_owned(), partition);
        let log = self.logs.read().expect("logs lock").get(&tp).cloned()?;
        let end = log.lock().expect("log lock").high_watermark();
        Some(end)
    }

    async fn fetch_batches(
        &self,
        tp: &Topition,
        offset: i64,
        max_bytes: u32,
    ) -> Result<Vec<nisshi_sans_io::record::deflated::Batch>> {
        let log = self.log(tp).await?;
        let log = log.lock().expect("log lock");
        if offset >= log.high_watermark() {
            return Ok(Vec::new());
        }
        log.read(offset, u64::from(max_bytes)).map_err(io)
    }

    async fn stage(&self, tp: &Topition) -> Result<OffsetStage> {
        let log = self.log(tp).await?;
        let log = log.lock().expect("log lock");
        let high = log.high_watermark();
        Ok(OffsetStage { last_stable: high, high_watermark: high, log_start: log.log_start() })
    }

    async fn list(&self, offsets: &[(Topition, ListOffset)]) -> Result<Vec<(Topition, ListOffsetResponse)>> {
        let mut out = Vec::with_capacity(offsets.len());
        for (tp, asked) in offsets {
            let log = match self.log(tp).await {
                Ok(log) => log,
                Err(Error::Api(code)) => {
                    out.push((tp.clone(), ListOffsetResponse { error_code: code, offset: None, timestamp: None }));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let log = log.lock().expect("log lock");
            let (offset, timestamp) = match asked {
                ListOffset::Earliest => (Some(log.log_start()), None),
                ListOffset::Latest => (Some(log.high_watermark()), None),
                ListOffset::Timestamp(at) => {
                    let ms = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
                    match log.offset_for_time(ms).map_err(io)? {
                        Some((o, ts)) => (Some(o), Some(UNIX_EPOCH + Duration::from_millis(ts.max(0) as u64))),
                        None => (None, None),
                    }
                }
            };
            out.push((tp.clone(), ListOffsetResponse { error_code: ErrorCode::None, offset, timestamp }));
        }
        Ok(out)
    }

    async fn delete_before(&self, tp: &Topition, requested: i64) -> std::result::Result<i64, ErrorCode> {
        let log = self.log(tp).await.map_err(|_| ErrorCode::UnknownTopicOrPartition)?;
        let mut log = log.lock().expect("log lock");
        let high = log.high_watermark();
        let stage = OffsetStage { last_stable: high, high_watermark: high, log_start: log.log_start() };
        let cutoff = nisshi_storage::delete_records_cutoff(requested, &stage)?;
        log.delete_before(cutoff).map_err(|e| {
            tracing::error!(topic = %tp.topic, partition = tp.partition, error = %e, "cannot delete records");
            ErrorCode::KafkaStorageError
        })?;
        Ok(log.log_start())
    }

    /// Forgets and deletes every log of `topic`.
    fn remove_logs(&self, topic: &str) {
        let removed: Vec<Log> = {
            let mut logs = self.logs.write().expect("logs lock");
            let gone: Vec<Topition> = logs.keys().filter(|tp| tp.topic == topic).cloned().collect();
            gone.iter().filter_map(|tp| logs.remove(tp)).collect()
        };
        for log in removed {
            let log = std::mem::replace(&mut *log.lock().expect("log lock"), PartitionLog::in_memory());
            if let Err(e) = log.remove() {
                tracing::warn!(topic, error = %e, "cannot remove a deleted topic's log");
            }
        }
        // A log left from before (a crash between deleting the topic and its files).
        if let Some(dir) = &self.dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            for e in entries.flatten() {
                if parse_log_dir(&e.file_name().to_string_lossy()).is_some_and(|tp| tp.topic == topic) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    }

    /// Applies every topic's retention; returns the bytes freed. Called every few seconds.
    pub async fn retain(&self, now: SystemTime) -> u64 {
        let logs: Vec<(Topition, Log)> =
            self.logs.read().expect("logs lock").iter().map(|(tp, l)| (tp.clone(), l.clone())).collect();
        let mut freed = 0;
        for (tp, log) in logs {
            let Ok((policy, _)) = self.policy(&tp.topic).await else { continue };
            match log.lock().expect("log lock").retain(&policy, now) {
                Ok(bytes) => freed += bytes,
                Err(e) => tracing::warn!(topic = %tp.topic, partition = tp.partition, error = %e, "retention failed"),
            }
        }
        freed
    }
}

tokio::task_local! {
    /// What the request being handled has appended and not yet synced, when its connection
    /// writes the answer only after [`Unsynced::sync`] (see [`deferring_syncs`]).
    static UNSYNCED: RefCell<Unsynced>;
}

/// Bytes appended to log files that must be on the disk before the request that appended
/// them is answered: per file, how far.
#[derive(Debug, Default)]
pub struct Unsynced(Vec<(Arc<syncer::LogFile>, u64)>);

impl Unsynced {
    /// Nothing to wait for: in memory, or a request that wrote no records.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Waits until every byte is on the disk; group commit as for a produce that waits itself.
    pub async fn sync(self) -> std::io::Result<()> {
        for (file, upto) in self.0 {
            syncer::durable(&file, upto).await?;
        }
        Ok(())
    }
}

/// Runs `request` (a connection handling one request) so that its produces append and return
/// without waiting for their sync; returns what they left to sync. The connection answers only
/// after it, but meanwhile reads and appends its next requests, so one producer's pipelined
/// writes share a sync instead of each waiting for its own.
pub async fn deferring_syncs<F: std::future::Future>(request: F) -> (F::Output, Unsynced) {
    UNSYNCED
        .scope(RefCell::default(), async {
            let output = request.await;
            (output, UNSYNCED.with(|u| std::mem::take(&mut *u.borrow_mut())))
        })
        .await
}

/// Leaves `upto` bytes of `file` to the connection's answer when the request runs inside
/// [`deferring_syncs`]; otherwise gives them back, for the produce to wait for itself.
fn defer_sync(file: Arc<syncer::LogFile>, upto: u64) -> Option<(Arc<syncer::LogFile>, u64)> {
    let deferred = UNSYNCED.try_with(|u| {
        let mut u = u.borrow_mut();
        match u.0.iter_mut().find(|(f, _)| Arc::ptr_eq(f, &file)) {
            Some((_, to)) => *to = (*to).max(upto),
            None => u.0.push((file.clone(), upto)),
        }
    });
    deferred.is_err().then_some((file, upto))
}
