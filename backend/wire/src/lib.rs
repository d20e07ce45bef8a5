//! The messages between the streamlab server and the browser lab.
//!
//! This crate compiles for the server (native) and the browser (wasm32), so both sides
//! use one definition of every message and cannot drift apart. Messages are JSON, tagged
//! by `type`, so a script can speak the websocket protocol too.
//!
//! What both sides compute lives here too, so the browser shows what the server does:
//! [`lag`] (lag series and trends), [`filter`] (the live tail's filter language) and
//! [`export`] (the CSV and JSON-lines downloads).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

pub mod export;
pub mod filter;
pub mod lag;

/// The lab's own topics, created when the lab starts.
pub mod topics {
    pub const REQUESTS: &str = "mushroom_inference_request";
    pub const PREDICTIONS: &str = "mushroom_prediction";
    pub const DEAD_LETTERS: &str = "mushroom_inference_dead_letter";
    pub const ALL: [&str; 3] = [REQUESTS, PREDICTIONS, DEAD_LETTERS];
}

/// The one command that installs what the exercises' Python uses: kafka-python (every
/// exercise's README) and fastavro (exercise 9).
pub const PYTHON_INSTALL: &str = "python3 -m pip install kafka-python fastavro";

/// The path of the websocket on the server.
pub const WS_PATH: &str = "/ws";

/// One partition of a topic with its offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInfo {
    pub id: i32,
    /// The first offset still stored.
    pub low: i64,
    /// The offset the next record will get.
    pub high: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: Vec<PartitionInfo>,
    /// Records stored: the sum of `high - low` over partitions.
    pub messages: i64,
}

/// Where an inference request was read, so a subscriber can drop a duplicate (the same
/// request answered twice after a crash has the same topic, partition and offset).
///
/// The text fields are `Cow` so the service writes each prediction from borrowed strings
/// (no copy of the topic name per request) and a reader may borrow from the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRef<'a> {
    #[serde(borrow)]
    pub topic: Cow<'a, str>,
    pub partition: i32,
    pub offset: i64,
    /// The request record's timestamp, ms since the Unix epoch.
    pub timestamp_ms: Option<i64>,
}

/// The value of a record on `mushroom_prediction`. `backend/schemas/prediction.schema.json`
/// is its JSON Schema, the contract for subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionValue<'a> {
    /// `"edible"` or `"poisonous"`.
    #[serde(borrow)]
    pub class: Cow<'a, str>,
    /// The data set's label: 0 edible, 1 poisonous.
    pub label: u8,
    /// The model's probability for the predicted class (0.5 to 1).
    pub probability: f64,
    /// The model's probability that the mushroom is poisonous.
    pub probability_poisonous: f64,
    #[serde(borrow)]
    pub model_version: Cow<'a, str>,
    #[serde(borrow)]
    pub request: RequestRef<'a>,
    /// When the prediction was made, ms since the Unix epoch.
    pub predicted_at_ms: i64,
}

/// The cluster the lab talks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub cluster_id: Option<String>,
    pub brokers: Vec<BrokerInfo>,
    /// The bootstrap address clients use.
    pub bootstrap: String,
    /// True when the lab runs the broker itself.
    pub embedded_broker: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// `POST /api/topics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTopic {
    pub name: String,
    #[serde(default = "one")]
    pub partitions: i32,
    /// Copies of each partition; none: the broker's `default.replication.factor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Topic settings (`retention.ms`, `cleanup.policy`, …).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub configs: std::collections::BTreeMap<String, String>,
}

/// One of a topic's settings, as `GET /api/topics/{topic}/configs` and `streamlab topic
/// describe` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    pub name: String,
    /// None for a sensitive value.
    pub value: Option<String>,
    /// Where the value comes from, in Kafka's words (`DYNAMIC_TOPIC_CONFIG`: set on the
    /// topic; `DEFAULT_CONFIG`: the broker's default; …).
    pub source: String,
    pub default: bool,
    pub read_only: bool,
    /// What the setting does, for the settings the course teaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meaning: Option<String>,
    /// On the embedded broker, a setting it keeps without following it says so here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

/// `GET /api/topics/{topic}/configs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfigs {
    pub topic: String,
    pub configs: Vec<TopicConfig>,
    /// Where each partition's copies are and which are in sync, with what that means for
    /// readers and writers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Replication>,
}

