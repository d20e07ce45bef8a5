//! One partition's log: its segments in offset order, where its records start (the log
//! start offset, moved by retention and by deleting records) and end (the high watermark),
//! and its idempotent producers.
//!
//! Every operation costs what it reads, not what is stored: the segment holding an offset is
//! found by a binary search of the segments' base offsets, the batch by the segment's index.

use super::producers::{Producers, Sequence};
use super::segment::{self, Segment};
use super::syncer::LogFile;
use bytes::Bytes;
use nisshi_sans_io::ErrorCode;
use nisshi_sans_io::record::{deflated, inflated};
use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When a new segment begins, and what is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// A segment is closed once it holds this many bytes (`segment.bytes`).
    pub segment_bytes: u64,
    /// ... or is this old (`segment.ms`), so retention by time can drop it.
    pub segment_age: Duration,
    /// Records older than this are deleted, a segment at a time (`retention.ms`; `None`: kept).
    pub retention_age: Option<Duration>,
    /// Beyond this many bytes, the oldest segments are deleted (`retention.bytes`, per
    /// partition; `None`: no limit).
    pub retention_bytes: Option<u64>,
}

/// The file that remembers a log start offset moved inside a segment (by deleting records).
const LOG_START_FILE: &str = "log-start-offset";

#[derive(Debug)]
pub struct PartitionLog {
    dir: Option<PathBuf>,
    segments: VecDeque<Segment>,
    log_start: i64,
    producers: Producers,
}

/// A batch stored: its base offset and, on disk, the file to wait on until it is synced.
#[derive(Debug)]
pub struct Appended {
    pub base_offset: i64,
    pub durable: Option<(Arc<LogFile>, u64)>,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

impl PartitionLog {
    pub fn in_memory() -> PartitionLog {
        PartitionLog {
            dir: None,
            segments: VecDeque::from([Segment::in_memory(0)]),
            log_start: 0,
            producers: Producers::default(),
        }
    }

    /// Opens the partition's directory, recovering what a crash left (see [`Segment::open`]),
    /// or starts an empty log there.
    pub fn open(dir: &Path) -> io::Result<PartitionLog> {
        std::fs::create_dir_all(dir)?;
        let bases = segment::segments_in(dir)?;
        let mut segments = VecDeque::with_capacity(bases.len());
        for (i, &base) in bases.iter().enumerate() {
            segments.push_back(Segment::open(dir, base, i + 1 == bases.len())?);
        }
        if segments.is_empty() {
            segments.push_back(Segment::create(dir, 0)?);
        }
        let first = segments.front().expect("a segment").base_offset;
        let saved = std::fs::read_to_string(dir.join(LOG_START_FILE)).ok().and_then(|s| s.trim().parse::<i64>().ok());
        let end = segments.back().expect("a segment").next_offset;
        let log_start = saved.unwrap_or(first).clamp(first, end);
        Ok(PartitionLog { dir: Some(dir.to_owned()), segments, log_start, producers: Producers::default() })
    }

    pub fn log_start(&self) -> i64 {
        self.log_start
    }

    /// The offset the next record gets.
    pub fn high_watermark(&self) -> i64 {
        self.segments.back().map_or(self.log_start, |s| s.next_offset)
    }

    /// Bytes the log holds (in memory, or on disk).
    pub fn size(&self) -> u64 {
        self.segments.iter().map(Segment::size).sum()
    }

    pub fn segments(&self) -> usize {
        self.segments.len()
    }

    /// Stores `batch` at the end of the log, unless it repeats a batch its producer sent
    /// before (then the first one's offset is the answer).
    pub fn append(&mut self, mut batch: deflated::Batch, policy: &Policy) -> Result<Appended, AppendError> {
        let (pid, epoch, seq, delta) =
            (batch.producer_id, batch.producer_epoch, batch.base_sequence, batch.last_offset_delta);
        if let Sequence::Duplicate(base_offset) = self.producers.check(pid, epoch, seq, delta)? {
            let durable = self.segments.back().and_then(Segment::log_file).map(|f| {
                let upto = f.written.load(std::sync::atomic::Ordering::Acquire);
                (f, upto)
            });
            return Ok(Appended { base_offset, durable });
        }
        let base_offset = self.high_watermark();
        batch.base_offset = base_offset;
        let encoded = Bytes::from(batch);
        self.roll_if_due(encoded.len() as u64, policy)?;
        let active = self.segments.back_mut().expect("a segment");
        active.append(&encoded)?;
        self.producers.stored(pid, epoch, seq, delta, base_offset);
        let durable = active.log_file().map(|f| (f, active.size()));
        Ok(Appended { base_offset, durable })
    }

