//! The flags more than one command shares: the cluster (`--brokers`, `-X`), the lab's and the
//! inference service's settings (the lab runs the service; `streamlab infer` runs it alone),
//! and the small parsers several commands use. Each command's own flags are beside it in
//! `commands/`. Every setting also reads an environment variable, so a container or a
//! classroom script can configure streamlab without flags.

use crate::exercises::conditions::FailureDetails;
use crate::kafka::broker::Engine;
use crate::kafka::records::Start;
use crate::kafka::{KafkaConfig, parse_property};
use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct KafkaArgs {
    /// Use this Kafka cluster (HOST:PORT[,HOST:PORT..]) instead of starting the embedded broker.
    #[arg(long, env = "KAFKA_BROKERS", global = true)]
    pub brokers: Option<String>,
    /// A librdkafka property for every client, like kcat's -X (security.protocol=SASL_SSL,
    /// sasl.mechanism=PLAIN, sasl.username=.., ssl.ca.location=..). Repeatable.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property, global = true)]
    pub properties: Vec<(String, String)>,
}

impl KafkaArgs {
    /// The cluster named by `--brokers`, if any.
    pub fn external(&self) -> Option<KafkaConfig> {
        self.brokers.as_ref().map(|b| KafkaConfig::new(b.clone()).with_properties(self.properties.clone()))
    }

    /// The cluster for a command that needs one: `--brokers`, or the lab's embedded broker.
    pub fn cluster(&self) -> KafkaConfig {
        self.external().unwrap_or_else(|| KafkaConfig::new("127.0.0.1:9092").with_properties(self.properties.clone()))
    }
}