/// A topic's copies as the broker's metadata shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replication {
    pub partitions: Vec<PartitionReplicas>,
    /// The topic's `min.insync.replicas`: the copies in sync a write with `acks=all` needs.
    pub min_insync: Option<i32>,
    /// What is wrong, in plain words (under-replicated, not enough in-sync replicas, no
    /// leader); empty when every copy is in sync.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionReplicas {
    pub partition: i32,
    /// The broker that takes its reads and writes; -1 when none can.
    pub leader: i32,
    /// The brokers holding a copy.
    pub replicas: Vec<i32>,
    /// The copies up to date with the leader (the in-sync replicas).
    pub in_sync: Vec<i32>,
}

/// `PATCH /api/topics/{topic}/configs`: settings to set and settings to return to the
/// broker's default; the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterTopicConfigs {
    #[serde(default)]
    pub set: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub delete: Vec<String>,
}

/// `POST /api/topics/{topic}/trim`: delete a partition's records below `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrimPrefix {
    pub partition: i32,
    pub offset: i64,
}

/// The answer to [`TrimPrefix`]: where the partition starts now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trimmed {
    pub partition: i32,
    pub log_start_offset: i64,
}

fn one() -> i32 {
    1
}

/// A record's value as the lab shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum Decoded {
    Json {
        json: Value,
    },
    /// UTF-8 that is not JSON.
    Text {
        text: String,
    },
    /// An Avro object container file (schema embedded), as the experiment producer writes.
    Avro {
        schema: Option<String>,
        record: Value,
    },
    /// Anything else, as hexadecimal.
    Hex {
        hex: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub key: String,
    /// The value as text (lossy for bytes that are not UTF-8); `None` for a null header.
    pub value: Option<String>,
}

/// One record read from a topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordView {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// ms since the Unix epoch.
    pub timestamp_ms: Option<i64>,
    pub key: Option<String>,
    pub headers: Vec<Header>,
    /// `None` for a null value (a tombstone).
    pub value: Option<Decoded>,
    /// The value's size in bytes.
    pub size: usize,
}

/// Where reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum StartPosition {
    Earliest,
    /// Only records written from now on.
    #[default]
    Latest,
    /// From this offset in every partition read.
    Offset {
        offset: i64,
    },
    /// From the first record at or after this time (ms since the Unix epoch).
    Timestamp {
        ms: i64,
    },
    /// The newest `count` records of each partition read.
    Newest {
        count: i64,
    },
}

/// `POST /api/topics/{topic}/records`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProduceRecord {
    #[serde(default)]
    pub key: Option<String>,
    pub value: String,
    #[serde(default)]
    pub headers: Vec<Header>,
    /// Default: chosen by the key (or spread when there is none).
    #[serde(default)]
    pub partition: Option<i32>,
}

/// `POST /api/topics/{topic}/records/{partition}/{offset}/resend`: send a stored record again.
/// What is left out is sent as it was stored, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ResendRecord {
    /// Default: the topic it was read from.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    /// Replace the headers (`resent-from` is added whatever they are).
    #[serde(default)]
    pub headers: Option<Vec<Header>>,
}

/// Where a re-sent record went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resent {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// `topic/partition/offset` of the original, also in the record's `resent-from` header.
    pub resent_from: String,
}

/// `POST /api/inference/redrive`: send the dead letters with this reason to the request topic
/// again (after the model's validation was fixed, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redrive {
    pub reason: String,
}

/// What a redrive did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redriven {
    pub reason: String,
    /// The request topic they went to.
    pub to: String,
    /// Dead letters sent again, each with a header `redriven-from`.
    pub sent: u64,
    /// Dead letters of this reason that were themselves redriven and failed again: never sent
    /// a second time, so no loop forms.
    pub failed_again: u64,
    /// Dead letters read (every reason) since this reason's last redrive.
    pub scanned: u64,
    /// False when it stopped before the end (at most 50,000 sent at once, or 30 s of
    /// reading): run it again for the rest.
    pub complete: bool,
}

/// Where a produced record was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Produced {
    pub partition: i32,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicPartitions {
    pub topic: String,
    pub partitions: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<TopicPartitions>,
}

