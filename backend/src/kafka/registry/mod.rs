//! The lab's Schema Registry: Confluent's REST API (served by `web::registry`), as Redpanda
//! serves one from its broker, so `SchemaRegistryClient`, `AvroSerializer` and `curl` work
//! against the lab unchanged.
//!
//! - [`schema`]: a schema, Avro or JSON Schema, parsed and compared by meaning.
//! - [`compat`]: the compatibility levels and their checks.
//! - [`state`]: the subjects, versions and levels, and the `_schemas` records that change them.
//! - [`diff`]: what changed from one version to the next, for the lab's page.
//! - [`client`]: registering a schema with a registry over HTTP, as a producer does.
//!
//! The schemas live in the compacted topic `_schemas` (created with the first schema) of
//! whatever broker the lab uses, so they
//! survive a restart with `--data-dir` and are the cluster's when the lab runs with
//! `--brokers`. This registry is the topic's one writer: two labs sharing a cluster would each
//! number schemas on their own.

pub mod client;
pub mod compat;
pub mod diff;
pub mod schema;
pub mod state;

use crate::kafka::KafkaConfig;
use crate::kafka::admin::ensure_topics_with;
use crate::kafka::producer::{AsyncProducer, Outgoing};
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use schema::Schema;
use serde_json::Value;
use state::{Change, Registration, State};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};
use streamlab_wire::Decoded;

/// Where the registry keeps its schemas; Confluent's and Redpanda's name, so a course's
/// notes about it hold.
pub const TOPIC: &str = "_schemas";

/// Where the lab serves the registry unless told otherwise: the port the course uses.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8081";

/// An answer the API gives as an error: its HTTP status, Confluent's error code and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (error {code})")]
pub struct RegistryError {
    pub status: u16,
    pub code: u32,
    pub message: String,
}

impl RegistryError {
    fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        RegistryError { status, code, message: message.into() }
    }
    pub fn subject_not_found(subject: &str) -> Self {
        Self::new(404, 40401, format!("Subject '{subject}' not found."))
    }
    pub fn version_not_found(version: &str) -> Self {
        Self::new(404, 40402, format!("Version {version} not found."))
    }
    pub fn schema_not_found(id: u32) -> Self {
        Self::new(404, 40403, format!("Schema {id} not found"))
    }
    pub fn schema_not_registered() -> Self {
        Self::new(404, 40403, "Schema not found")
    }
    pub fn subject_soft_deleted(subject: &str) -> Self {
        Self::new(404, 40404, format!("Subject '{subject}' was soft deleted. Set permanent=true to delete permanently"))
    }
    pub fn subject_not_soft_deleted(subject: &str) -> Self {
        Self::new(404, 40405, format!("Subject '{subject}' was not deleted first before being permanently deleted"))
    }
    pub fn version_not_soft_deleted(subject: &str, version: i32) -> Self {
        Self::new(
            404,
            40407,
            format!("Subject '{subject}' Version {version} was not deleted first before being permanently deleted"),
        )
    }
    pub fn level_not_configured(subject: &str) -> Self {
        Self::new(404, 40408, format!("Subject '{subject}' does not have subject-level compatibility configured"))
    }
    pub fn incompatible(subject: &str, details: &[String]) -> Self {
        Self::new(
            409,
            409,
            format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                details.join(", ")
            ),
        )
    }
    pub fn invalid_schema(why: &str) -> Self {
        Self::new(422, 42201, format!("Invalid schema: {why}"))
    }
    pub fn invalid_version(version: &str) -> Self {
        Self::new(
            422,
            42202,
            format!(
                "The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
            ),
        )
    }
    pub fn invalid_level() -> Self {
        Self::new(
            422,
            42203,
            "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
        )
    }
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, 422, message)
    }
    pub fn store(why: impl std::fmt::Display) -> Self {
        Self::new(500, 50001, format!("Error in the backend data store: {why}"))
    }
}

