//! One segment of a partition's log: record batches in Kafka's own format (the batch as it
//! travels, its base offset first), appended in offset order to a buffer in memory or to a
//! file, with a sparse index of (offset, position) every few KiB, as Kafka's `.index` files.
//!
//! Finding an offset is a binary search of the index and a scan of at most one index step
//! of batch headers, whatever the segment holds: never a walk over every batch stored.

use bytes::Bytes;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use super::syncer::LogFile;

/// Bytes of a batch before its records: base offset (8), length (4), leader epoch (4), magic
/// (1), CRC (4), attributes (2), last offset delta (4), first and max timestamp (8 + 8),
/// producer id (8), epoch (2), base sequence (4), record count (4).
pub const HEADER: usize = 61;
/// The offset and length fields, which `batch_length` does not count.
const LOG_OVERHEAD: usize = 12;
/// Where the CRC's data starts (attributes) and where the CRC itself is.
const CRC_AT: usize = 17;
const CRC_DATA_AT: usize = 21;
/// An index entry every this many bytes of log, as Kafka's `index.interval.bytes`.
const INDEX_EVERY: u64 = 4096;
/// offset (8), position (8), the greatest timestamp before it (8).
const INDEX_ENTRY: usize = 24;
/// A segment file is kept this far ahead of its last batch in zeros, at least ...
const PREALLOCATE_MIN: u64 = 64 << 10;
/// ... and at most this far (a segment of a few records costs little disk; a busy one
/// extends its file once per MiB).
const PREALLOCATE_MAX: u64 = 1 << 20;
static ZEROS: [u8; PREALLOCATE_MAX as usize] = [0; PREALLOCATE_MAX as usize];

/// A batch's header fields the log needs without decoding its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub base_offset: i64,
    /// The whole batch in the log: the 12 bytes of offset and length, then `batch_length`.
    pub size: u64,
    pub last_offset_delta: i32,
    pub max_timestamp: i64,
}

impl Header {
    pub fn read(bytes: &[u8]) -> Option<Header> {
        if bytes.len() < HEADER {
            return None;
        }
        let i64_at = |at: usize| i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let i32_at = |at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let length = i32_at(8);
        // Shorter than a header, or longer than Kafka allows any batch: not a batch.
        if length < (HEADER - LOG_OVERHEAD) as i32 || length > i32::MAX / 2 {
            return None;
        }
        Some(Header {
            base_offset: i64_at(0),
            size: LOG_OVERHEAD as u64 + length as u64,
            last_offset_delta: i32_at(23),
            max_timestamp: i64_at(35),
        })
    }

    pub fn next_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta) + 1
    }
}

/// Whether a whole batch's CRC (CRC-32C from its attributes to its end) matches.
fn crc_holds(batch: &[u8]) -> bool {
    batch.len() >= HEADER
        && u32::from_be_bytes(batch[CRC_AT..CRC_AT + 4].try_into().expect("4 bytes"))
            == crc_fast::crc32_iscsi(&batch[CRC_DATA_AT..])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// The base offset of the batch at `position`.
    pub offset: i64,
    pub position: u64,
    /// The greatest record timestamp of the batches before `position` in this segment.
    pub max_timestamp_before: i64,
}

impl IndexEntry {
    fn to_bytes(self) -> [u8; INDEX_ENTRY] {
        let mut b = [0; INDEX_ENTRY];
        b[..8].copy_from_slice(&self.offset.to_be_bytes());
        b[8..16].copy_from_slice(&self.position.to_be_bytes());
        b[16..].copy_from_slice(&self.max_timestamp_before.to_be_bytes());
        b
    }

    fn from_bytes(b: &[u8]) -> IndexEntry {
        let at = |i: usize| i64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        IndexEntry { offset: at(0), position: at(8) as u64, max_timestamp_before: at(16) }
    }
}

#[derive(Debug)]
enum Store {
    Memory(Vec<u8>),
    File {
        log: Arc<LogFile>,
        index: File,
        dir: PathBuf,
        /// The file's length: the batches, then zeros written ahead of them (see [`Segment::append`]).
        allocated: u64,
    },
}

