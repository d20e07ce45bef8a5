//! A client's connection to the embedded broker: its requests handled one at a time and in
//! order, each answer written once the records it acknowledges are on the disk.
//!
//! nisshi's own connection loop reads a request, answers it, and only then reads the next. A
//! producer keeps several requests in flight on its one connection (librdkafka up to a million,
//! kafka-python five), so with `--data-dir` each of them waited there for its own `fdatasync`
//! and one producer's writes never shared a sync: a default producer sending one record per
//! request topped out near 2,400 requests/s, and at 2,000/s the answers queued for seconds.
//!
//! Here the requests are still handled strictly in order (a partition's batches are appended
//! in the order they were sent, and a request sees what the one before it did), but handling
//! does not wait for the disk: [`log::deferring_syncs`] leaves each produce's sync to the
//! answer. A writer task of the connection takes the answers in order, waits for each one's
//! sync — by the time it asks, the sync has usually covered the requests handled since, which
//! is group commit within one connection — and only then writes it. No answer is written
//! before what it acknowledges is on the disk, and the protocol's rule holds: answers go out
//! in the order of their requests. An answer with nothing to wait for and none queued before
//! it (every answer in memory) is written at once, as nisshi's loop does, without the hand-off.

use super::log;
use bytes::{Bytes, BytesMut};
use nisshi_sans_io::{BytesInput, CloseAfterResponseExtension, SuppressResponseExtension};
use nisshi_service::{DEFAULT_CONNECTION_IDLE_TIMEOUT, DEFAULT_IO_IDLE_TIMEOUT, DEFAULT_MAXIMUM_FRAME_SIZE};
use rama::extensions::Extensions;
use std::fmt::Debug;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Mutex, mpsc};
use tokio::time::timeout;

/// Answers handled but not yet written, at most: past it, the connection reads no further
/// request until the disk catches up. Records are read by consumers as soon as they are
/// appended, before their sync, so only this bound lets a slow sync delay them: with 256, a
/// sync of 130 ms or more (seen when something else wrote to the disk) stopped a producer of
/// 2,000 one-record requests/s, and its records reached the lab's service that much later.
/// 4,096 is two seconds of that producer, a few hundred KiB of answers.
const ANSWERS_IN_FLIGHT: usize = 4096;

/// Body bytes read at a time: a peer that declares a large frame and stalls holds at most
/// this much more than it sent (as in nisshi's loop).
const READ_CHUNK: usize = 64 * 1024;

/// An answer in its request's turn.
struct Answer {
    /// `None`: the request asked for no answer (`acks=0`).
    frame: Option<Bytes>,
    /// What must be on the disk before `frame` is written.
    unsynced: log::Unsynced,
    /// The protocol asks the broker to close the connection after this answer.
    close: bool,
}

/// Serves `stream` with `service` (nisshi's protocol services) until the client hangs up, a
/// frame breaks the limits, or a sync fails (the connection is then dropped without the
/// answer: the client retries; nothing unsynced was acknowledged).
pub async fn serve<S>(stream: TcpStream, service: S) -> io::Result<()>
where
    S: rama::Service<BytesInput, Output = Bytes>,
    S::Error: Debug,
{
    let (mut reader, writer) = stream.into_split();
    let writer = Arc::new(Mutex::new(writer));
    let queued = Arc::new(AtomicUsize::new(0));
    let (answers, queue) = mpsc::channel(ANSWERS_IN_FLIGHT);
    // Its own task, so that a sync (which blocks its worker) never stops the reading.
    let writing =
        tokio_util::task::AbortOnDropHandle::new(tokio::spawn(write_answers(writer.clone(), queue, queued.clone())));
    // The connection's own scope, as nisshi's loop makes one: what a request stores in it
    // (its markers below, the client's API versions) stays on this connection.
    let extensions = Extensions::default();
    let _ = extensions.insert(SuppressResponseExtension::default());
    let _ = extensions.insert(CloseAfterResponseExtension::default());
    let read = async {
        while let Some(request) = read_frame(&mut reader).await? {
            let input = BytesInput { bytes: request, extensions: extensions.clone() };
            let (answer, unsynced) = log::deferring_syncs(service.serve(input)).await;
            let frame = answer.map_err(|e| io::Error::other(format!("{e:?}")))?;
            let suppress = SuppressResponseExtension::take(&extensions);
            let close = CloseAfterResponseExtension::take(&extensions);
            let answer = Answer { frame: (!suppress).then_some(frame), unsynced, close };
            if answer.unsynced.is_empty() && queued.load(Ordering::Acquire) == 0 {
                // Nothing to wait for, before it or for it (always so in memory): answered
                // here, without the hand-off to the writer.
                let mut writer = writer.lock().await;
                write(&mut writer, answer).await?;
                if close {
                    break;
                }
                continue;
            }
            queued.fetch_add(1, Ordering::AcqRel);
            if answers.send(answer).await.is_err() || close {
                // The writer stopped (a failed write or sync), or this was the last answer.
                break;
            }
            // The writer, just woken, waits in this worker's next-task slot, which the other
            // worker cannot take, until this task gives way; with a producer's requests always
            // waiting on the socket it would not give way for some hundred requests.
            tokio::task::yield_now().await;
        }
        Ok::<(), io::Error>(())
    };
    let read = read.await;
    // The answers handled so far are still written (the client may have closed only its side).
    drop(answers);
    let written = writing.await.unwrap_or_else(|e| Err(io::Error::other(e)));
    read.and(written)
}