#[derive(Debug, Args)]
pub struct LabArgs {
    /// Where the browser lab is served.
    #[arg(long, env = "STREAMLAB_WEB_ADDR", default_value = "0.0.0.0:3005")]
    pub web_addr: SocketAddr,
    /// Where the embedded broker listens (ignored with --brokers). The default is this
    /// machine only; for a class on other machines use --public HOST.
    #[arg(long, env = "STREAMLAB_BROKER_ADDR", default_value = "127.0.0.1:9092")]
    pub broker_addr: SocketAddr,
    /// The address the embedded broker tells clients to connect to (Kafka's advertised
    /// listener): how other machines reach this one, e.g. 192.168.1.20 or lab.example.org.
    /// Needed when --broker-addr listens on 0.0.0.0.
    #[arg(long, env = "STREAMLAB_ADVERTISE", value_name = "HOST")]
    pub advertise: Option<String>,
    /// Serve a class on the network: the web and the broker listen on every interface and the
    /// broker advertises HOST (the same as --broker-addr 0.0.0.0:9092 --advertise HOST).
    #[arg(long, env = "STREAMLAB_PUBLIC", value_name = "HOST", conflicts_with = "advertise")]
    pub public: Option<String>,
    /// Keep the embedded broker's data in DIR instead of in memory: a log per partition in
    /// DIR/logs, topics, groups and offsets in DIR/metadata.db. Every acknowledged record is
    /// on the disk (synced) before its producer hears so.
    #[arg(long, env = "STREAMLAB_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// What keeps the embedded broker's records: `logs` (streamlab's) or `nisshi` (the
    /// broker's own engines, which slow down as they fill; for the storage bench).
    #[arg(long, env = "STREAMLAB_BROKER_ENGINE", hide = true, default_value = "logs", value_parser = parse_engine)]
    pub broker_engine: Engine,
    /// What each partition of the lab's own topics keeps at most (their `retention.bytes`),
    /// when the lab creates them; -1 keeps everything for a day. The default, 128 MiB, holds
    /// some 500,000 requests per partition.
    #[arg(long, env = "STREAMLAB_LAB_RETENTION_BYTES", default_value_t = 128 << 20, value_name = "BYTES",
          allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(-1..))]
    pub lab_retention_bytes: i64,
    /// Partitions of the lab topics when they are created.
    #[arg(long, env = "STREAMLAB_PARTITIONS", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub partitions: i32,
    /// The teacher's token (`Authorization: Bearer TOKEN`): may do everything. Without it,
    /// deleting topics, resetting groups and the generator switch are allowed only from the
    /// machine the lab runs on.
    #[arg(long, env = "STREAMLAB_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Class mode, with --roster: students sign in with tokens derived from this secret
    /// (`streamlab class tokens`) and may change only topics and groups named `NAME.*`.
    #[arg(long, env = "STREAMLAB_CLASS_SECRET", hide_env_values = true, requires = "roster")]
    pub class_secret: Option<String>,
    /// Let the teacher delete the lab's own topics (requests, predictions, dead letters, …)
    /// through the lab.
    #[arg(long, env = "STREAMLAB_ALLOW_LAB_TOPIC_DELETE")]
    pub allow_lab_topic_delete: bool,
    /// Largest record the lab's API produces, in bytes.
    #[arg(long, env = "STREAMLAB_MAX_RECORD_BYTES", default_value_t = 1 << 20)]
    pub max_record_bytes: usize,
    /// Live subscriptions one websocket may hold.
    #[arg(long, env = "STREAMLAB_MAX_SUBSCRIPTIONS", default_value_t = 8)]
    pub max_subscriptions: usize,
    /// HTTP requests per second per signed-in student, per address for guests (and websocket
    /// messages per socket). Bursts of twice this pass.
    #[arg(long, env = "STREAMLAB_REQUESTS_PER_SECOND", default_value_t = 50.0)]
    pub requests_per_second: f64,
    /// Read the exercises from DIR instead of the ones built in.
    #[arg(long, env = "STREAMLAB_EXERCISES", value_name = "DIR")]
    pub exercises: Option<PathBuf>,
    /// The class for the classroom page: one student name per line.
    #[arg(long, env = "STREAMLAB_ROSTER", value_name = "FILE")]
    pub roster: Option<PathBuf>,
    /// How much a failed check tells students: `full` (expected and seen side by side),
    /// `actual-only` (what the checker saw, never the expected answer) or `none` (the
    /// failure message and hint only). An exercise's own `failure_details` may say less.
    #[arg(long, env = "STREAMLAB_FAILURE_DETAILS", default_value = "full", value_parser = failure_details())]
    pub failure_details: FailureDetails,
    /// The Kafka Connect worker's REST API, for the Connectors page and the Connect exercise
    /// (`./lab connect start` serves it on this address).
    #[arg(long, env = "STREAMLAB_CONNECT_URL", default_value = crate::kafka::connect::DEFAULT_URL, value_name = "URL")]
    pub connect_url: String,
    /// Where the lab serves its Schema Registry (Confluent's REST API); with --public, this
    /// port on every interface. A taken address is said at start and the lab runs without it.
    #[arg(long, env = "STREAMLAB_SCHEMA_REGISTRY_ADDR", default_value = crate::kafka::registry::DEFAULT_ADDR)]
    pub schema_registry_addr: SocketAddr,
}

impl LabArgs {
    pub fn limits(&self) -> crate::web::guard::Limits {
        crate::web::guard::Limits {
            max_record_bytes: self.max_record_bytes,
            max_subscriptions: self.max_subscriptions,
            requests_per_second: self.requests_per_second,
        }
    }
}