    fn roll_if_due(&mut self, adding: u64, policy: &Policy) -> io::Result<()> {
        let active = self.segments.back_mut().expect("a segment");
        let full = active.size() + adding > policy.segment_bytes;
        let old = active.created.elapsed().unwrap_or_default() >= policy.segment_age;
        if active.is_empty() || !(full || old) {
            return Ok(());
        }
        active.close()?;
        let next = active.next_offset;
        let segment = match &self.dir {
            Some(dir) => Segment::create(dir, next)?,
            None => Segment::in_memory(next),
        };
        self.segments.push_back(segment);
        Ok(())
    }

    /// The segment holding `offset`: the last one starting at or before it.
    fn segment_of(&self, offset: i64) -> usize {
        self.segments.partition_point(|s| s.base_offset <= offset).saturating_sub(1)
    }

    /// Whole batches from the one holding `offset`, at least one, then up to `max_bytes`.
    pub fn read(&self, offset: i64, max_bytes: u64) -> io::Result<Vec<deflated::Batch>> {
        let offset = offset.max(self.log_start);
        let mut out = Vec::new();
        let mut taken = 0;
        for segment in self.segments.range(self.segment_of(offset)..) {
            let Some(position) = segment.locate(offset)? else { continue };
            let (batches, bytes) = segment.read_from(position, max_bytes.saturating_sub(taken), out.is_empty())?;
            taken += bytes;
            for b in batches {
                out.push(deflated::Batch::try_from(b).map_err(|_| invalid("a stored batch does not decode"))?);
            }
            // The next segment follows only where this one was read to its end: batches
            // after a gap would make the client skip the records in it.
            if position + bytes < segment.size() || taken >= max_bytes {
                break;
            }
        }
        Ok(out)
    }