/// A group's position in one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupOffset {
    pub topic: String,
    pub partition: i32,
    /// `None` when the group has committed nothing here.
    pub committed: Option<i64>,
    /// The partition's high watermark.
    pub end: i64,
    /// `end - committed`.
    pub lag: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    pub group: String,
    /// Stable, Empty, PreparingRebalance, CompletingRebalance, Dead.
    pub state: String,
    pub members: Vec<GroupMember>,
    /// Every partition the group has committed to or is assigned.
    pub offsets: Vec<GroupOffset>,
}

impl GroupInfo {
    pub fn total_lag(&self) -> i64 {
        self.offsets.iter().filter_map(|o| o.lag).sum()
    }
}

/// `POST /api/groups/{group}/reset`: where the group's committed offsets go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetOffsets {
    /// Only this topic's partitions (default: every topic the group has committed to).
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(flatten)]
    pub to: ResetTo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum ResetTo {
    Earliest,
    Latest,
    Offset { offset: i64 },
}

/// One second of the rate sampler: messages/s written to each topic and committed by each
/// group. `None` is a gap (the topic is new, was recreated, or the broker did not answer),
/// never a made-up number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateSample {
    pub at_ms: i64,
    pub topics: BTreeMap<String, Option<f64>>,
    pub groups: BTreeMap<String, Option<f64>>,
    /// Per group, per topic: records written and not yet committed by the group (its lag).
    #[serde(default)]
    pub lag: BTreeMap<String, BTreeMap<String, i64>>,
}

/// `GET /api/lag`: one group's lag on one topic over the sampler's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LagSeries {
    pub group: String,
    pub topic: String,
    /// `(at_ms, messages)`, oldest first.
    pub points: Vec<(i64, i64)>,
    /// The lag now, in messages.
    pub messages: i64,
    /// The lag now in seconds: messages ÷ the group's consumption rate over the last 30 s;
    /// `None` when the group consumed nothing then and is behind (it is not catching up).
    pub seconds: Option<f64>,
    /// How fast the lag changes, messages/s over the last 10 s (least squares).
    pub per_second: Option<f64>,
    pub trend: LagTrend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LagTrend {
    Growing,
    Steady,
    Shrinking,
}

/// How much history the server keeps: 5 minutes of 1 s samples.
pub const RATE_HISTORY: usize = 300;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// What the embedded broker's logs hold, and what it keeps of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BrokerStorage {
    /// Records held: in memory, or on disk with `--data-dir`.
    pub on_disk: bool,
    /// Bytes the records take.
    pub bytes: u64,
    /// Records held, over every partition.
    pub records: i64,
    pub partitions: usize,
    /// What the topics keep, in words ("the lab's topics 1 day, at most 128 MiB per partition;
    /// others 7 days, no size limit").
    pub kept: String,
}

/// The lab's inference service at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct InferenceStatus {
    pub running: bool,
    pub model_version: String,
    pub requests: u64,
    pub edible: u64,
    pub poisonous: u64,
    /// Over the last second.
    pub predictions_per_s: Option<f64>,
    /// Request → prediction over the last minute, milliseconds (upper bounds of histogram
    /// buckets).
    pub latency_ms: Percentiles,
    /// The same minute's histogram: every bucket up to the last one holding a prediction.
    #[serde(default)]
    pub latency_histogram: Vec<LatencyBucket>,
    pub dead_letters: BTreeMap<String, u64>,
}

/// Predictions whose latency fell in one bucket: above the previous bucket's bound, at most
/// `le_ms` (`None`: above every bound).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyBucket {
    pub le_ms: Option<f64>,
    pub count: u64,
}

/// The lab's built-in request generator (off until someone starts it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GeneratorStatus {
    pub running: bool,
    /// Requests per second while running.
    pub rate: f64,
    pub topic: String,
    /// Requests sent since the lab started.
    pub sent: u64,
}

/// `POST /api/generator`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorControl {
    pub running: bool,
    /// Requests per second (default: keep the current one).
    #[serde(default)]
    pub rate: Option<f64>,
}

/// The served model's card, for the lab's overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ModelSummary {
    pub version: String,
    pub algorithm: String,
    pub train_rows: usize,
    pub test_rows: usize,
    /// On the held-out test rows; poisonous is the positive class.
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    /// Predicted × actual: `[[poisonous→poisonous, edible called poisonous], [poisonous called edible, edible→edible]]`.
    pub confusion: [[usize; 2]; 2],
    pub cv_mean: f64,
    pub cv_std: f64,
}