/// The inference service's settings, for `streamlab infer` and the lab.
#[derive(Debug, Clone, Args)]
pub struct InferArgs {
    /// Topic the requests arrive on.
    #[arg(long, env = "STREAMLAB_REQUESTS_TOPIC", default_value = streamlab_wire::topics::REQUESTS)]
    pub requests_topic: String,
    /// Topic the predictions go to.
    #[arg(long, env = "STREAMLAB_PREDICTIONS_TOPIC", default_value = streamlab_wire::topics::PREDICTIONS)]
    pub predictions_topic: String,
    /// Topic malformed requests go to, with headers saying why.
    #[arg(long, env = "STREAMLAB_DEAD_LETTER_TOPIC", default_value = streamlab_wire::topics::DEAD_LETTERS)]
    pub dead_letter_topic: String,
    /// Consumer group; instances in one group share the partitions.
    #[arg(long, env = "STREAMLAB_INFERENCE_GROUP", default_value = "streamlab-inference")]
    pub group: String,
    /// Most requests predicted together (a batch never waits to fill up).
    #[arg(long, env = "STREAMLAB_MAX_BATCH", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_batch: u32,
    /// Outputs on their way to the broker before the service stops reading (at least once).
    /// Higher keeps the pipeline full on a slow broker; lower bounds memory and what a
    /// crash answers twice.
    #[arg(long, env = "STREAMLAB_MAX_IN_FLIGHT", default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_in_flight: u32,
    /// How long (ms) an output may wait for others to travel with it to the broker. 0 or 1
    /// for the lowest latency; 5–20 for fewer, larger requests under heavy load.
    #[arg(long, env = "STREAMLAB_LINGER_MS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=1_000))]
    pub linger_ms: u32,
    /// Kafka transactions: every request answered exactly once. Needs a broker with
    /// transactions (Kafka, Redpanda); the embedded broker has none.
    #[arg(long, env = "STREAMLAB_EXACTLY_ONCE")]
    pub exactly_once: bool,
    /// The transactional id with --exactly-once (default: unique per instance).
    #[arg(long, env = "STREAMLAB_TRANSACTIONAL_ID")]
    pub transactional_id: Option<String>,
    /// With --exactly-once, how long (ms) one transaction takes batches before committing
    /// them: longer carries more requests per commit, and read_committed subscribers see
    /// predictions that much later.
    #[arg(long, env = "STREAMLAB_COMMIT_INTERVAL_MS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub commit_interval_ms: u32,
    /// A model file (default: the one built into streamlab).
    #[arg(long, env = "STREAMLAB_MODEL", value_name = "PATH")]
    pub model: Option<PathBuf>,
}

impl InferArgs {
    /// The model of `--model`, or the one built into streamlab.
    pub fn load_model(&self) -> anyhow::Result<streamlab_model::Artifact> {
        load_model(self.model.as_deref())
    }

    pub fn config(&self) -> crate::inference::InferenceConfig {
        crate::inference::InferenceConfig {
            requests: self.requests_topic.clone(),
            predictions: self.predictions_topic.clone(),
            dead_letters: self.dead_letter_topic.clone(),
            group: self.group.clone(),
            max_batch: self.max_batch as usize,
            max_in_flight: self.max_in_flight as usize,
            linger_ms: self.linger_ms,
            exactly_once: self.exactly_once,
            transactional_id: self.transactional_id.clone(),
            commit_interval: std::time::Duration::from_millis(self.commit_interval_ms.into()),
        }
    }
}

/// How `cluster` and `topic` commands print: rpk's aligned tables, or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// The model at `path`, or the one built into the binary.
pub fn load_model(path: Option<&std::path::Path>) -> anyhow::Result<streamlab_model::Artifact> {
    use anyhow::Context;
    Ok(match path {
        Some(p) => streamlab_model::Artifact::load(p)?,
        None => streamlab_model::Artifact::shipped().context("the model built into this binary is unreadable")?,
    })
}

fn parse_engine(s: &str) -> Result<Engine, String> {
    match s {
        "logs" => Ok(Engine::Logs),
        "nisshi" => Ok(Engine::Nisshi),
        _ => Err(format!("expected logs or nisshi, got `{s}`")),
    }
}

/// rpk's `--offset` (`topic consume`) and `--to` (`group seek`): `start`, `end` or an offset.
pub fn parse_start(s: &str) -> Result<Start, String> {
    match s {
        "start" | "oldest" => Ok(Start::Beginning),
        "end" | "newest" => Ok(Start::End),
        n => n
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Start::Offset)
            .ok_or_else(|| format!("expected start, end or an offset ≥ 0, got `{s}`")),
    }
}

/// `--failure-details`: its three values, listed in `--help`, read by the exercises' parser.
pub fn failure_details() -> impl TypedValueParser<Value = FailureDetails> {
    PossibleValuesParser::new(["full", "actual-only", "none"])
        .map(|s| s.parse::<FailureDetails>().expect("one of the possible values"))
}