    /// The first record at or after `ms` (its offset and timestamp), as Kafka's
    /// `ListOffsets` by time answers it.
    pub fn offset_for_time(&self, ms: i64) -> io::Result<Option<(i64, i64)>> {
        for segment in &self.segments {
            let Some(position) = segment.first_batch_at_or_after(ms)? else { continue };
            let (batches, _) = segment.read_from(position, 0, true)?;
            let Some(bytes) = batches.into_iter().next() else { continue };
            let deflated = deflated::Batch::try_from(bytes).map_err(|_| invalid("a stored batch does not decode"))?;
            let batch = inflated::Batch::try_from(&deflated).map_err(|_| invalid("a stored batch does not inflate"))?;
            let found = batch.records.iter().find_map(|r| {
                let ts = batch.record_timestamp(r);
                let offset = batch.base_offset + i64::from(r.offset_delta);
                (ts >= ms && offset >= self.log_start).then_some((offset, ts))
            });
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Deletes the records before `offset` (Kafka's DeleteRecords; `rpk topic trim-prefix`):
    /// whole segments go, and the log start moves inside the one that stays.
    pub fn delete_before(&mut self, offset: i64) -> io::Result<()> {
        let offset = offset.clamp(self.log_start, self.high_watermark());
        self.log_start = offset;
        self.drop_segments_before(offset)?;
        if let Some(dir) = &self.dir {
            let tmp = dir.join(format!("{LOG_START_FILE}.tmp"));
            std::fs::write(&tmp, offset.to_string())?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, dir.join(LOG_START_FILE))?;
            segment::sync_dir(dir)?;
        }
        Ok(())
    }

    /// Removes the segments that end at or before `offset`, never the newest.
    fn drop_segments_before(&mut self, offset: i64) -> io::Result<u64> {
        let mut freed = 0;
        while self.segments.len() > 1 && self.segments.front().is_some_and(|s| s.next_offset <= offset) {
            let s = self.segments.pop_front().expect("a segment");
            freed += s.size();
            s.remove()?;
        }
        if let Some(first) = self.segments.front() {
            self.log_start = self.log_start.max(first.base_offset);
        }
        Ok(freed)
    }

    /// Applies the retention of `policy` at `now`: the oldest segments go while the log is
    /// larger than its byte limit or their newest record is older than the time limit. The
    /// newest segment stays (it rolls by `segment_age`). Returns the bytes freed.
    pub fn retain(&mut self, policy: &Policy, now: SystemTime) -> io::Result<u64> {
        let now_ms = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let mut size = self.size();
        let mut cut = self.log_start;
        for s in self.segments.iter().take(self.segments.len().saturating_sub(1)) {
            let too_big = policy.retention_bytes.is_some_and(|limit| size > limit);
            let too_old = policy
                .retention_age
                .is_some_and(|age| s.max_timestamp != i64::MIN && now_ms - s.max_timestamp > age.as_millis() as i64);
            if !(too_big || too_old) {
                break;
            }
            size -= s.size();
            cut = s.next_offset;
        }
        if cut <= self.log_start {
            return Ok(0);
        }
        let freed = self.drop_segments_before(cut)?;
        // The start moved to a segment's first offset: nothing to remember beyond the files.
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_file(dir.join(LOG_START_FILE));
        }
        Ok(freed)
    }

    /// Deletes the log's files (the topic was deleted).
    pub fn remove(self) -> io::Result<()> {
        if let Some(dir) = self.dir {
            std::fs::remove_dir_all(&dir)?;
        }
        Ok(())
    }
}

/// Why a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("the producer's batch is refused: {0:?}")]
    Refused(ErrorCode),
    #[error("the log cannot be written: {0}")]
    Io(#[from] io::Error),
}

impl From<ErrorCode> for AppendError {
    fn from(code: ErrorCode) -> Self {
        AppendError::Refused(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::log::segment::tests::batch;

    const SMALL: Policy = Policy {
        segment_bytes: 10_000,
        segment_age: Duration::from_secs(3600),
        retention_age: None,
        retention_bytes: None,
    };

    fn deflated(timestamp: i64) -> deflated::Batch {
        deflated::Batch::try_from(batch(0, timestamp, &[b'v'; 200])).unwrap()
    }

    #[test]
    fn appends_roll_segments_and_reads_find_any_offset() {
        let mut log = PartitionLog::in_memory();
        for i in 0..500 {
            assert_eq!(log.append(deflated(1_000 + i), &SMALL).unwrap().base_offset, i);
        }
        assert!(log.segments() > 5, "{} segments", log.segments());
        assert_eq!(log.high_watermark(), 500);
        for o in [0, 1, 37, 250, 499] {
            let got = log.read(o, 1).unwrap();
            assert_eq!(got[0].base_offset, o);
        }
        let many = log.read(100, 100_000).unwrap();
        assert!(many.len() > 100 && many.windows(2).all(|w| w[1].base_offset == w[0].base_offset + 1));

        assert!(log.read(500, 1000).unwrap().is_empty());
        assert_eq!(log.offset_for_time(1_250).unwrap(), Some((250, 1_250)));
        assert_eq!(log.offset_for_time(9_999).unwrap(), None);
    }

    #[test]
    fn a_read_is_one_run_of_offsets_whatever_its_limit() {
        // Batches of very different sizes, as a producer batching by time writes them: a read
        // that stops before a large batch has room left for a small one in the next segment,
        // and must not take it (the client would skip the records in between).
        let mut log = PartitionLog::in_memory();
        for i in 0..400 {
            let size = 100 + (i * 7_919 % 13) as usize * 300;
            let batch = deflated::Batch::try_from(batch(0, 1_000 + i, &vec![b'v'; size])).unwrap();
            log.append(batch, &SMALL).unwrap();
        }
        assert!(log.segments() > 10);
        for limit in [1, 500, 3_500, 7_000, 12_000, 50_000] {
            for from in 0..400 {
                let got = log.read(from, limit).unwrap();
                assert_eq!(got[0].base_offset, from);
                assert!(
                    got.windows(2).all(|w| w[1].base_offset == w[0].base_offset + 1),
                    "a gap reading from {from} with {limit} bytes"
                );
            }
        }
    }

    #[test]
    fn retention_and_deleted_records_move_the_start() {
        let mut log = PartitionLog::in_memory();
        for i in 0..500 {
            log.append(deflated(1_000 + i), &SMALL).unwrap();
        }
        let policy = Policy { retention_bytes: Some(30_000), ..SMALL };
        assert!(log.retain(&policy, SystemTime::now()).unwrap() > 0);
        assert!(log.size() <= 30_000 + SMALL.segment_bytes, "{}", log.size());
        let start = log.log_start();
        assert!(start > 0 && log.read(0, 1).unwrap()[0].base_offset == start);
        log.delete_before(start + 3).unwrap();
        assert_eq!(log.log_start(), start + 3);
        assert_eq!(log.read(0, 1).unwrap().first().map(|b| b.base_offset), Some(start + 3));
        // Everything is older than a day at a time 1 000 days after the records were written.
        let policy = Policy { retention_age: Some(Duration::from_secs(86_400)), ..SMALL };
        let later = UNIX_EPOCH + Duration::from_secs(86_400 * 1000);
        log.retain(&policy, later).unwrap();
        assert_eq!(log.segments(), 1, "the newest segment stays");
    }
}
