//! Reading the cluster's state: topics, partitions and watermarks.

use crate::kafka::KafkaConfig;
use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::time::Duration;
use streamlab_wire::{PartitionInfo, TopicInfo};

/// A client that reads cluster metadata; create one and keep it, connecting is the slow part.
pub struct ClusterReader {
    consumer: BaseConsumer,
}

impl ClusterReader {
    pub fn new(config: &KafkaConfig) -> anyhow::Result<Self> {
        let consumer = config.client().create().context("cannot create a Kafka client")?;
        Ok(ClusterReader { consumer })
    }

    /// Every topic with its partitions' watermarks, sorted by name. Blocking: call from
    /// `spawn_blocking`.
    pub fn topics(&self) -> anyhow::Result<Vec<TopicInfo>> {
        let timeout = Duration::from_secs(5);
        let metadata = self.consumer.fetch_metadata(None, timeout).context("cannot read cluster metadata")?;
        let mut topics = Vec::new();
        for t in metadata.topics() {
            let mut partitions = Vec::new();
            for p in t.partitions() {
                let (low, high) = self
                    .consumer
                    .fetch_watermarks(t.name(), p.id(), timeout)
                    .with_context(|| format!("cannot read offsets of {}/{}", t.name(), p.id()))?;
                partitions.push(PartitionInfo { id: p.id(), low, high });
            }
            partitions.sort_by_key(|p| p.id);
            let messages = partitions.iter().map(|p| p.high - p.low).sum();
            topics.push(TopicInfo { name: t.name().to_owned(), partitions, messages });
        }
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }
}
