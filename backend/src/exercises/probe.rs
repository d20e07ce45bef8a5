//! Reading a broker for the checks: whole topics (cached for one check run), partition
//! counts, a group's committed offsets and its members. A topic's records and watermarks
//! come straight from the embedded broker's logs when it runs in this process. Blocking; the checker runs it on
//! blocking threads within each condition's time limit.

use crate::kafka::KafkaConfig;
use crate::kafka::configs;
use crate::kafka::connect::{self, Connect, ConnectError};
use crate::kafka::metadata::watermarks;
use crate::kafka::readers::Reader;
use crate::kafka::records::{self, LAB_SOURCE, Span};
use crate::kafka::registry::{self, state::State};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamlab_wire::{ConnectorView, Decoded, PartitionInfo, TopicConfig};

/// Reading more than this many records of one topic is not what an exercise needs; a check
/// over a bigger topic looks at the newest ones.
pub const MAX_RECORDS: usize = 200_000;
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("topic {0} does not exist")]
    NoTopic(String),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The embedded broker's logs, read directly, failed (a disk error).
    #[error("{0}")]
    Storage(#[from] std::io::Error),
    #[error("reading {0} did not reach its end in time")]
    Slow(String),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("reading Kafka Connect needs the checker's runtime")]
    NoRuntime,
    #[error("reading the Schema Registry's topic _schemas: {0}")]
    Schemas(String),
}

/// One stored record, as the checks compare it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The value decoded with the Schema Registry's schema it names, when it is in the
    /// registry's wire format (magic byte 0, schema id) and the schema is registered.
    pub decoded: Option<serde_json::Value>,
}

impl Record {
    /// A record as a consumer received it.
    fn of(m: &impl Message) -> Record {
        Record {
            partition: m.partition(),
            offset: m.offset(),
            timestamp_ms: m.timestamp().to_millis().unwrap_or(0),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers: m
                .headers()
                .map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect())
                .unwrap_or_default(),
            decoded: None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        self.value.as_deref().and_then(|v| std::str::from_utf8(v).ok())
    }

    pub fn key_text(&self) -> String {
        self.key.as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned()
    }

    pub fn header(&self, name: &str) -> Option<Option<&[u8]>> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_deref())
    }

    /// Which of the lab's own services wrote it (its [`LAB_SOURCE`] header), or None for a
    /// student's record.
    pub fn lab_source(&self) -> Option<&str> {
        self.header(LAB_SOURCE).flatten().and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The value as JSON: JSON text, or a value in the registry's wire format decoded.
    pub fn json(&self) -> Option<serde_json::Value> {
        if let Some(decoded) = &self.decoded {
            return Some(decoded.clone());
        }
        self.value.as_deref().and_then(|v| serde_json::from_slice(v).ok())
    }

    /// The id of the registry's schema the value names, when it is in the wire format.
    pub fn schema_id(&self) -> Option<u32> {
        registry::schema_id(self.value.as_deref()?)
    }

    /// Where it is, for messages: `partition 0 offset 4`.
    pub fn position(&self) -> String {
        format!("partition {} offset {}", self.partition, self.offset)
    }
}

/// A topic's records without what the lab's own generator and inference service wrote
/// there: an exercise is passed by a student's work, never by the lab's.
pub struct Own {
    /// The topic's records themselves when the lab wrote none there (no copy).
    pub records: Arc<Vec<Record>>,
    /// How many records the lab's own services wrote, and which service wrote the first.
    pub lab: usize,
    pub lab_source: Option<String>,
}

impl Own {
    pub fn of(all: &Arc<Vec<Record>>) -> Own {
        if all.iter().all(|r| r.lab_source().is_none()) {
            return Own { records: all.clone(), lab: 0, lab_source: None };
        }
        let (lab, own): (Vec<&Record>, Vec<&Record>) = all.iter().partition(|r| r.lab_source().is_some());
        Own {
            records: Arc::new(own.into_iter().cloned().collect()),
            lab: lab.len(),
            lab_source: lab.first().and_then(|r| r.lab_source()).map(str::to_owned),
        }
    }
}

/// One check run's view of the broker. Topics read once are kept, so conditions that look
/// at the same topic agree on what they saw.
pub struct Probe {
    kafka: KafkaConfig,
    metadata_client: Reader,
    topics: Mutex<HashMap<String, Arc<Vec<Record>>>>,
    /// The same topics without the lab's own records, split once per check run.
    own: Mutex<HashMap<String, Arc<Own>>>,
    /// The Kafka Connect worker, for the `connector` conditions.
    connect: Option<Connect>,
    /// The Schema Registry's state as its `_schemas` topic holds it, read once when a
    /// condition or a record in the wire format needs it.
    schemas: Mutex<Option<Arc<State>>>,
}

