//! The answering threads, shared by both delivery modes: a batch goes to whichever thread is
//! free, and its answer comes back through a slot of its own, so the caller takes answers in
//! the order it read the batches whichever thread finished first.
//!
//! Why threads of their own: the forest is most of a request's work (a profile of a drain on
//! Kafka: 20 % of both cores in `Tree::add_all`), and the Kafka I/O runs on librdkafka's
//! threads, so one thread answering would set the service's pace.

use super::answer::{Output, answer};
use super::metrics::InferenceMetrics;
use anyhow::Context;
use rdkafka::message::OwnedMessage;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::Scope;
use streamlab_model::Artifact;

/// A batch and its outputs, answered.
pub(super) type Answered = (Vec<OwnedMessage>, Vec<Output>);

/// Where a batch's answer arrives; `recv` fails only if an answering thread panicked.
pub(super) type Slot = Receiver<Answered>;

type Job = (Vec<OwnedMessage>, SyncSender<Answered>);

/// The answering threads of one session. They end when the pool is dropped and the batches
/// already given to them are answered.
pub(super) struct Answering {
    jobs: Sender<Job>,
    pub threads: usize,
}

impl Answering {
    /// Starts one thread per core (at most four) inside `scope`.
    pub fn start<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        model: &'env Artifact,
        version: &'env str,
        metrics: &'env InferenceMetrics,
    ) -> anyhow::Result<Answering> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            // Named, so a profiler or `top -H` shows where the service's time goes.
            std::thread::Builder::new()
                .name(format!("answer-{i}"))
                .spawn_scoped(scope, move || {
                    loop {
                        // Holding the lock while waiting is what hands each batch to one thread.
                        let job = queue.lock().expect("queue lock").recv();
                        let Ok((batch, done)) = job else { return };
                        let outputs = answer(&batch, model, version, metrics);
                        let _ = done.send((batch, outputs));
                    }
                })
                .context("cannot start an answering thread")?;
        }
        Ok(Answering { jobs, threads })
    }

    /// Gives `batch` to the next free thread; its answer arrives in the returned slot.
    pub fn submit(&self, batch: Vec<OwnedMessage>) -> Slot {
        let (done, slot) = sync_channel(1);
        // The threads live as long as the pool, so the job is always taken.
        let _ = self.jobs.send((batch, done));
        slot
    }
}
