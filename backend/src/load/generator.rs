//! The lab's built-in request generator, started and stopped from the browser. Off until
//! someone starts it, so it never does a student's generator exercise for them.

use crate::kafka::KafkaConfig;
use crate::kafka::delivery::Deliveries;
use crate::load::datagen::{DatagenConfig, Pace};
use crate::shutdown::Shutdown;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use streamlab_model::profile::Categoricals;
use streamlab_wire::{GeneratorControl, GeneratorStatus};
use tokio::sync::watch;

/// Fastest rate the browser may ask for.
pub const MAX_RATE: f64 = 20_000.0;

struct Running {
    stop: Shutdown,
    thread: std::thread::JoinHandle<()>,
}

pub struct Generator {
    kafka: KafkaConfig,
    topic: String,
    /// The lab's: a running generator stops with it, even before [`Generator::stop`].
    shutdown: Shutdown,
    deliveries: Arc<Deliveries>,
    running: Mutex<Option<Running>>,
    status: watch::Sender<GeneratorStatus>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("the rate must be between 0 and {MAX_RATE} requests/s, got {0}")]
pub struct RateError(pub f64);

impl Generator {
    pub fn new(kafka: KafkaConfig, topic: String, shutdown: Shutdown) -> Self {
        let status = GeneratorStatus { running: false, rate: 10.0, topic: topic.clone(), sent: 0 };
        Generator {
            kafka,
            topic,
            shutdown,
            deliveries: Arc::default(),
            running: Mutex::new(None),
            status: watch::channel(status).0,
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<GeneratorStatus> {
        self.status.subscribe()
    }

    pub fn status(&self) -> GeneratorStatus {
        let mut s = self.status.borrow().clone();
        s.sent = self.deliveries.acked.load(Ordering::Relaxed);
        s
    }

    /// Starts, stops or changes the rate. A new rate restarts the generator, which keeps the
    /// pacing exact from the moment of the change.
    pub fn control(&self, c: &GeneratorControl) -> Result<GeneratorStatus, RateError> {
        let rate = c.rate.unwrap_or(self.status.borrow().rate);
        if !(rate > 0.0 && rate <= MAX_RATE) {
            return Err(RateError(rate));
        }
        let mut running = self.running.lock().expect("generator lock");
        if let Some(r) = running.take() {
            r.stop.trigger();
            let _ = r.thread.join();
        }
        if c.running {
            let stop = self.shutdown.child();
            let config = DatagenConfig {
                topic: self.topic.clone(),
                pace: Pace::Rate(rate),
                count: None,
                categoricals: Categoricals::Joint,
                verbose: false,
                seed: None,
            };
            let (kafka, deliveries, s) = (self.kafka.clone(), self.deliveries.clone(), stop.clone());
            let thread = std::thread::spawn(move || {
                if let Err(e) = crate::load::datagen::run_counting(&kafka, &config, &s, deliveries) {
                    tracing::warn!("the lab's generator stopped: {e:#}");
                }
            });
            *running = Some(Running { stop, thread });
        }
        self.status.send_modify(|s| {
            s.running = c.running;
            s.rate = rate;
        });
        Ok(self.status())
    }

    /// Publishes the sent count (called once a second by the sampler).
    pub fn tick(&self) {
        let sent = self.deliveries.acked.load(Ordering::Relaxed);
        self.status.send_if_modified(|s| std::mem::replace(&mut s.sent, sent) != sent);
    }

    /// Stops a running generator and waits until its last request is acknowledged.
    pub fn stop(&self) {
        let _ = self.control(&GeneratorControl { running: false, rate: None });
    }
}