/// A group member: its id, and its assigned partitions of a topic where the broker reports them.
pub type Member = (String, Option<Vec<i32>>);

impl Probe {
    pub fn new(kafka: &KafkaConfig) -> Result<Probe, ProbeError> {
        Ok(Probe {
            kafka: kafka.clone(),
            metadata_client: kafka.reader()?,
            topics: Mutex::new(HashMap::new()),
            own: Mutex::new(HashMap::new()),
            connect: None,
            schemas: Mutex::new(None),
        })
    }

    pub fn with_connect(self, connect: Connect) -> Probe {
        Probe { connect: Some(connect), ..self }
    }

    /// The Kafka Connect worker's connectors. The checks run on the runtime's blocking
    /// threads, which may wait on its HTTP client.
    pub fn connectors(&self) -> Result<(String, Vec<ConnectorView>), ProbeError> {
        let connect = self.connect.clone().unwrap_or_else(|| Connect::new(connect::DEFAULT_URL));
        let handle = tokio::runtime::Handle::try_current().map_err(|_| ProbeError::NoRuntime)?;
        let connectors = handle.block_on(connect.connectors())?;
        Ok((connect.url, connectors))
    }

    /// The Schema Registry's subjects, versions and schemas, read from the broker's
    /// `_schemas` (empty when nobody registered a schema): what any registry serving this
    /// cluster answers, without asking one.
    pub fn schemas(&self) -> Result<Arc<State>, ProbeError> {
        if let Some(s) = self.schemas.lock().expect("probe cache").as_ref() {
            return Ok(s.clone());
        }
        let (state, _) = registry::replay(&self.kafka).map_err(|e| ProbeError::Schemas(format!("{e:#}")))?;
        let state = Arc::new(state);
        *self.schemas.lock().expect("probe cache") = Some(state.clone());
        Ok(state)
    }