/// The schema id a value in the registry's wire format names: magic byte 0, then the id in
/// four bytes (big-endian), then the data; `None` for any other value.
pub fn schema_id(value: &[u8]) -> Option<u32> {
    match value {
        [0, a, b, c, d, ..] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// Whatever decodes values in the registry's wire format: the registry the lab runs, or its
/// state read back from `_schemas` by a command that has no registry of its own.
pub trait Schemas {
    fn decode(&self, bytes: &[u8]) -> Option<Decoded>;
}

impl Schemas for Registry {
    fn decode(&self, bytes: &[u8]) -> Option<Decoded> {
        self.read().decode(bytes)
    }
}

impl Schemas for State {
    fn decode(&self, bytes: &[u8]) -> Option<Decoded> {
        State::decode(self, bytes)
    }
}

/// The registry's state for a command line reading a topic: read from `_schemas` the first
/// time a value in the wire format comes, and again (at most every 2 s) when one names a
/// schema it does not hold yet, registered since. Blocking.
pub struct Replayed {
    kafka: KafkaConfig,
    state: Option<State>,
    read_at: Option<Instant>,
}

impl Replayed {
    pub fn new(kafka: &KafkaConfig) -> Replayed {
        Replayed { kafka: kafka.clone(), state: None, read_at: None }
    }

    /// The schemas to decode `value` with, if it is in the wire format.
    pub fn for_value(&mut self, value: Option<&[u8]>) -> Option<&State> {
        let id = schema_id(value?)?;
        let known = self.state.as_ref().is_some_and(|s| s.schema(id).is_ok());
        if !known && self.read_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(2)) {
            self.read_at = Some(Instant::now());
            match replay(&self.kafka) {
                Ok((state, _)) => self.state = Some(state),
                Err(e) => tracing::warn!("cannot read the Schema Registry's {TOPIC} to decode schema {id}: {e:#}"),
            }
        }
        self.state.as_ref()
    }
}

/// The registry: its state in memory, kept in step with `_schemas`.
pub struct Registry {
    kafka: KafkaConfig,
    topic_exists: AtomicBool,
    state: RwLock<State>,
    /// Held while a change is planned, written and applied, so two changes never plan
    /// from the same state (two new versions numbered alike). Not rdkafka's `FutureProducer`:
    /// its polling thread spun a millisecond in every hundred, a quarter of an idle lab's CPU
    /// (perf, `kafka::producer`).
    writer: tokio::sync::Mutex<AsyncProducer>,
}

impl Registry {
    /// Reads `_schemas` from the start, if the broker has it. It is created with the first
    /// schema, so a lab nobody registers schemas on has no topic it did not ask for.
    pub async fn open(kafka: &KafkaConfig) -> anyhow::Result<Registry> {
        let reader = kafka.clone();
        let (state, exists) = tokio::task::spawn_blocking(move || replay(&reader)).await??;
        let producer = AsyncProducer::create(kafka.client().set("acks", "all").set("message.timeout.ms", "10000"))?;
        Ok(Registry {
            kafka: kafka.clone(),
            topic_exists: AtomicBool::new(exists),
            state: RwLock::new(state),
            writer: tokio::sync::Mutex::new(producer),
        })
    }

    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers `schema` under `subject`; its id.
    pub async fn register(&self, subject: &str, schema: Schema) -> Result<u32, RegistryError> {
        let producer = self.writer.lock().await;
        let planned = self.read().register(subject, schema)?;
        match planned {
            Registration::Known(id) => Ok(id),
            Registration::New(id, change) => {
                self.write(&producer, vec![change]).await?;
                Ok(id)
            }
        }
    }

    /// Plans a change from the current state with `plan`, writes it and applies it.
    pub async fn change<T>(
        &self,
        plan: impl FnOnce(&State) -> Result<(T, Vec<Change>), RegistryError>,
    ) -> Result<T, RegistryError> {
        let producer = self.writer.lock().await;
        let (answer, changes) = plan(&self.read())?;
        self.write(&producer, changes).await?;
        Ok(answer)
    }

    async fn write(&self, producer: &AsyncProducer, changes: Vec<Change>) -> Result<(), RegistryError> {
        if !changes.is_empty() && !self.topic_exists.load(Ordering::Acquire) {
            // Compacted and kept for ever: a schema is needed as long as a record written with it.
            let settings = [("cleanup.policy", "compact"), ("retention.ms", "-1"), ("retention.bytes", "-1")];
            ensure_topics_with(&self.kafka, &[TOPIC], 1, &settings).await.map_err(RegistryError::store)?;
            self.topic_exists.store(true, Ordering::Release);
        }
        for change in changes {
            let key = change.key.to_string();
            let value = change.value.as_ref().map(Value::to_string);
            let record = Outgoing {
                key: Some(key.as_bytes()),
                value: value.as_deref().map(str::as_bytes),
                headers: None,
                partition: Some(0),
            };
            producer.send(TOPIC, record, Duration::from_secs(10)).await.map_err(RegistryError::store)?;
            self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner).apply(&change);
        }
        Ok(())
    }
}

/// Everything `_schemas` holds, applied in order, and whether the broker has the topic:
/// the registry's state as any reader of the broker can rebuild it (the checker and the
/// command line do, to decode records without a registry running).
pub fn replay(kafka: &KafkaConfig) -> anyhow::Result<(State, bool)> {
    let consumer: BaseConsumer = kafka
        .client()
        .set("group.id", "streamlab-schema-registry")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()?;
    let mut state = State::default();
    let metadata = consumer.fetch_metadata(Some(TOPIC), Duration::from_secs(10))?;
    if metadata.topics().iter().all(|t| t.error().is_some() || t.partitions().is_empty()) {
        return Ok((state, false));
    }
    let (_, high) = consumer.fetch_watermarks(TOPIC, 0, Duration::from_secs(10))?;
    if high == 0 {
        return Ok((state, true));
    }
    let mut assignment = rdkafka::TopicPartitionList::new();
    assignment.add_partition_offset(TOPIC, 0, rdkafka::Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        anyhow::ensure!(Instant::now() < deadline, "could not read {TOPIC} to its end ({high}) within 60 s");
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                state.apply_record(m.key().unwrap_or_default(), m.payload());
                if m.offset() + 1 >= high {
                    break;
                }
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => break,
            Some(Err(e)) => return Err(e.into()),
            None => {}
        }
    }
    Ok((state, true))
}