#[derive(Debug)]
pub struct Segment {
    pub base_offset: i64,
    /// One past the last offset stored (the base offset while empty).
    pub next_offset: i64,
    /// The greatest record timestamp stored (`i64::MIN` while empty).
    pub max_timestamp: i64,
    pub created: SystemTime,
    size: u64,
    index: Vec<IndexEntry>,
    since_index: u64,
    store: Store,
}

fn log_path(dir: &Path, base_offset: i64) -> PathBuf {
    dir.join(format!("{base_offset:020}.log"))
}

fn index_path(dir: &Path, base_offset: i64) -> PathBuf {
    dir.join(format!("{base_offset:020}.index"))
}

/// The base offsets of the segments in `dir`, in order.
pub fn segments_in(dir: &Path) -> io::Result<Vec<i64>> {
    let mut bases: Vec<i64> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
        .collect();
    bases.sort_unstable();
    Ok(bases)
}

/// Makes a new directory entry (a file created or removed in `dir`) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Segment {
    pub fn in_memory(base_offset: i64) -> Segment {
        Segment::with_store(base_offset, Store::Memory(Vec::new()))
    }

    fn with_store(base_offset: i64, store: Store) -> Segment {
        Segment {
            base_offset,
            next_offset: base_offset,
            max_timestamp: i64::MIN,
            created: SystemTime::now(),
            size: 0,
            index: Vec::new(),
            since_index: 0,
            store,
        }
    }

    /// A new, empty segment file (and its index) in `dir`.
    pub fn create(dir: &Path, base_offset: i64) -> io::Result<Segment> {
        let log = OpenOptions::new().read(true).write(true).create_new(true).open(log_path(dir, base_offset))?;
        // An index left by a crash before its log was created is stale: start it empty.
        let index = OpenOptions::new().write(true).create(true).truncate(true).open(index_path(dir, base_offset))?;
        sync_dir(dir)?;
        let log = Arc::new(LogFile::new(log, 0, 0));
        Ok(Segment::with_store(base_offset, Store::File { log, index, dir: dir.to_owned(), allocated: 0 }))
    }

    /// Opens the segment at `base_offset` in `dir` after a restart. The newest segment
    /// (`verify`) is read whole: every batch's length and CRC are checked, a torn tail (a
    /// batch not completely written when the power went) is cut off, and its index is built
    /// again. An older segment was synced whole when the next one began, so its index is read
    /// and only the batches after its last entry are scanned. Zeros after the last batch were
    /// written ahead of it ([`Segment::append`]): the newest segment keeps them, an older one
    /// is cut to its batches.
    pub fn open(dir: &Path, base_offset: i64, verify: bool) -> io::Result<Segment> {
        let path = log_path(dir, base_offset);
        let log = OpenOptions::new().read(true).write(true).open(&path)?;
        let len = log.metadata()?.len();
        let mut index = Vec::new();
        if !verify && let Ok(bytes) = std::fs::read(index_path(dir, base_offset)) {
            index = bytes.chunks_exact(INDEX_ENTRY).map(IndexEntry::from_bytes).collect();
            // An entry for a batch that is not in the log is left from before a crash.
            index.retain(|e| e.position < len);
        }
        let created = log.metadata()?.created().or_else(|_| log.metadata()?.modified())?;
        let index_file = OpenOptions::new().append(true).create(true).open(index_path(dir, base_offset))?;
        let file = Arc::new(LogFile::new(log, len, len));
        let mut segment = Segment::with_store(
            base_offset,
            Store::File { log: file, index: index_file, dir: dir.to_owned(), allocated: len },
        );
        segment.created = created;
        let (mut at, mut max_ts) = match index.last() {
            Some(e) => (e.position, e.max_timestamp_before),
            None => (0, i64::MIN),
        };
        segment.index = index;
        if verify {
            segment.index.clear();
        }
        let mut next = segment.index.last().map_or(base_offset, |e| e.offset);
        let mut since = 0;
        while at < len {
            let read = segment.read_at(at, (len - at).min(HEADER as u64) as usize)?;
            let Some(h) = Header::read(&read).filter(|h| at + h.size <= len) else { break };
            if verify {
                let whole = segment.read_at(at, h.size as usize)?;
                if !crc_holds(&whole) {
                    break;
                }
                if segment.index.is_empty() || since >= INDEX_EVERY {
                    segment.index.push(IndexEntry {
                        offset: h.base_offset,
                        position: at,
                        max_timestamp_before: max_ts,
                    });
                    since = 0;
                }
                since += h.size;
            }
            max_ts = max_ts.max(h.max_timestamp);
            next = h.next_offset();
            at += h.size;
        }
        let preallocated = at < len && segment.zeros_from(at, len)?;
        if at < len && !(preallocated && verify) {
            if !preallocated {
                tracing::warn!(
                    segment = %path.display(),
                    kept = at,
                    dropped = len - at,
                    "cutting a torn tail off the log: a batch was not written whole (it was never acknowledged)"
                );
            }
            if let Store::File { log, allocated, .. } = &mut segment.store {
                log.file.set_len(at)?;
                log.file.sync_all()?;
                *allocated = at;
            }
        }
        if let Store::File { log, .. } = &segment.store {
            log.written.store(at, Ordering::Release);
            log.synced.store(at, Ordering::Release);
        }
        if verify {
            // The index is written again from what was verified.
            let bytes: Vec<u8> = segment.index.iter().flat_map(|e| e.to_bytes()).collect();
            std::fs::write(index_path(dir, base_offset), bytes)?;
            segment.since_index = since;
        }
        segment.size = at;
        segment.next_offset = next;
        segment.max_timestamp = max_ts;
        Ok(segment)
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The file that a producer waits on until its batch is synced; `None` in memory.
    pub fn log_file(&self) -> Option<Arc<LogFile>> {
        match &self.store {
            Store::File { log, .. } => Some(log.clone()),
            Store::Memory(_) => None,
        }
    }

    /// Whether the file holds only zeros from `from` to `to`.
    fn zeros_from(&self, mut from: u64, to: u64) -> io::Result<bool> {
        while from < to {
            let chunk = self.read_at(from, (to - from).min(PREALLOCATE_MAX) as usize)?;
            if chunk.iter().any(|b| *b != 0) {
                return Ok(false);
            }
            from += chunk.len() as u64;
        }
        Ok(true)
    }

    /// Appends one encoded batch (its base offset already set).
    ///
    /// On disk the batch overwrites zeros written ahead of it. An `fdatasync` of a file that
    /// grew must also put its new length on the disk: the inode's block on ext4 without a
    /// journal, a journal commit with one (the usual case), which waits for whatever else that
    /// commit carries. Bytes written in place need neither: on ext4 with a journal a sync of
    /// one record took 0.20 ms instead of 0.55, and beside another program's writeback the
    /// worst of 6,000 took 59–397 ms instead of 116–615. The zeros go out with the next sync,
    /// once per up to a MiB of log; PostgreSQL fills its WAL files so, and Kafka has
    /// `log.preallocate`.
    pub fn append(&mut self, batch: &[u8]) -> io::Result<()> {
        let h = Header::read(batch).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not a record batch"))?;
        if self.index.is_empty() || self.since_index >= INDEX_EVERY {
            let entry =
                IndexEntry { offset: h.base_offset, position: self.size, max_timestamp_before: self.max_timestamp };
            if let Store::File { index, .. } = &mut self.store {
                index.write_all(&entry.to_bytes())?;
            }
            self.index.push(entry);
            self.since_index = 0;
        }
        match &mut self.store {
            Store::Memory(bytes) => bytes.extend_from_slice(batch),
            Store::File { log, allocated, .. } => {
                let end = self.size + batch.len() as u64;
                log.file.write_all_at(batch, self.size)?;
                let ahead = end.clamp(PREALLOCATE_MIN, PREALLOCATE_MAX);
                if *allocated < end + ahead / 2 {
                    // From the end of what the file holds: the zeros still ahead stay.
                    let from = (*allocated).max(end);
                    log.file.write_all_at(&ZEROS[..ahead as usize], from)?;
                    *allocated = from + ahead;
                }
                log.written.store(end, Ordering::Release);
            }
        }
        self.size += batch.len() as u64;
        self.since_index += batch.len() as u64;
        self.next_offset = h.next_offset();
        self.max_timestamp = self.max_timestamp.max(h.max_timestamp);
        Ok(())
    }

    fn read_at(&self, position: u64, len: usize) -> io::Result<Bytes> {
        match &self.store {
            Store::Memory(bytes) => {
                let start = position as usize;
                let end = (start + len).min(bytes.len());
                Ok(Bytes::copy_from_slice(&bytes[start.min(end)..end]))
            }
            Store::File { log, .. } => {
                let mut buf = vec![0; len];
                log.file.read_exact_at(&mut buf, position)?;
                Ok(Bytes::from(buf))
            }
        }
    }

    fn header_at(&self, position: u64) -> io::Result<Header> {
        let bytes = self.read_at(position, HEADER.min((self.size - position) as usize))?;
        Header::read(&bytes).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a batch header does not read"))
    }

    /// The position of the batch holding `offset` (or, when `offset` falls in no batch, the
    /// first batch after it); `None` when the segment ends before it.
    pub fn locate(&self, offset: i64) -> io::Result<Option<u64>> {
        let at = self.index.partition_point(|e| e.offset <= offset);
        let mut position = at.checked_sub(1).map_or(0, |i| self.index[i].position);
        while position < self.size {
            let h = self.header_at(position)?;
            if h.next_offset() > offset {
                return Ok(Some(position));
            }
            position += h.size;
        }
        Ok(None)
    }

    /// Whole batches from `position` on, at least one and then as many as fit in `max_bytes`.
    /// Returns them and the bytes they take.
    pub fn read_from(&self, position: u64, max_bytes: u64, first: bool) -> io::Result<(Vec<Bytes>, u64)> {
        let mut out = Vec::new();
        let (mut at, mut taken) = (position, 0);
        while at < self.size {
            let h = self.header_at(at)?;
            if taken + h.size > max_bytes && !(first && out.is_empty()) {
                break;
            }
            out.push(self.read_at(at, h.size as usize)?);
            taken += h.size;
            at += h.size;
        }
        Ok((out, taken))
    }

    /// The position of the first batch whose greatest timestamp is at or after `ms`.
    pub fn first_batch_at_or_after(&self, ms: i64) -> io::Result<Option<u64>> {
        if self.max_timestamp < ms {
            return Ok(None);
        }
        // Every batch before an entry whose `max_timestamp_before` is below `ms` is earlier
        // than `ms`: start at the last such entry.
        let at = self.index.partition_point(|e| e.max_timestamp_before < ms);
        let mut position = at.checked_sub(1).map_or(0, |i| self.index[i].position);
        while position < self.size {
            let h = self.header_at(position)?;
            if h.max_timestamp >= ms {
                return Ok(Some(position));
            }
            position += h.size;
        }
        Ok(None)
    }

    /// Makes everything appended durable, and the index too, and gives back the zeros
    /// written ahead: called when the segment is closed for a newer one, so that it never
    /// needs checking again.
    pub fn close(&mut self) -> io::Result<()> {
        if let Store::File { log, index, allocated, .. } = &mut self.store {
            log.sync_blocking()?;
            if *allocated > self.size {
                log.file.set_len(self.size)?;
                log.file.sync_data()?;
                *allocated = self.size;
            }
            index.sync_all()?;
        }
        Ok(())
    }

    /// Deletes the segment's files.
    pub fn remove(self) -> io::Result<()> {
        if let Store::File { dir, .. } = &self.store {
            std::fs::remove_file(log_path(dir, self.base_offset))?;
            let _ = std::fs::remove_file(index_path(dir, self.base_offset));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use nisshi_sans_io::record::deflated;

    /// An encoded batch of one record at `offset`, written at `timestamp`.
    pub fn batch(offset: i64, timestamp: i64, value: &[u8]) -> Bytes {
        use nisshi_sans_io::record::{Record, inflated};
        let inflated = inflated::Batch::builder()
            .base_timestamp(timestamp)
            .max_timestamp(timestamp)
            .record(Record::builder().value(Some(Bytes::copy_from_slice(value))))
            .build()
            .expect("a batch builds");
        let mut deflated = deflated::Batch::try_from(inflated).expect("a batch deflates");
        deflated.base_offset = offset;
        Bytes::from(deflated)
    }

    /// A file segment is kept ahead of its batches in zeros: they are not records after a
    /// restart, a batch torn among them is cut off, and closing the segment gives them back.
    #[test]
    fn zeros_written_ahead_are_no_records_and_closing_gives_them_back() {
        let dir = std::env::temp_dir().join(format!("streamlab-segment-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let len = || std::fs::metadata(log_path(&dir, 0)).unwrap().len();
        let s = filled(Segment::create(&dir, 0).unwrap(), 300);
        let (next, size) = (s.next_offset, s.size);
        assert!(len() >= size + PREALLOCATE_MIN / 2, "zeros ahead: {} of {size}", len());
        drop(s);
        // As after kill -9: the newest segment goes on from its last batch, zeros kept.
        let mut again = Segment::open(&dir, 0, true).unwrap();
        assert_eq!((again.next_offset, again.size), (next, size));
        assert!(len() > size);
        again.append(&batch(300, 9_000, &[b'z'; 100])).unwrap();
        let size = again.size;
        drop(again);
        // Half a batch among the zeros, as a power cut mid-write leaves it.
        let torn = batch(301, 9_001, &[b'y'; 100]);
        let f = OpenOptions::new().write(true).open(log_path(&dir, 0)).unwrap();
        f.write_all_at(&torn[..torn.len() / 2], size).unwrap();
        let mut verified = Segment::open(&dir, 0, true).unwrap();
        assert_eq!((verified.next_offset, verified.size, len()), (301, size, size));
        assert_eq!(verified.read_from(verified.locate(300).unwrap().unwrap(), 1 << 20, true).unwrap().0.len(), 1);
        verified.append(&batch(301, 9_002, &[b'w'; 100])).unwrap();
        assert!(len() > verified.size);
        verified.close().unwrap();
        assert_eq!(len(), verified.size);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn filled(mut segment: Segment, n: i64) -> Segment {
        for o in 0..n {
            segment.append(&batch(o, 1_000 + o * 10, &[b'x'; 100])).unwrap();
        }
        segment
    }

    #[test]
    fn offsets_and_times_are_found_through_the_index() {
        let s = filled(Segment::in_memory(0), 1000);
        assert!(s.index.len() > 20, "an entry every 4 KiB: {}", s.index.len());
        for o in [0, 1, 499, 998, 999] {
            let at = s.locate(o).unwrap().unwrap();
            assert_eq!(s.header_at(at).unwrap().base_offset, o);
        }
        assert_eq!(s.locate(1000).unwrap(), None);
        let at = s.first_batch_at_or_after(1_000 + 500 * 10 - 5).unwrap().unwrap();
        assert_eq!(s.header_at(at).unwrap().base_offset, 500);
        assert_eq!(s.first_batch_at_or_after(100_000).unwrap(), None);
        let (batches, bytes) = s.read_from(s.locate(10).unwrap().unwrap(), 1, true).unwrap();
        assert_eq!((batches.len(), bytes), (1, batches[0].len() as u64), "at least one batch");
    }

    #[test]
    fn a_file_segment_reopens_and_a_torn_tail_is_cut_off() {
        let dir = std::env::temp_dir().join(format!("streamlab-segment-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = filled(Segment::create(&dir, 0).unwrap(), 300);
        let (next, size) = (s.next_offset, s.size);
        drop(s);
        let again = Segment::open(&dir, 0, false).unwrap();
        assert_eq!((again.next_offset, again.size), (next, size));
        // Half a batch at the end, as a power cut mid-write leaves it.
        let torn = batch(300, 5_000, &[b'y'; 100]);
        let file = OpenOptions::new().append(true).open(log_path(&dir, 0)).unwrap();
        (&file).write_all(&torn[..torn.len() / 2]).unwrap();
        let verified = Segment::open(&dir, 0, true).unwrap();
        assert_eq!((verified.next_offset, verified.size), (next, size));
        assert_eq!(std::fs::metadata(log_path(&dir, 0)).unwrap().len(), size);
        assert_eq!(verified.header_at(verified.locate(299).unwrap().unwrap()).unwrap().base_offset, 299);
        // A flipped byte in the last batch fails its CRC: the batch goes.
        let f = OpenOptions::new().write(true).open(log_path(&dir, 0)).unwrap();
        f.write_all_at(b"!", size - 3).unwrap();
        let checked = Segment::open(&dir, 0, true).unwrap();
        assert_eq!(checked.next_offset, next - 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