/// Writes the answers in order, each once what it acknowledges is on the disk; `queued`
/// counts those not yet written.
async fn write_answers(
    writer: Arc<Mutex<OwnedWriteHalf>>,
    mut queue: mpsc::Receiver<Answer>,
    queued: Arc<AtomicUsize>,
) -> io::Result<()> {
    while let Some(mut answer) = queue.recv().await {
        std::mem::take(&mut answer.unsynced).sync().await.inspect_err(|e| {
            tracing::error!(error = %e, "cannot sync the log: the connection is closed unanswered");
        })?;
        let close = answer.close;
        write(&mut *writer.lock().await, answer).await?;
        // Only now: the reader answers by itself only when every answer before is written.
        queued.fetch_sub(1, Ordering::AcqRel);
        if close {
            break;
        }
    }
    Ok(())
}

/// Writes an answer whose records are on the disk.
async fn write(writer: &mut OwnedWriteHalf, answer: Answer) -> io::Result<()> {
    if let Some(frame) = answer.frame {
        within(DEFAULT_IO_IDLE_TIMEOUT, writer.write_all(&frame)).await?;
    }
    if answer.close {
        let _ = writer.shutdown().await;
    }
    Ok(())
}

/// The next request, its 4-byte size included (as nisshi's services take it); `None` when the
/// client hung up between requests.
async fn read_frame(reader: &mut OwnedReadHalf) -> io::Result<Option<Bytes>> {
    let mut size = [0u8; 4];
    // An idle connection may wait long for its next request; once one has begun, the rest
    // of it must keep coming.
    if within(DEFAULT_CONNECTION_IDLE_TIMEOUT, reader.read(&mut size[..1])).await? == 0 {
        return Ok(None);
    }
    within(DEFAULT_IO_IDLE_TIMEOUT, reader.read_exact(&mut size[1..])).await?;
    let declared = i32::from_be_bytes(size);
    let body = usize::try_from(declared)
        .ok()
        .filter(|b| *b <= DEFAULT_MAXIMUM_FRAME_SIZE)
        .ok_or_else(|| invalid(format!("a request of {declared} bytes (at most {DEFAULT_MAXIMUM_FRAME_SIZE})")))?;
    let mut frame = BytesMut::with_capacity(4 + body.min(READ_CHUNK));
    frame.extend_from_slice(&size);
    while frame.len() < 4 + body {
        frame.reserve((4 + body - frame.len()).min(READ_CHUNK));
        let mut chunk = (&mut *reader).take((4 + body - frame.len()) as u64);
        if within(DEFAULT_IO_IDLE_TIMEOUT, chunk.read_buf(&mut frame)).await? == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
    }
    Ok(Some(frame.freeze()))
}

async fn within<T>(limit: Duration, io: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    timeout(limit, io).await.map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the client went quiet"))?
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}