/// Who the lab takes a browser or API client for (`GET /api/whoami`, and in `hello`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whoami {
    /// `teacher`, `student` or `guest`.
    pub role: String,
    /// The student's name, for a student.
    #[serde(default)]
    pub student: Option<String>,
    /// True when the lab runs a class (`--roster` and `--class-secret`): students sign in
    /// with a token and keep to their namespace.
    pub class_mode: bool,
}

impl Default for Whoami {
    fn default() -> Self {
        Whoami { role: "guest".into(), student: None, class_mode: false }
    }
}

impl Whoami {
    pub fn is_teacher(&self) -> bool {
        self.role == "teacher"
    }

    /// Whether the server lets this caller delete, reset or re-send into `name`: the teacher
    /// anywhere, a student in her namespace. The browser shows those buttons only then; the
    /// server decides with the same [`in_namespace`].
    pub fn may_change(&self, name: &str) -> bool {
        self.is_teacher() || self.student.as_deref().is_some_and(|s| in_namespace(s, name))
    }
}

/// Whether `name` (a topic or group) is in `student`'s namespace: it starts with `student.`.
pub fn in_namespace(student: &str, name: &str) -> bool {
    name.strip_prefix(student).is_some_and(|rest| rest.starts_with('.'))
}

/// The Schema Registry as the lab serves it (`GET /api/schemas`): where, its global level,
/// and the subjects the caller may read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemasView {
    /// The registry's address for clients, or `None` when the lab serves none (the reason
    /// in `error`).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    /// The compatibility level of subjects without their own.
    pub global_level: String,
    pub subjects: Vec<SubjectView>,
}

/// A subject: its level in force and its live versions, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectView {
    pub subject: String,
    pub level: String,
    /// Whether the level is the subject's own (else the global one).
    pub level_set: bool,
    pub versions: Vec<SchemaVersionView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaVersionView {
    pub version: i32,
    pub id: u32,
    /// `AVRO` or `JSON`.
    pub kind: String,
    /// The record's or schema's name, where it has one.
    #[serde(default)]
    pub name: Option<String>,
    /// The schema, pretty-printed.
    pub schema: String,
    /// What changed since the version before (empty for the first).
    pub changes: Vec<SchemaChange>,
}

/// One difference from the version before: a field (Avro) or property (JSON Schema)
/// `added`, `removed` or `changed`, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaChange {
    pub kind: String,
    pub text: String,
}

/// Kafka Connect as the lab sees it (`GET /api/connect`): the worker it asks, what the
/// worker said, and its connectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectView {
    /// The worker's REST address (`--connect-url`).
    pub url: String,
    /// Why the worker could not be read (none running, say), in words to act on.
    #[serde(default)]
    pub error: Option<String>,
    /// The worker's Kafka version, when it answered.
    #[serde(default)]
    pub version: Option<String>,
    pub connectors: Vec<ConnectorView>,
}

/// One connector: what Connect's `GET /connectors?expand=status&expand=info` says of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorView {
    pub name: String,
    /// `sink` or `source` (`unknown` while its plugin is being loaded).
    pub kind: String,
    /// `connector.class` as it was posted.
    pub class: String,
    /// The topics it reads (`topics`, `topics.regex`) or writes (`topic`), as configured.
    #[serde(default)]
    pub topics: Option<String>,
    /// RUNNING, PAUSED, STOPPED, FAILED, UNASSIGNED or RESTARTING.
    pub state: String,
    pub worker: String,
    /// The Java stack trace of a failed connector.
    #[serde(default)]
    pub trace: Option<String>,
    pub tasks: Vec<TaskView>,
    /// A sink's consumer group, whose lag the groups page shows.
    #[serde(default)]
    pub group: Option<String>,
    pub config: BTreeMap<String, String>,
}

/// One of a connector's tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskView {
    pub id: i32,
    pub state: String,
    pub worker: String,
    #[serde(default)]
    pub trace: Option<String>,
}

/// One check of `streamlab doctor` (and `GET /api/doctor`): what was tried, whether it
/// worked, and what to do when it did not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorCheck {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    #[serde(default)]
    pub fix: Option<String>,
}

/// The body of every HTTP error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
}

