//! Reading the cluster: whether it answers, its brokers, and every topic's partitions and
//! watermarks.

use crate::kafka::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use streamlab_wire::{BrokerInfo, ClusterInfo, PartitionInfo, TopicInfo};

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("cannot create a Kafka client: {0}")]
    Client(KafkaError),
    #[error("cannot read cluster metadata: {0}")]
    Metadata(KafkaError),
    #[error("cannot read the partitions' offsets: {0}")]
    Watermarks(KafkaError),
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
        let asked: Vec<(&str, i32)> =
            metadata.topics().iter().flat_map(|t| t.partitions().iter().map(move |p| (t.name(), p.id()))).collect();
        let marks = watermarks(&self.consumer, &asked, timeout).map_err(MetadataError::Watermarks)?;
        let mut topics = Vec::new();
        for t in metadata.topics() {
            let mut partitions: Vec<PartitionInfo> = t
                .partitions()
                .iter()
                .map(|p| {
                    let (low, high) = marks[&(t.name().to_owned(), p.id())];
                    PartitionInfo { id: p.id(), low, high }
                })
                .collect();
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
            let asked: Vec<(&str, i32)> = t.partitions().iter().map(|p| (t.name(), p.id())).collect();
            let marks = watermarks(&self.consumer, &asked, timeout).map_err(MetadataError::Watermarks)?;
            let mut partitions = Vec::new();
            for p in t.partitions() {
                let (low, high) = marks[&(t.name().to_owned(), p.id())];
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

    /// Every topic's name, partition count and replication factor, from metadata alone: what
    /// `topic list` and `cluster info` show, so they answer while a partition has no leader
    /// yet (a topic created a moment ago on a Kafka cluster) or its offsets cannot be read.
    /// Sorted by name. Blocking.
    pub fn layout(&self) -> Result<Vec<TopicLayout>, MetadataError> {
        let md = self.consumer.fetch_metadata(None, Duration::from_secs(5)).map_err(MetadataError::Metadata)?;
        let mut topics: Vec<TopicLayout> = md
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| TopicLayout {
                name: t.name().to_owned(),
                partitions: t.partitions().len(),
                replicas: t.partitions().first().map_or(0, |p| p.replicas().len()),
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// Every topic's partitions with their copies, from metadata alone: it answers when a
    /// partition's offsets cannot be read (a leader that moved while too few copies were in
    /// sync). Sorted by name. Blocking.
    pub fn copies(&self) -> Result<Vec<(String, Vec<streamlab_wire::PartitionReplicas>)>, MetadataError> {
        let md = self.consumer.fetch_metadata(None, Duration::from_secs(5)).map_err(MetadataError::Metadata)?;
        let mut topics: Vec<_> = md
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| (t.name().to_owned(), crate::kafka::replication::partitions(t)))
            .collect();
        topics.sort_by(|a, b| a.0.cmp(&b.0));
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

/// Each partition's log start and end offsets (low and high watermarks), by topic and partition.
pub type Watermarks = HashMap<(String, i32), (i64, i64)>;

/// The log start and end offsets of each of `partitions`, in two ListOffsets requests for
/// all of them (earliest, then latest: what Kafka's ListOffsets means by the timestamps -2
/// and -1), where `fetch_watermarks` sends two per partition. The lab reads every
/// partition's watermarks each second for its rates; one request per partition made an idle
/// lab with a dozen topics send a hundred requests a second to its broker. Blocking.
pub fn watermarks<C: Consumer>(
    consumer: &C,
    partitions: &[(&str, i32)],
    timeout: Duration,
) -> Result<Watermarks, KafkaError> {
    let mut marks = Watermarks::with_capacity(partitions.len());
    if partitions.is_empty() {
        return Ok(marks);
    }
    let deadline = Instant::now() + timeout;
    for (at, earliest) in [(Offset::Beginning, true), (Offset::End, false)] {
        let mut tpl = TopicPartitionList::with_capacity(partitions.len());
        for (topic, partition) in partitions {
            tpl.add_partition_offset(topic, *partition, at)?;
        }
        // A partition created a moment ago on a Kafka cluster has no leader for a few hundred
        // milliseconds, and a leader that just moved answers "not leader": both pass, so they
        // are asked again until the timeout rather than reported.
        let answered = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let last_try = Instant::now() + Duration::from_millis(100) >= deadline;
            match consumer.offsets_for_times(tpl.clone(), left) {
                Ok(a) if last_try || !a.elements().iter().any(|e| e.error().is_err_and(|e| leader_moving(&e))) => {
                    break a;
                }
                Err(e) if last_try || !leader_moving(&e) => return Err(e),
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        for e in answered.elements() {
            e.error()?;
            // -1 is Kafka's "no offset"; for these two queries only an empty log could give it.
            let offset = e.offset().to_raw().filter(|o| *o >= 0).unwrap_or(0);
            let mark = marks.entry((e.topic().to_owned(), e.partition())).or_default();
            if earliest {
                mark.0 = offset;
            } else {
                mark.1 = offset;
            }
        }
    }
    for (topic, partition) in partitions {
        if !marks.contains_key(&((*topic).to_owned(), *partition)) {
            return Err(KafkaError::OffsetFetch(rdkafka::types::RDKafkaErrorCode::UnknownPartition));
        }
    }
    Ok(marks)
}

/// Whether a partition's error passes by itself: no leader elected yet, or the leader moved.
fn leader_moving(e: &KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode::{LeaderNotAvailable, NotLeaderForPartition, UnknownTopicOrPartition};
    matches!(e.rdkafka_error_code(), Some(LeaderNotAvailable | NotLeaderForPartition | UnknownTopicOrPartition))
}

/// A topic as `streamlab topic list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TopicLayout {
    pub name: String,
    pub partitions: usize,
    pub replicas: usize,
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