    /// Every topic's name and partition count.
    pub fn topics(&self) -> Result<Vec<(String, usize)>, ProbeError> {
        let md = self.metadata_client.fetch_metadata(None, TIMEOUT)?;
        Ok(md
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| (t.name().to_owned(), t.partitions().len()))
            .collect())
    }

    /// The topic's partition count, or `NoTopic`.
    pub fn partitions(&self, topic: &str) -> Result<usize, ProbeError> {
        let md = self.metadata_client.fetch_metadata(Some(topic), TIMEOUT)?;
        md.topics()
            .first()
            .filter(|t| t.error().is_none() && !t.partitions().is_empty())
            .map(|t| t.partitions().len())
            .ok_or_else(|| ProbeError::NoTopic(topic.to_owned()))
    }

    /// The fewest copies any of the topic's partitions has.
    pub fn copies(&self, topic: &str) -> Result<usize, ProbeError> {
        let md = self.metadata_client.fetch_metadata(Some(topic), TIMEOUT)?;
        md.topics()
            .first()
            .filter(|t| t.error().is_none() && !t.partitions().is_empty())
            .and_then(|t| t.partitions().iter().map(|p| p.replicas().len()).min())
            .ok_or_else(|| ProbeError::NoTopic(topic.to_owned()))
    }

    /// The brokers in the cluster.
    pub fn brokers(&self) -> Result<usize, ProbeError> {
        Ok(self.metadata_client.fetch_metadata(None, TIMEOUT)?.brokers().len())
    }

    /// The topic's settings in force.
    pub fn settings(&self, topic: &str) -> Result<Vec<TopicConfig>, ProbeError> {
        configs::settings_blocking(&self.kafka, &[topic])?
            .remove(topic)
            .ok_or_else(|| ProbeError::NoTopic(topic.to_owned()))
    }

    /// Every partition's watermarks.
    pub fn watermarks(&self, topic: &str) -> Result<Vec<PartitionInfo>, ProbeError> {
        if let Some(logs) = self.kafka.local() {
            let marks = logs.watermarks(topic)?.filter(|m| !m.is_empty());
            let marks = marks.ok_or_else(|| ProbeError::NoTopic(topic.to_owned()))?;
            return Ok(marks
                .into_iter()
                .map(|m| PartitionInfo { id: m.partition, low: m.low, high: m.high })
                .collect());
        }
        let n = self.partitions(topic)?;
        let asked: Vec<(&str, i32)> = (0..n as i32).map(|id| (topic, id)).collect();
        let marks = watermarks(&*self.metadata_client, &asked, TIMEOUT)?;
        Ok((0..n as i32)
            .map(|id| {
                let (low, high) = marks[&(topic.to_owned(), id)];
                PartitionInfo { id, low, high }
            })
            .collect())
    }

    /// The topic's records (the newest [`MAX_RECORDS`] at most), ordered by timestamp,
    /// then partition and offset.
    pub fn records(&self, topic: &str) -> Result<Arc<Vec<Record>>, ProbeError> {
        if let Some(r) = self.topics.lock().expect("probe cache").get(topic) {
            return Ok(r.clone());
        }
        let records = Arc::new(self.read(topic)?);
        self.topics.lock().expect("probe cache").insert(topic.to_owned(), records.clone());
        Ok(records)
    }

    /// The topic's records a student wrote, apart from the lab's own ([`Own`]).
    pub fn own_records(&self, topic: &str) -> Result<Arc<Own>, ProbeError> {
        if let Some(own) = self.own.lock().expect("probe cache").get(topic) {
            return Ok(own.clone());
        }
        let own = Arc::new(Own::of(&self.records(topic)?));
        self.own.lock().expect("probe cache").insert(topic.to_owned(), own.clone());
        Ok(own)
    }

    fn read(&self, topic: &str) -> Result<Vec<Record>, ProbeError> {
        let marks = self.watermarks(topic)?;
        let total: i64 = marks.iter().map(|m| m.high - m.low).sum();
        let parts: Vec<Span> = marks
            .iter()
            .map(|&PartitionInfo { id, low, high }| {
                // A share of the cap per partition, by its size, keeping the newest.
                let keep = if total as usize > MAX_RECORDS {
                    ((high - low) as f64 * MAX_RECORDS as f64 / total as f64) as i64
                } else {
                    high - low
                };
                Span { partition: id, start: (high - keep).max(low), end: high }
            })
            .collect();
        let mut out = Vec::new();
        let local = self.kafka.local().map(|logs| {
            parts.iter().try_for_each(|s| {
                logs.read(topic, s.partition, s.start, s.end, |m| {
                    out.push(Record::of(&m));
                    true
                })
                .map(drop)
            })
        });
        if let Some(Err(e)) = &local {
            // What the logs could not give (a batch they cannot inflate), a consumer may.
            tracing::warn!(topic, error = %e, "reading through a consumer instead");
            out.clear();
        }
        if !matches!(local, Some(Ok(()))) {
            let consumer = self.kafka.reader()?;
            let mut tpl = TopicPartitionList::new();
            for s in &parts {
                tpl.add_partition_offset(topic, s.partition, Offset::Offset(s.start))?;
            }
            consumer.assign(&tpl)?;
            let deadline = Instant::now() + Duration::from_secs(60);
            let complete = records::read_to_end(&consumer, &parts, deadline, |m| {
                out.push(Record::of(m));
                true
            })?;
            if !complete {
                return Err(ProbeError::Slow(topic.to_owned()));
            }
        }
        if out.iter().any(|r| r.schema_id().is_some()) {
            let schemas = self.schemas()?;
            for r in &mut out {
                r.decoded = r.value.as_deref().and_then(|v| schemas.decode(v)).and_then(|d| match d {
                    Decoded::Avro { record, .. } => Some(record),
                    Decoded::Json { json } => Some(json),
                    _ => None,
                });
            }
        }
        out.sort_by_key(|r| (r.timestamp_ms, r.partition, r.offset));
        Ok(out)
    }

    /// The group's committed offset per partition of `topic` (None: nothing committed).
    pub fn committed(&self, group: &str, topic: &str) -> Result<Vec<(i32, Option<i64>)>, ProbeError> {
        let n = self.partitions(topic)?;
        if let Some(logs) = self.kafka.local() {
            return Ok(logs.committed(group, topic, n)?);
        }
        let client: BaseConsumer =
            self.kafka.client().set("group.id", group).set("enable.auto.commit", "false").create()?;
        let mut tpl = TopicPartitionList::new();
        for p in 0..n as i32 {
            tpl.add_partition(topic, p);
        }
        let committed = client.committed_offsets(tpl, TIMEOUT)?;
        Ok(committed
            .elements()
            .iter()
            .map(|e| {
                (
                    e.partition(),
                    match e.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    },
                )
            })
            .collect())
    }

    /// The group's active members: (member id, assigned partitions of `topic` if the broker
    /// reports assignments).
    pub fn members(&self, group: &str, topic: &str) -> Result<Vec<Member>, ProbeError> {
        let list = self.metadata_client.fetch_group_list(Some(group), TIMEOUT)?;
        let Some(g) = list.groups().iter().find(|g| g.name() == group) else { return Ok(Vec::new()) };
        Ok(g.members()
            .iter()
            .map(|m| {
                let assignment = m.assignment().filter(|a| !a.is_empty()).map(|a| {
                    crate::kafka::groups::parse_assignment(a)
                        .into_iter()
                        .filter(|t| t.topic == topic)
                        .flat_map(|t| t.partitions)
                        .collect()
                });
                (m.id().to_owned(), assignment)
            })
            .collect())
    }
}