/// Records of one live subscription, gathered since the last frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordBatch {
    pub subscription: u32,
    pub records: Vec<RecordView>,
    /// Records passed over since the last frame because the client read too slowly.
    pub skipped: u64,
    /// Since the subscription began: records read from the topic, and how many of them its
    /// filter let through (all of them without a filter).
    #[serde(default)]
    pub scanned: u64,
    #[serde(default)]
    pub matched: u64,
}

/// One exercise as the lab shows it: its instructions and what the checker looks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExerciseInfo {
    /// The folder name, e.g. `01-sandbox-topic`.
    pub id: String,
    /// Position in the course, from 1.
    pub number: u32,
    pub title: String,
    pub summary: String,
    /// The course material it comes from.
    pub seed: String,
    /// The instructions, rendered from the exercise's README.md.
    pub instructions_html: String,
    pub conditions: Vec<ConditionInfo>,
    /// The German version, where the exercise has one (README.de.md and `[de]` in
    /// exercise.toml); what it leaves out is the English text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub de: Option<ExerciseText>,
}

/// An exercise's texts in another language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExerciseText {
    pub title: String,
    pub summary: String,
    pub instructions_html: String,
    pub conditions: Vec<ConditionText>,
}

/// A condition's texts in another language: what it checks, what a failure says, what to try.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionText {
    pub id: String,
    pub description: String,
    pub failure: String,
    pub hint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionInfo {
    pub id: String,
    pub description: String,
    pub hint: String,
}

/// What checking one condition found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not checked yet (the lab shows this before the first check ends).
    Pending,
    Pass,
    /// The broker was read and the condition does not hold.
    Fail,
    /// The condition could not be checked (broker unreachable, bad parameters).
    Error,
    /// The check did not finish within its time limit.
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionResult {
    pub id: String,
    pub description: String,
    pub outcome: Outcome,
    /// Unless passed: the exercise's failure message, then what the checker saw.
    pub message: Option<String>,
    /// What the checker saw, without the failure message (which a translation replaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Unless passed: what to try.
    pub hint: Option<String>,
    pub elapsed_ms: u64,
    /// What passing this condition is worth.
    #[serde(default = "one_point")]
    pub points: u32,
}

fn one_point() -> u32 {
    1
}

/// One exercise checked for one student (or for the unprefixed names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub exercise: String,
    pub title: String,
    pub student: Option<String>,
    /// Every condition passed.
    pub passed: bool,
    /// Points of the passed conditions (partial credit) and of all of them.
    #[serde(default)]
    pub points: u32,
    #[serde(default)]
    pub points_possible: u32,
    pub results: Vec<ConditionResult>,
    /// When the check ended, ms since the Unix epoch.
    pub checked_at_ms: i64,
}

/// Every exercise checked for one student.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentReport {
    pub student: Option<String>,
    /// Exercises with every condition passed.
    pub exercises_passed: usize,
    /// Points earned over every exercise checked, and the most there were.
    #[serde(default)]
    pub points: u32,
    #[serde(default)]
    pub points_possible: u32,
    pub exercises: Vec<CheckReport>,
}

/// A class graded at once: `streamlab check --roster FILE --json` and `GET /api/classroom`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassReport {
    pub students: Vec<StudentReport>,
}

/// What the server tells a browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Sent once when the socket opens.
    Hello {
        version: String,
        brokers: String,
        embedded_broker: bool,
        /// Who the lab takes this socket for.
        #[serde(default)]
        who: Whoami,
        /// Whether clients on other machines can reach the broker at `brokers`.
        #[serde(default)]
        reachable_from_other_machines: bool,
        /// The SASL mechanism clients sign in with (`SCRAM-SHA-256`), when the cluster
        /// wants them to: each student as her name, her class token as password.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sasl_mechanism: Option<String>,
    },
    /// The cluster's topics, sent on request and whenever they change.
    Topics {
        topics: Vec<TopicInfo>,
    },
    /// Every consumer group, sent when the socket opens and whenever one changes.
    Groups {
        groups: Vec<GroupInfo>,
    },
    /// The kept rate history (up to [`RATE_HISTORY`] samples), sent when the socket opens.
    Rates {
        history: Vec<RateSample>,
    },
    /// A new rate sample, every second.
    Rate {
        sample: RateSample,
    },
    Inference {
        status: InferenceStatus,
    },
    Generator {
        status: GeneratorStatus,
    },
    /// What the embedded broker holds (not sent when the lab uses another cluster): when the
    /// socket opens and whenever it changes, at most once a second.
    Storage {
        storage: BrokerStorage,
    },
    /// A subscription is live.
    Subscribed {
        subscription: u32,
        topic: String,
    },
    Unsubscribed {
        subscription: u32,
    },
    /// One frame of live records: at most ~20 frames a second per socket.
    Records {
        batches: Vec<RecordBatch>,
    },
    /// The watched exercise's conditions, sent when watching starts (all pending) and
    /// whenever a re-check changes an outcome or message.
    Check {
        report: CheckReport,
    },
    /// The grade book of the class, whenever a result changes (`None` until the first
    /// grading run ends).
    Classroom {
        report: Option<ClassReport>,
    },
    /// Watching stopped.
    Unwatched,
    /// The client sent something the server could not act on.
    Error {
        message: String,
    },
}

