//! The cluster's state (brokers, topics, partitions and watermarks) and topic admin.

use crate::kafka::KafkaConfig;
use anyhow::Context;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;
use streamlab_wire::{BrokerInfo, ClusterInfo, PartitionInfo, TopicInfo};

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

impl ClusterReader {
    /// The cluster id and brokers. Blocking.
    pub fn cluster(&self, bootstrap: &str, embedded_broker: bool) -> anyhow::Result<ClusterInfo> {
        let timeout = Duration::from_secs(5);
        let md = self.consumer.fetch_metadata(None, timeout).context("cannot read cluster metadata")?;
        let brokers =
            md.brokers().iter().map(|b| BrokerInfo { id: b.id(), host: b.host().to_owned(), port: b.port() }).collect();
        Ok(ClusterInfo {
            cluster_id: self.consumer.client().fetch_cluster_id(timeout),
            brokers,
            bootstrap: bootstrap.to_owned(),
            embedded_broker,
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TopicError {
    #[error("invalid topic name `{0}`: use 1 to 249 letters, digits, `.`, `_` or `-` (not `.` or `..`)")]
    InvalidName(String),
    #[error("partitions must be between 1 and 1000, got {0}")]
    InvalidPartitions(i32),
    #[error("topic {0} already exists")]
    Exists(String),
    #[error("topic {0} does not exist")]
    Missing(String),
    #[error("the broker refused: {0}")]
    Broker(String),
}

/// Kafka's own rule for topic names.
pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    let ok = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok { Ok(()) } else { Err(TopicError::InvalidName(name.to_owned())) }
}

pub async fn create_topic(config: &KafkaConfig, name: &str, partitions: i32) -> Result<(), TopicError> {
    validate_topic_name(name)?;
    if !(1..=1000).contains(&partitions) {
        return Err(TopicError::InvalidPartitions(partitions));
    }
    let admin = config.admin().map_err(|e| TopicError::Broker(format!("{e:#}")))?;
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin.create_topics([&topic], &opts).await.map_err(|e| TopicError::Broker(e.to_string()))?;
    match results.into_iter().next() {
        Some(Ok(_)) | None => Ok(()),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Err(TopicError::Exists(name.to_owned())),
        Some(Err((_, code))) => Err(TopicError::Broker(code.to_string())),
    }
}

pub async fn delete_topic(config: &KafkaConfig, name: &str) -> Result<(), TopicError> {
    validate_topic_name(name)?;
    let admin = config.admin().map_err(|e| TopicError::Broker(format!("{e:#}")))?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin.delete_topics(&[name], &opts).await.map_err(|e| TopicError::Broker(e.to_string()))?;
    match results.into_iter().next() {
        Some(Ok(_)) | None => Ok(()),
        Some(Err((_, RDKafkaErrorCode::UnknownTopicOrPartition))) => Err(TopicError::Missing(name.to_owned())),
        Some(Err((_, code))) => Err(TopicError::Broker(code.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafkas_rule() {
        for good in ["dev_sandbox", "SENSOR_ID_1", "a.b-c", &"x".repeat(249)] {
            assert_eq!(validate_topic_name(good), Ok(()), "{good}");
        }
        for bad in ["", ".", "..", "has space", "ünï", "a/b", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
    }
}
