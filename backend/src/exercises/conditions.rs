//! What an exercise's `exercise.toml` declares: conditions, each a kind with parameters.
//!
//! The kinds are the few questions a teacher asks of a broker; an exercise is data that
//! combines them, so a new exercise needs no code. Every topic and group named here is a
//! name in the student's namespace (see [`super::Namespace`]).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct ExerciseFile {
    pub title: String,
    pub summary: String,
    /// The course material the exercise comes from.
    pub seed: String,
    /// How much of a failed comparison students see (the stricter of this and the
    /// checker's own setting applies).
    #[serde(default)]
    pub failure_details: Option<FailureDetails>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The German texts (`[de]`, with `[de.conditions.ID]` per condition).
    #[serde(default)]
    pub de: Option<Translation>,
}

/// An exercise's texts in another language; a condition it leaves out keeps its English.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    pub title: String,
    pub summary: String,
    #[serde(default)]
    pub conditions: std::collections::BTreeMap<String, ConditionTranslation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionTranslation {
    pub description: String,
    pub failure: String,
    pub hint: String,
}

/// How much a failed condition's message says. A class that grades with the checker may not
/// want it to print the expected answer next to the student's: `actual-only` shows what the
/// checker saw and never what it expected, so an answer cannot be copied from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureDetails {
    /// What was expected and what was seen, side by side.
    #[default]
    Full,
    /// What the checker saw, never what it expected.
    ActualOnly,
    /// The condition's failure message and hint only.
    None,
}

impl std::str::FromStr for FailureDetails {
    type Err = String;

    /// The names `exercise.toml` and `--failure-details` use.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "full" => Ok(FailureDetails::Full),
            "actual-only" => Ok(FailureDetails::ActualOnly),
            "none" => Ok(FailureDetails::None),
            other => Err(format!("expected full, actual-only or none, got `{other}`")),
        }
    }
}

