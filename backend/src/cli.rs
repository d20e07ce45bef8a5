//! Command-line flags. Every setting also reads an environment variable, so a container or
//! a classroom script can configure streamlab without flags.

use crate::exercises::conditions::FailureDetails;
use crate::kafka::{KafkaConfig, parse_property};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "streamlab",
    version,
    about = "Real-time mushroom inference on Kafka and a browser lab for teaching streaming."
)]
pub struct Cli {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub lab: LabArgs,
    #[command(flatten)]
    pub inference: InferArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

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
        self.brokers.as_ref().map(|b| KafkaConfig { bootstrap: b.clone(), properties: self.properties.clone() })
    }

    /// The cluster for a command that needs one: `--brokers`, or the lab's embedded broker.
    pub fn cluster(&self) -> KafkaConfig {
        self.external()
            .unwrap_or_else(|| KafkaConfig { bootstrap: "127.0.0.1:9092".into(), properties: self.properties.clone() })
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
    /// Keep the embedded broker's data in DIR (a SQLite file) instead of in memory.
    #[arg(long, env = "STREAMLAB_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
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
    /// HTTP requests per second per client address (and websocket messages per socket).
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
    #[arg(long, env = "STREAMLAB_FAILURE_DETAILS", value_enum, default_value = "full")]
    pub failure_details: FailureDetails,
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
    /// A model file (default: the one built into streamlab).
    #[arg(long, env = "STREAMLAB_MODEL", value_name = "PATH")]
    pub model: Option<PathBuf>,
}