/// What a browser asks of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    ListTopics,
    /// Tail a topic live. `subscription` is the client's own number for it.
    Subscribe {
        subscription: u32,
        topic: String,
        #[serde(default)]
        from: StartPosition,
        /// Default: every partition.
        #[serde(default)]
        partitions: Option<Vec<i32>>,
        /// Only records this [`filter::Filter`] matches are sent.
        #[serde(default)]
        filter: Option<String>,
    },
    Unsubscribe {
        subscription: u32,
    },
    /// Re-check this exercise every few seconds and send `check` when a result changes.
    /// Watching another exercise replaces it.
    WatchExercise {
        exercise: String,
        #[serde(default)]
        student: Option<String>,
    },
    UnwatchExercise,
    /// The teacher's classroom page: send `classroom` now and whenever a result changes.
    WatchClassroom,
    UnwatchClassroom,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_is_a_name_and_a_dot() {
        assert!(in_namespace("alice", "alice.sandbox") && in_namespace("alice", "alice.a.b"));
        assert!(!in_namespace("alice", "alice") && !in_namespace("alice", "alicex.sandbox"));
        assert!(!in_namespace("alice", "bob.alice.sandbox"));
        let student = Whoami { role: "student".into(), student: Some("alice".into()), class_mode: true };
        assert!(student.may_change("alice.t") && !student.may_change("bob.t") && !student.may_change("lab_topic"));
        assert!(Whoami { role: "teacher".into(), ..Whoami::default() }.may_change("bob.t"));
        assert!(!Whoami::default().may_change("anything"));
    }

    #[test]
    fn messages_are_tagged_json() {
        let m = ServerMessage::Topics {
            topics: vec![TopicInfo {
                name: "t".into(),
                partitions: vec![PartitionInfo { id: 0, low: 0, high: 2 }],
                messages: 2,
            }],
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.starts_with(r#"{"type":"topics""#), "{text}");
        assert_eq!(serde_json::from_str::<ServerMessage>(&text).unwrap(), m);
        assert_eq!(
            serde_json::from_str::<ClientMessage>(r#"{"type":"list_topics"}"#).unwrap(),
            ClientMessage::ListTopics
        );
    }

    #[test]
    fn subscriptions_and_positions_read_as_documented() {
        let m: ClientMessage = serde_json::from_str(
            r#"{"type":"subscribe","subscription":1,"topic":"t","from":{"at":"newest","count":5}}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMessage::Subscribe {
                subscription: 1,
                topic: "t".into(),
                from: StartPosition::Newest { count: 5 },
                partitions: None,
                filter: None
            }
        );
        let m: ClientMessage = serde_json::from_str(r#"{"type":"subscribe","subscription":2,"topic":"t"}"#).unwrap();
        assert!(matches!(m, ClientMessage::Subscribe { from: StartPosition::Latest, .. }));
        let r: ResetOffsets = serde_json::from_str(r#"{"to":"offset","offset":3,"topic":"t"}"#).unwrap();
        assert_eq!(r, ResetOffsets { topic: Some("t".into()), to: ResetTo::Offset { offset: 3 } });
        let d = serde_json::to_value(Decoded::Avro { schema: Some("s".into()), record: Value::Null }).unwrap();
        assert_eq!(d["format"], "avro");
    }
}