impl FailureDetails {
    /// The stricter of two settings: an exercise set to `none` stays so under a lab run
    /// with `full`, and a `none` exam run hides every exercise's details.
    pub fn strictest(self, other: Option<FailureDetails>) -> FailureDetails {
        other.map_or(self, |o| self.max(o))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Condition {
    pub id: String,
    /// What passing this condition is worth (partial credit: an exercise's points are the
    /// sum of its passed conditions').
    #[serde(default = "one_point")]
    pub points: u32,
    pub description: String,
    /// Said when the condition does not hold, before what the checker saw.
    pub failure: String,
    pub hint: String,
    /// Time limit of this condition's check (default [`DEFAULT_TIMEOUT_SECS`]).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    #[serde(flatten)]
    pub kind: Kind,
}

pub const DEFAULT_TIMEOUT_SECS: f64 = 15.0;

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// The topic exists, with exactly `partitions` or at least `min_partitions`, `replicas`
    /// copies of each partition, and its settings as given.
    Topic {
        topic: String,
        #[serde(default)]
        partitions: Option<i32>,
        #[serde(default)]
        min_partitions: Option<i32>,
        /// Copies of each partition (the replication factor); a cluster with fewer brokers
        /// cannot hold them, which the check says before anything else.
        #[serde(default)]
        replicas: Option<usize>,
        /// Settings the topic must have, by the value in force (set on the topic or the
        /// broker's default).
        #[serde(default)]
        configs: std::collections::BTreeMap<String, String>,
        /// Settings that must be set on the topic itself, to any value.
        #[serde(default)]
        set_on_topic: Vec<String>,
    },
    /// At least `min` records match (`all`: and no record fails to match), and each of
    /// `require_values` is the value of some record.
    Messages {
        topic: String,
        #[serde(default = "one")]
        min: usize,
        #[serde(default)]
        all: bool,
        #[serde(default, rename = "match")]
        matcher: Match,
        #[serde(default)]
        require_values: Vec<String>,
    },
    /// The newest record with `key` on the `answers` topic says what the broker's data says.
    Answer {
        answers: String,
        key: String,
        expect: Expect,
        /// Relative tolerance for numbers (0.1 = ±10 %).
        #[serde(default)]
        tolerance: f64,
    },
    /// The group has committed every partition of the topic up to its end.
    Committed { group: String, topic: String },
    /// The group has at least `min` active members; where the broker reports assignments,
    /// they split the topic's partitions without overlap.
    Members {
        group: String,
        topic: String,
        #[serde(default = "two")]
        min: usize,
    },
    /// Each key's records are in one partition, and the records use several partitions.
    Keys {
        topic: String,
        #[serde(default = "two")]
        min_keys: usize,
        #[serde(default = "two")]
        min_partitions: usize,
        /// Whether a key's records must all be in one partition (off where only the number
        /// of keys matters: two clients' partitioners place a key differently).
        #[serde(default = "yes")]
        one_partition_each: bool,
    },
    /// Messages/s over the newest `window_secs` seconds of records is within [min, max].
    Rate { topic: String, window_secs: f64, min: f64, max: f64 },
    /// The output topic holds what `function` makes of the input topic.
    Outputs {
        input: String,
        output: String,
        function: Function,
        /// Only the newest `last` input records count (a window of a running stream).
        #[serde(default)]
        last: Option<usize>,
        /// Fewer input records than this fails: there is too little to compare.
        #[serde(default = "one")]
        min_inputs: usize,
    },
    /// At least `min` values occur more than once (a record processed twice).
    Duplicates {
        topic: String,
        #[serde(default = "one")]
        min: usize,
    },
    /// The Kafka Connect connector `connector`, of `class`, reads `topic` and it and its
    /// tasks run; with `caught_up` instead, its consumer group has committed the topic to its
    /// end, whether it runs or not.
    Connector {
        connector: String,
        class: String,
        topic: String,
        #[serde(default)]
        caught_up: bool,
    },
    /// The Schema Registry's `subject` holds an Avro record with `fields` in its first
    /// version; with `evolved`, a later version adds a field with a default, each version
    /// reads the one before, and the subject's level is not NONE.
    Schema {
        subject: String,
        #[serde(default)]
        fields: Vec<String>,
        #[serde(default)]
        evolved: bool,
    },
    /// At least `min` records of the topic, and every one, are in the registry's wire format
    /// with a version of `subject`, written with at least `versions` of them.
    Framed {
        topic: String,
        subject: String,
        #[serde(default = "one")]
        min: usize,
        #[serde(default = "one")]
        versions: usize,
    },
}

fn one_point() -> u32 {
    1
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

fn two() -> usize {
    2
}

/// A record predicate; every field given must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// The value as UTF-8 text equals this.
    #[serde(default)]
    pub value_equals: Option<String>,
    /// The record has this header...
    #[serde(default)]
    pub header: Option<String>,
    /// ...with this value.
    #[serde(default)]
    pub header_value: Option<String>,
    /// The value is a mushroom inference request the model accepts.
    #[serde(default)]
    pub mushroom_request: bool,
    /// The value is JSON.
    #[serde(default)]
    pub json: bool,
    /// The value is JSON with this field (dotted path; a string field holding JSON is
    /// looked into; names compare without case, as ksqlDB upper-cases them).
    #[serde(default)]
    pub json_field: Option<String>,
    /// The value is a prediction: JSON whose `class` is `edible` or `poisonous`.
    #[serde(default)]
    pub prediction: bool,
}

/// What an answer must equal.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// This text.
    Equals(String),
    /// The number of records in a topic.
    Count(String),
    /// The value of the record at this position.
    ValueAt { topic: String, partition: i32, offset: i64 },
    /// The answer is JSON `{"offset": N, "value": ".."}` and the partition's record at N has
    /// that value: the student read a record by its offset.
    ReadAtOffset { topic: String, partition: i32 },
    /// The offset of the first record with this value.
    OffsetOf { topic: String, value: String },
    /// The group's committed offset on a partition.
    Committed { group: String, topic: String, partition: i32 },
    /// A sink connector's total lag on a topic now: its group's (`connect-NAME`) end offsets
    /// less its committed ones.
    SinkLag { connector: String, topic: String },
    /// The most records in any `window_ms` of the topic's timestamps, per second.
    PeakRate { topic: String, window_ms: i64 },
    /// A Kafka error, named in any client's spelling: confluent-kafka's `NOT_ENOUGH_REPLICAS`,
    /// kafka-python's `NotEnoughReplicasError`, librdkafka's "Not enough in-sync replicas",
    /// Java's `NotEnoughReplicasException`, or its code.
    KafkaError(String),
    /// The answer is an Avro schema (or the body posted to the registry) that the subject's
    /// compatibility level refuses: the student's incompatible change.
    Refused { subject: String },
}

/// How an output topic follows from an input topic.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    /// Every input has an output with the same key.
    SameKey,
    /// Every input's value is also an output's value.
    SameValue,
    /// Every Avro input is an output `{"record_name": <header>, "record": <decoded>}`.
    AvroToJson,
    /// Every JSON input is in exactly one topic, `template` with `{}` replaced by the
    /// input's `field`, matched by `id_field`; and in no other topic of the template.
    Route { field: String, id_field: String, template: String },
    /// In order, from the `n`th input on, the mean of the last `n` numbers.
    RollingMean { n: usize },
    /// In order, the inputs with more than `words` words, as `{"message", "words"}`.
    LongMessages { words: usize },
    /// The newest output of each input key is how many inputs have that key (Kafka Streams'
    /// `groupByKey().count()`).
    CountPerKey,
    /// Per key, one output for each pair of an input and a `right` record with that key at
    /// most `window_ms` apart (an inner windowed join); both topics have as many partitions.
    WindowedJoin { right: String, window_ms: i64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_details_read_the_same_on_the_command_line_and_in_exercise_toml() {
        #[derive(Deserialize)]
        struct File {
            failure_details: FailureDetails,
        }
        for name in ["full", "actual-only", "none"] {
            let from_toml: File = toml::from_str(&format!("failure_details = \"{name}\"")).unwrap();
            assert_eq!(name.parse::<FailureDetails>(), Ok(from_toml.failure_details));
        }
        assert!("some".parse::<FailureDetails>().unwrap_err().contains("full, actual-only or none"));
    }
}