impl InferArgs {
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
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the inference service alone against a cluster (default: the lab's broker at
    /// 127.0.0.1:9092). Start several: they share the partitions of the request topic.
    Infer {
        #[command(flatten)]
        args: InferArgs,
        /// Where GET /metrics (Prometheus text) is served.
        #[arg(long, env = "STREAMLAB_METRICS_ADDR", default_value = "127.0.0.1:9464")]
        metrics_addr: SocketAddr,
    },
    /// The course's mushroom request generator: valid requests drawn from the data profile.
    Datagen(DatagenArgs),
    /// The course's experiment load producer: temperature experiments as Avro records.
    Experiment(ExperimentArgs),
    /// Print a topic's records as JSON lines, decoded: the short form of `topic consume
    /// --format json --decode`.
    Tail(TailArgs),
    /// The cluster: `streamlab cluster info`, like `rpk cluster info`.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Topics, like `rpk topic`: create, list, describe, delete, produce, consume.
    #[command(subcommand)]
    Topic(TopicCommand),
    /// Consumer groups, like `rpk group`: list, describe, seek.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Train, evaluate or describe the mushroom model.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Check exercises against the cluster: each condition passes, fails, errs or times out.
    /// Exit code 0 only when every condition passed.
    Check(CheckArgs),
    /// Why a client sees nothing: can the bootstrap address be reached, does the address the
    /// broker advertises connect, which topics exist, where a group has committed. Exit code
    /// 0 only when every check is ok.
    Doctor(DoctorArgs),
    /// The class of `--roster`: its students' sign-in tokens.
    #[command(subcommand)]
    Class(ClassCommand),
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// A consumer group that sees nothing: its committed offsets against the end.
    #[arg(long, short = 'g')]
    pub group: Option<String>,
    /// A topic that should have records.
    #[arg(long, short = 't')]
    pub topic: Option<String>,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClassCommand {
    /// Print a token per student (stable: the same secret and roster give the same tokens).
    Tokens(ClassTokensArgs),
    /// Print the rpk commands that give each student of the roster `NAME.*` on a Redpanda
    /// cluster with SASL (the embedded broker enforces no rights at the Kafka level).
    Acls(ClassAclsArgs),
}

#[derive(Debug, Args)]
pub struct ClassAclsArgs {
    /// The class: one student name per line.
    #[arg(long, env = "STREAMLAB_ROSTER", value_name = "FILE")]
    pub roster: PathBuf,
    /// With the class secret, each student's SASL password is her class token, so a student
    /// has one secret for the lab and the cluster.
    #[arg(long, env = "STREAMLAB_CLASS_SECRET", hide_env_values = true)]
    pub class_secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClassTokensArgs {
    /// The class: one student name per line.
    #[arg(long, env = "STREAMLAB_ROSTER", value_name = "FILE")]
    pub roster: PathBuf,
    /// The secret the tokens derive from; start the lab with the same one.
    #[arg(long, env = "STREAMLAB_CLASS_SECRET", hide_env_values = true)]
    pub class_secret: Option<String>,
    /// The tokens' last valid day (YYYY-MM-DD); without it they never expire.
    #[arg(long, value_name = "DATE")]
    pub last_day: Option<String>,
    /// Print CSV (student,token) to hand out or mail-merge.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The exercise: its number (3), folder (03-delivery-callbacks) or name
    /// (delivery-callbacks). Default: every exercise.
    pub exercise: Option<String>,
    /// Check this student's namespace: topics and groups prefixed with `NAME.`.
    #[arg(long, env = "STREAMLAB_STUDENT")]
    pub student: Option<String>,
    /// Check every student of this file (one name per line, `#` comments).
    #[arg(long, value_name = "FILE", conflicts_with = "student")]
    pub roster: Option<PathBuf>,
    /// Print the report as JSON (the shape README.md documents) instead of text.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the grade book as CSV: a row per student, the points of each exercise, the
    /// total and the most possible.
    #[arg(long)]
    pub csv: bool,
    /// How much a failed check tells: `full`, `actual-only` (never the expected answer) or
    /// `none` (the failure message and hint only).
    #[arg(long, env = "STREAMLAB_FAILURE_DETAILS", value_enum, default_value = "full")]
    pub failure_details: FailureDetails,
    /// List the exercises and their conditions, and check nothing.
    #[arg(long)]
    pub list: bool,
    /// Read the exercises from DIR instead of the ones built in.
    #[arg(long, env = "STREAMLAB_EXERCISES", value_name = "DIR")]
    pub exercises: Option<PathBuf>,
}

/// How `cluster` and `topic` commands print: rpk's aligned tables, or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// The cluster id, the brokers and the topics.
    #[command(alias = "metadata")]
    Info {
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create topics.
    Create {
        #[arg(required = true)]
        topics: Vec<String>,
        /// Partitions of each topic.
        #[arg(short = 'p', long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=1000))]
        partitions: i32,
        /// Replicas of each partition (the embedded broker has one).
        #[arg(short = 'r', long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=100))]
        replicas: i32,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// List topics with their partitions.
    #[command(alias = "ls")]
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// A topic's partitions: leader, replicas, first stored offset and high watermark.
    Describe {
        topic: String,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Delete topics.
    Delete {
        #[arg(required = true)]
        topics: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Produce one record per line of stdin.
    Produce(ProduceArgs),
    /// Print records, as rpk does: one JSON object per record.
    Consume(ConsumeArgs),
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    pub topic: String,
    /// The key of every record.
    #[arg(short = 'k', long)]
    pub key: Option<String>,
    /// A header `key=value` on every record. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Send to this partition (default: the key's, or spread).
    #[arg(short = 'p', long)]
    pub partition: Option<i32>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected a header as key=value, got `{s}`")),
    }
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    pub topic: String,
    /// Where to start: `start`, `end`, or an offset N in every partition read.
    #[arg(short = 'o', long, default_value = "start", value_parser = parse_start)]
    pub offset: StartAt,
    /// Stop after this many records.
    #[arg(short = 'n', long)]
    pub num: Option<usize>,
    /// Read only these partitions. Repeatable.
    #[arg(short = 'p', long = "partitions", value_delimiter = ',')]
    pub partitions: Vec<i32>,
    /// Read as this consumer group and commit what was printed (`--offset` then applies
    /// only where the group has committed nothing).
    #[arg(short = 'g', long)]
    pub group: Option<String>,
    /// `text`: rpk's pretty JSON per record; `json`: one compact JSON object per line.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Print only the records this filter matches, in the lab's filter language
    /// (`value.class == "poisonous" and value.probability < 0.6`; README has the grammar).
    /// With `--group`, the records passed over are committed too: they were read.
    #[arg(short = 'f', long)]
    pub filter: Option<String>,
    /// Show values decoded as the lab does (JSON as JSON, Avro containers as their records
    /// with `avro_schema`) instead of rpk's value text.
    #[arg(long)]
    pub decode: bool,
    /// Stop at the end of what the partitions hold when it starts, instead of waiting for more.
    #[arg(short = 'e', long)]
    pub exit: bool,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Every consumer group and its state.
    #[command(alias = "ls")]
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// A group's state, members and, per partition, its committed offset and lag.
    Describe {
        group: String,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Move an empty group's committed offsets: to the start, the end or an offset.
    Seek {
        group: String,
        /// `start`, `end` or an offset (kept within each partition's stored records).
        #[arg(long, value_parser = parse_start)]
        to: StartAt,
        /// Only these topics (default: every topic the group has committed to).
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
}

/// `--offset` of `topic consume`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Start,
    End,
    Offset(i64),
}

fn parse_start(s: &str) -> Result<StartAt, String> {
    match s {
        "start" | "oldest" => Ok(StartAt::Start),
        "end" | "newest" => Ok(StartAt::End),
        n => n
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(StartAt::Offset)
            .ok_or_else(|| format!("expected start, end or an offset ≥ 0, got `{s}`")),
    }
}

#[derive(Debug, Args)]
pub struct TailArgs {
    pub topic: String,
    /// Start at the earliest stored record or only show new ones.
    #[arg(long, value_enum, default_value = "earliest")]
    pub from: TailFrom,
    /// Stop after this many records.
    #[arg(short = 'n', long)]
    pub count: Option<usize>,
    /// Stop at the end of the topic instead of waiting for more.
    #[arg(short = 'e', long)]
    pub exit: bool,
    /// Print only the records this filter matches (the lab's filter language).
    #[arg(short = 'f', long)]
    pub filter: Option<String>,
}

impl From<TailArgs> for ConsumeArgs {
    /// `tail` is `topic consume --format json --decode`, from the start or the end.
    fn from(t: TailArgs) -> Self {
        ConsumeArgs {
            topic: t.topic,
            offset: match t.from {
                TailFrom::Earliest => StartAt::Start,
                TailFrom::Latest => StartAt::End,
            },
            num: t.count,
            partitions: Vec::new(),
            group: None,
            format: OutputFormat::Json,
            filter: t.filter,
            decode: true,
            exit: t.exit,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TailFrom {
    Earliest,
    Latest,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Train on the mushroom CSV, print the evaluation and write the artifact and data profile.
    Train {
        /// The data set (mushroom_cleaned.csv).
        #[arg(long, env = "STREAMLAB_DATA", value_name = "CSV")]
        data: PathBuf,
        /// Where to write the model; profile.json is written beside it.
        #[arg(long, value_name = "PATH", default_value = "model/artifacts/mushroom-forest.bin")]
        out: PathBuf,
    },
    /// Derive only the data profile the request generator draws from.
    Profile {
        #[arg(long, env = "STREAMLAB_DATA", value_name = "CSV")]
        data: PathBuf,
        #[arg(long, value_name = "PATH", default_value = "model/artifacts/profile.json")]
        out: PathBuf,
    },
    /// Re-evaluate a model on the held-out split of the CSV.
    Eval {
        #[arg(long, env = "STREAMLAB_DATA", value_name = "CSV")]
        data: PathBuf,
        /// A model file (default: the one built into streamlab).
        #[arg(long, env = "STREAMLAB_MODEL", value_name = "PATH")]
        model: Option<PathBuf>,
    },
    /// Print a model's card: version, training data, metrics.
    Info {
        #[arg(long, env = "STREAMLAB_MODEL", value_name = "PATH")]
        model: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CategoricalsArg {
    /// Each code uniformly in its range (the course's generator).
    Uniform,
    /// Combinations of codes as real mushrooms have them.
    Joint,
}

#[derive(Debug, Args)]
pub struct DatagenArgs {
    /// Topic to write requests to.
    #[arg(short = 't', long, env = "STREAMLAB_DATAGEN_TOPIC", default_value = streamlab_wire::topics::REQUESTS)]
    pub topic: String,
    /// Milliseconds to sleep between bursts.
    #[arg(short = 's', long = "sleep_interval", alias = "sleep-interval", default_value_t = 1000)]
    pub sleep_interval: u64,
    /// Requests per burst.
    #[arg(short = 'b', long = "burst_size", alias = "burst-size", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub burst_size: u32,
    /// Up to this many extra seconds of random wait after each burst.
    #[arg(short = 'r', long, default_value_t = 1.0)]
    pub randomness: f64,
    /// Print every request sent.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// A steady rate instead of bursts, e.g. 200/s or 20000/s.
    #[arg(long, value_parser = crate::load::datagen::parse_rate, value_name = "N/s")]
    pub rate: Option<f64>,
    /// Stop after this many requests.
    #[arg(long)]
    pub count: Option<u64>,
    /// How categorical codes are drawn.
    #[arg(long, value_enum, default_value = "uniform")]
    pub categoricals: CategoricalsArg,
    /// Seed for reproducible requests.
    #[arg(long)]
    pub seed: Option<u64>,
}

impl DatagenArgs {
    pub fn config(&self) -> anyhow::Result<crate::load::datagen::DatagenConfig> {
        use crate::load::datagen::Pace;
        anyhow::ensure!(
            self.randomness.is_finite() && self.randomness >= 0.0,
            "--randomness must be a number of seconds ≥ 0"
        );
        Ok(crate::load::datagen::DatagenConfig {
            topic: self.topic.clone(),
            pace: match self.rate {
                Some(rate) => Pace::Rate(rate),
                None => Pace::Bursts {
                    burst: self.burst_size,
                    sleep: std::time::Duration::from_millis(self.sleep_interval),
                    randomness: std::time::Duration::from_secs_f64(self.randomness),
                },
            },
            count: self.count,
            categoricals: match self.categoricals {
                CategoricalsArg::Uniform => streamlab_model::profile::Categoricals::Uniform,
                CategoricalsArg::Joint => streamlab_model::profile::Categoricals::Joint,
            },
            verbose: self.verbose,
            seed: self.seed,
        })
    }
}

#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The course's `-b`: the same as --brokers.
    #[arg(short = 'b', value_name = "HOST:PORT")]
    pub course_brokers: Option<String>,
    /// Topic the events go to.
    #[arg(long, env = "STREAMLAB_EXPERIMENT_TOPIC", default_value = "experiment")]
    pub topic: String,
    /// Also send an `experiment_document` (all rounds' mean temperatures) here at the end.
    #[arg(long, env = "STREAMLAB_EXPERIMENT_DOCUMENT_TOPIC")]
    pub topic_document: Option<String>,
    /// A JSON array of experiments run concurrently (the course's load files); the
    /// single-experiment flags below are ignored.
    #[arg(long, value_name = "FILE", conflicts_with = "load")]
    pub config_file: Option<PathBuf>,
    /// One of the course's load files, built in: 2 (two experiments) or 3 (three).
    #[arg(long, value_parser = ["2", "3"])]
    pub load: Option<String>,
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub num_sensors: u32,
    /// Milliseconds between measurement rounds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub sample_rate: u64,
    #[arg(long, default_value_t = 2)]
    pub stabilization_samples: u32,
    #[arg(long, default_value_t = 20)]
    pub carry_out_samples: u32,
    #[arg(long, default_value_t = 16.0, allow_negative_numbers = true)]
    pub start_temperature: f32,
    #[arg(long, default_value_t = 25.5, allow_negative_numbers = true)]
    pub lower_threshold: f32,
    #[arg(long, default_value_t = 26.5, allow_negative_numbers = true)]
    pub upper_threshold: f32,
    #[arg(long, default_value = "d.landau@uu.nl")]
    pub researcher: String,
    /// The 32-character AES-256 key of `measurement_hash` (default: the lab's, which is public).
    #[arg(long, env = "STREAMLAB_SECRET_KEY", default_value = crate::load::experiment::hash::LAB_SECRET_KEY, hide_default_value = true)]
    pub secret_key: String,
    /// Where the course producer's Prometheus metrics are served ("off" for nowhere).
    #[arg(long, env = "STREAMLAB_EXPERIMENT_METRICS_ADDR", default_value = "127.0.0.1:3001")]
    pub metrics_addr: String,
    /// Seed for reproducible ids and temperatures.
    #[arg(long)]
    pub seed: Option<u64>,
}

impl ExperimentArgs {
    pub fn experiments(&self) -> anyhow::Result<Vec<crate::load::experiment::config::ExperimentSpec>> {
        use crate::load::experiment::config::{self, ExperimentSpec, TempRange};
        if let Some(path) = &self.config_file {
            return Ok(config::load(path)?);
        }
        match self.load.as_deref() {
            Some("2") => return Ok(config::parse(config::LOAD_2)?),
            Some("3") => return Ok(config::parse(config::LOAD_3)?),
            _ => {}
        }
        let spec = ExperimentSpec {
            start_time: 0.0,
            researcher: self.researcher.clone(),
            num_sensors: self.num_sensors,
            sample_rate: self.sample_rate,
            start_temperature: self.start_temperature,
            stabilization_samples: self.stabilization_samples,
            carry_out_samples: self.carry_out_samples,
            temp_range: TempRange { lower_threshold: self.lower_threshold, upper_threshold: self.upper_threshold },
        };
        spec.validate().map_err(anyhow::Error::msg)?;
        Ok(vec![spec])
    }
}
