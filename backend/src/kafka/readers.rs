//! Consumers kept for one-off reads: a page of a topic's records, a record to send again, an
//! exercise check's look at a topic.
//!
//! Such a read takes a few milliseconds on a warm connection, but a new consumer costs more
//! than the read: its first metadata request waits some 50 ms for its connection, and, having
//! a group (librdkafka assigns partitions only to a consumer with one), dropping it polls its
//! closing queue in 100 ms steps (rust-rdkafka's `Drop`). Measured on the embedded broker,
//! 50 records over 4 partitions: 4 ms to read, 105–155 ms in all. So reads borrow a consumer
//! here and give it back.

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Idle consumers kept at most; more readers at once than this are made and then retired.
const MAX_IDLE: usize = 8;

/// The idle consumers of one cluster's configuration. Clones share them.
#[derive(Clone, Default)]
pub struct Readers(Arc<Idle>);

#[derive(Default)]
struct Idle(Mutex<Vec<BaseConsumer>>);

impl Readers {
    /// An idle consumer, or a new one made from `client` (the cluster's configuration).
    pub fn borrow(&self, mut client: ClientConfig) -> Result<Reader, KafkaError> {
        let kept = self.0.0.lock().expect("readers").pop();
        let consumer = match kept {
            Some(c) => {
                // What happened while it waited (a broker's connection closed and reopened)
                // is no error of the next read: such events are dropped here.
                for _ in 0..1_000 {
                    if c.poll(Duration::ZERO).is_none() {
                        break;
                    }
                }
                c
            }
            None => client
                .set("group.id", format!("streamlab-read-{}", uuid::Uuid::new_v4()))
                .set("enable.auto.commit", "false")
                // The embedded broker holds a fetch for the whole wait even when records are
                // there; a read wants them now.
                .set("fetch.wait.max.ms", "10")
                .create()?,
        };
        Ok(Reader { consumer: Some(consumer), home: self.clone() })
    }

    /// How many consumers wait for a read.
    pub fn idle(&self) -> usize {
        self.0.0.lock().expect("readers").len()
    }
}

impl fmt::Debug for Readers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Readers({} idle)", self.idle())
    }
}

impl Drop for Idle {
    fn drop(&mut self) {
        retire(std::mem::take(self.0.get_mut().expect("readers")));
    }
}

/// Destroys consumers on a thread of their own, so no caller waits for it.
fn retire(consumers: Vec<BaseConsumer>) {
    if !consumers.is_empty() {
        std::thread::spawn(move || drop(consumers));
    }
}

/// A consumer borrowed for one read; it goes back, unassigned, when dropped.
pub struct Reader {
    consumer: Option<BaseConsumer>,
    home: Readers,
}

impl Deref for Reader {
    type Target = BaseConsumer;

    fn deref(&self) -> &BaseConsumer {
        self.consumer.as_ref().expect("a reader's consumer is there until it is dropped")
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let Some(consumer) = self.consumer.take() else { return };
        // Unassigned, it stops fetching while it waits (an idle lab stays idle), and the next
        // read's assignment starts afresh.
        if consumer.unassign().is_err() {
            return retire(vec![consumer]);
        }
        let mut idle = self.home.0.0.lock().expect("readers");
        if idle.len() < MAX_IDLE {
            idle.push(consumer);
        } else {
            drop(idle);
            retire(vec![consumer]);
        }
    }
}
