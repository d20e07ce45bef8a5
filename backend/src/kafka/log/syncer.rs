//! The thread that puts the logs' files on the disk.
//!
//! With `--data-dir` a produce is acknowledged once its batch is synced. The first version
//! synced on the runtime's workers (`block_in_place`): each `fdatasync` blocked a worker and
//! handed the worker's other tasks to another thread, some 1,700 times a second at 2,000
//! one-record requests/s on a two-core machine, and a sync that took long while the disk was
//! busy (5–40 ms) held up the requests queued behind it. Here one thread does every sync: a
//! producer's connection queues the file it waits for (once, however many wait on it) and
//! waits to be woken; the thread takes every file queued, syncs each for all that was written
//! to it so far, and wakes who waited. No worker waits for the disk, and under load one pass
//! answers every connection waiting on a file (group commit across connections).

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use tokio::sync::Notify;

/// A segment's file and how much of it is on disk for sure, shared with the producers
/// that wait for their batch to be synced.
#[derive(Debug)]
pub struct LogFile {
    pub file: File,
    /// Bytes written (with `write`, so a killed process loses none of them).
    pub written: AtomicU64,
    /// Bytes known to be on the disk (after `fdatasync`), so a power cut loses none of them.
    pub synced: AtomicU64,
    /// What the syncer keeps of this file: whether it is queued, who waits, a failed sync.
    sync: FileSync,
}

impl LogFile {
    /// `len` bytes written, of which `synced` are on the disk.
    pub fn new(file: File, len: u64, synced: u64) -> LogFile {
        LogFile { file, written: AtomicU64::new(len), synced: AtomicU64::new(synced), sync: FileSync::default() }
    }

    /// Makes every byte written so far durable, with one `fdatasync` for all the batches
    /// written since the last one (group commit). Blocking. Used by the syncer and by a
    /// segment closing, so a failure either of them meets is the file's for good.
    pub fn sync_blocking(&self) -> io::Result<()> {
        if let Some(e) = self.sync.failed.get() {
            return Err(io::Error::other(format!("the log could not be synced: {e}")));
        }
        let upto = self.written.load(Ordering::Acquire);
        if self.synced.load(Ordering::Acquire) >= upto {
            return Ok(());
        }
        if let Err(e) = self.file.sync_data() {
            tracing::error!(error = %e, "cannot sync the log: nothing more is acknowledged from it");
            let _ = self.sync.failed.set(e.to_string());
            return Err(e);
        }
        self.synced.fetch_max(upto, Ordering::AcqRel);
        Ok(())
    }
}

/// The syncer's state of one file.
#[derive(Debug, Default)]
struct FileSync {
    /// Queued for the thread, so that a thousand waiters queue it once.
    queued: AtomicBool,
    /// Signalled after each sync of the file.
    synced: Notify,
    /// The first failed sync. After it, what the file holds on the disk is unknown (Linux
    /// drops the pages that failed to be written, and a second sync would report success), so
    /// every later wait fails too and nothing more is acknowledged from this file.
    failed: OnceLock<String>,
}

struct Syncer {
    queue: Mutex<Vec<Arc<LogFile>>>,
    more: Condvar,
}

/// The process's one syncer, its thread started on first use.
fn syncer() -> &'static Syncer {
    static SYNCER: OnceLock<Syncer> = OnceLock::new();
    static STARTED: std::sync::Once = std::sync::Once::new();
    let syncer = SYNCER.get_or_init(|| Syncer { queue: Mutex::default(), more: Condvar::new() });
    STARTED.call_once(|| {
        std::thread::Builder::new()
            .name("streamlab-log-sync".into())
            .spawn(|| syncer.run())
            .expect("the log's sync thread starts");
    });
    syncer
}

impl Syncer {
    fn run(&self) {
        loop {
            let files = {
                let mut queue = self.queue.lock().expect("sync queue lock");
                while queue.is_empty() {
                    queue = self.more.wait(queue).expect("sync queue lock");
                }
                std::mem::take(&mut *queue)
            };
            for file in files {
                // Cleared before the sync reads how much is written: a waiter that finds the
                // file still queued is covered by this sync (the swap orders its write first).
                file.sync.queued.swap(false, Ordering::AcqRel);
                // A failure is kept on the file, for its waiters to find.
                let _ = file.sync_blocking();
                file.sync.synced.notify_waiters();
            }
        }
    }
}

/// Waits until the first `upto` bytes of `file` are on the disk.
pub async fn durable(file: &Arc<LogFile>, upto: u64) -> io::Result<()> {
    loop {
        // Listening before looking, so that a sync finishing in between still wakes it.
        let synced = file.sync.synced.notified();
        tokio::pin!(synced);
        synced.as_mut().enable();
        if file.synced.load(Ordering::Acquire) >= upto {
            return Ok(());
        }
        if let Some(e) = file.sync.failed.get() {
            return Err(io::Error::other(format!("the log could not be synced: {e}")));
        }
        if !file.sync.queued.swap(true, Ordering::AcqRel) {
            let syncer = syncer();
            syncer.queue.lock().expect("sync queue lock").push(file.clone());
            syncer.more.notify_one();
        }
        synced.await;
    }
}

#[cfg(test)]
mod tests {
    use super::LogFile;
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::Ordering;
    use std::sync::{Arc, Mutex};

    /// Producers appending to one file and waiting for their bytes, on a runtime of two
    /// workers as the lab's: each wait ends with its bytes on the disk, none waits forever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_wait_ends_with_its_bytes_synced() {
        let path = std::env::temp_dir().join(format!("streamlab-syncer-{}.log", uuid::Uuid::new_v4()));
        let file = Arc::new(LogFile::new(std::fs::File::create(&path).unwrap(), 0, 0));
        // Appends in order, as a partition's log makes them (under its lock).
        let appending = Arc::new(Mutex::new(()));
        let mut producers = Vec::new();
        for _ in 0..8 {
            let (file, appending) = (file.clone(), appending.clone());
            producers.push(tokio::spawn(async move {
                for _ in 0..50 {
                    let upto = {
                        let _turn = appending.lock().unwrap();
                        let at = file.written.load(Ordering::Acquire);
                        file.file.write_all_at(&[b'x'; 100], at).unwrap();
                        file.written.store(at + 100, Ordering::Release);
                        at + 100
                    };
                    super::durable(&file, upto).await.unwrap();
                    assert!(file.synced.load(Ordering::Acquire) >= upto);
                }
            }));
        }
        for p in producers {
            tokio::time::timeout(std::time::Duration::from_secs(60), p).await.expect("no wait hangs").unwrap();
        }
        assert_eq!(file.synced.load(Ordering::Acquire), 8 * 50 * 100);
        std::fs::remove_file(&path).unwrap();
    }
}
