//! The service's sessions and restarts: at least once (default), the pipeline of
//! [`super::pipeline`]; exactly once, the rounds in transactions of [`super::transactions`].
//! A failed session restarts from the committed offsets and answers what it had not
//! committed again.

use super::config::InferenceConfig;
use super::metrics::InferenceMetrics;
use super::{pipeline, transactions};
use crate::kafka::KafkaConfig;
use crate::kafka::log::LogStorage;
use crate::kafka::metadata::watermarks;
use crate::shutdown::Shutdown;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::Duration;
use streamlab_model::Artifact;

pub struct InferenceService {
    pub kafka: KafkaConfig,
    pub config: InferenceConfig,
    pub model: Arc<Artifact>,
    pub metrics: Arc<InferenceMetrics>,
    /// The embedded broker's storage when it runs in this process: an idle service waits on
    /// its arrivals instead of fetching (see `idle`).
    pub arrivals: Option<Arc<LogStorage>>,
}

impl InferenceService {
    /// Runs until `shutdown` is triggered, restarting a failed session after a pause: a
    /// failed round was not committed, so the next session answers it again.
    pub fn run_until(&self, shutdown: &Shutdown) {
        std::thread::scope(|scope| {
            scope.spawn(|| self.watch_lag(shutdown));
            self.serve(shutdown);
        });
    }

    fn serve(&self, shutdown: &Shutdown) {
        // One transactional id for the service's life: a new session's producer then fences
        // the previous one (its open transaction aborted), even one librdkafka left stuck.
        let transactional_id = self
            .config
            .transactional_id
            .clone()
            .unwrap_or_else(|| format!("streamlab-inference-{}", uuid::Uuid::new_v4()));
        while !shutdown.is_triggered() {
            match self.session(&transactional_id, shutdown) {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "inference session failed; restarting in 1 s");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    fn session(&self, transactional_id: &str, shutdown: &Shutdown) -> anyhow::Result<()> {
        let (kafka, config, model) = (&self.kafka, &self.config, &self.model);
        if config.exactly_once {
            transactions::session(kafka, config, transactional_id, model, &self.metrics, shutdown)
        } else {
            pipeline::session(kafka, config, model, &self.metrics, shutdown, self.arrivals.as_deref())
        }
    }

    /// Once a second: lag per partition as Kafka's tools define it, log end offset minus
    /// the group's committed offset. A client of its own does the asking, so broker round
    /// trips never hold up the service's loop.
    fn watch_lag(&self, shutdown: &Shutdown) {
        let Ok(client) = self.kafka.client().set("group.id", &self.config.group).create::<BaseConsumer>() else {
            return;
        };
        let topic = &self.config.requests;
        let timeout = Duration::from_secs(2);
        while !shutdown.is_triggered() {
            if let Ok(md) = client.fetch_metadata(Some(topic), timeout) {
                let mut tpl = TopicPartitionList::new();
                for p in md.topics().iter().flat_map(|t| t.partitions()) {
                    tpl.add_partition(topic, p.id());
                }
                if let Ok(committed) = client.committed_offsets(tpl, timeout) {
                    let asked: Vec<(&str, i32)> =
                        committed.elements().iter().map(|e| (topic.as_str(), e.partition())).collect();
                    if let Ok(marks) = watermarks(&client, &asked, timeout) {
                        for e in committed.elements() {
                            let (low, high) = marks[&(topic.clone(), e.partition())];
                            let done = match e.offset() {
                                Offset::Offset(o) => o,
                                _ => low,
                            };
                            self.metrics.set_lag(topic, e.partition(), (high - done).max(0));
                        }
                    }
                }
            }
            for _ in 0..10 {
                if shutdown.is_triggered() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
