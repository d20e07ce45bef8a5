//! Reading the cluster: whether it answers, its brokers, and every topic's partitions and
//! watermarks.

use crate::kafka::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use std::time::{Duration, Instant};
use streamlab_wire::{BrokerInfo, ClusterInfo, PartitionInfo, TopicInfo};

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("cannot create a Kafka client: {0}")]
    Client(KafkaError),
    #[error("cannot read cluster metadata: {0}")]
    Metadata(KafkaError),
    #[error("cannot read offsets of {topic}/{partition}: {source}")]
    Watermarks { topic: String, partition: i32, source: KafkaError },
    #[error("topic {0} does not exist")]
    NoTopic(String),
    #[error("the Kafka cluster at {bootstrap} did not answer within {timeout:?}: {source}")]
    NotReady { bootstrap: String, timeout: Duration, source: KafkaError },
}

/// Waits until the cluster answers a metadata request.
pub fn wait_ready(config: &KafkaConfig, timeout: Duration) -> Result<(), MetadataError> {
    let consumer: BaseConsumer = config.client().create().map_err(MetadataError::Client)?;
    let deadline = Instant::now() + timeout;
    loop {
        match consumer.fetch_metadata(None, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(source) if Instant::now() >= deadline => {
                return Err(MetadataError::NotReady { bootstrap: config.bootstrap.clone(), timeout, source });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// A client that reads cluster metadata; create one and keep it, connecting is the slow part.
pub struct ClusterReader {
    consumer: BaseConsumer,
}

impl ClusterReader {
    pub fn new(config: &KafkaConfig) -> Result<Self, MetadataError> {
        let consumer = config.client().create().map_err(MetadataError::Client)?;
        Ok(ClusterReader { consumer })
    }

    /// Every topic with its partitions' watermarks, sorted by name. Blocking: call from
    /// `spawn_blocking`.
    pub fn topics(&self) -> Result<Vec<TopicInfo>, MetadataError> {
        let timeout = Duration::from_secs(5);
        let metadata = self.consumer.fetch_metadata(None, timeout).map_err(MetadataError::Metadata)?;
        let mut topics = Vec::new();
        for t in metadata.topics() {
            let mut partitions = Vec::new();
            for p in t.partitions() {
                let (low, high) = self.consumer.fetch_watermarks(t.name(), p.id(), timeout).map_err(|source| {
                    MetadataError::Watermarks { topic: t.name().to_owned(), partition: p.id(), source }
                })?;
                partitions.push(PartitionInfo { id: p.id(), low, high });
            }
            partitions.sort_by_key(|p| p.id);
            let messages = partitions.iter().map(|p| p.high - p.low).sum();
            topics.push(TopicInfo { name: t.name().to_owned(), partitions, messages });
        }
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// Every topic's partitions with leader, replicas and offsets, or only `topic`'s
    /// (an error naming it when it does not exist). Sorted by name. Blocking.
    pub fn details(&self, topic: Option<&str>) -> Result<Vec<TopicDetail>, MetadataError> {
        let timeout = Duration::from_secs(5);
        let md = self.consumer.fetch_metadata(topic, timeout).map_err(MetadataError::Metadata)?;
        let mut topics = Vec::new();
        for t in md.topics() {
            if t.error().is_some() || (topic.is_some() && t.partitions().is_empty()) {
                return Err(MetadataError::NoTopic(t.name().to_owned()));
            }
            let mut partitions = Vec::new();
            for p in t.partitions() {
                let (low, high) = self.consumer.fetch_watermarks(t.name(), p.id(), timeout).map_err(|source| {
                    MetadataError::Watermarks { topic: t.name().to_owned(), partition: p.id(), source }
                })?;
                partitions.push(PartitionDetail {
                    partition: p.id(),
                    leader: p.leader(),
                    replicas: p.replicas().to_vec(),
                    log_start_offset: low,
                    high_watermark: high,
                });
            }
            partitions.sort_by_key(|p| p.partition);
            topics.push(TopicDetail { name: t.name().to_owned(), partitions });
        }
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// The cluster id and brokers. Blocking.
    pub fn cluster(&self, bootstrap: &str, embedded_broker: bool) -> Result<ClusterInfo, MetadataError> {
        let timeout = Duration::from_secs(5);
        let md = self.consumer.fetch_metadata(None, timeout).map_err(MetadataError::Metadata)?;
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

/// A topic as `streamlab topic describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TopicDetail {
    pub name: String,
    pub partitions: Vec<PartitionDetail>,
}

impl TopicDetail {
    /// The replication factor (every partition has the same).
    pub fn replicas(&self) -> usize {
        self.partitions.first().map_or(0, |p| p.replicas.len())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionDetail {
    pub partition: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub log_start_offset: i64,
    pub high_watermark: i64,
}
