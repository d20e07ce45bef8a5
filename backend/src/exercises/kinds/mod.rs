//! The condition kinds, one module each. Each reads the broker through a [`Probe`] and says
//! whether the condition holds and what it saw, in words a student can act on ([`found`]);
//! [`evaluate`] picks the kind.
//!
//! - `topic`, `messages`, `answer`, `committed`, `members`, `keys`, `rate`, `duplicates`:
//!   the kinds of the same names.
//! - `outputs`: an output topic as a function of an input topic; its functions beyond keys
//!   and values have modules of their own: `avro_to_json`, `rolling_mean`, `long_messages`
//!   and `route`; `streams` has Kafka Streams' count per key and windowed join.
//! - `connector`: a Kafka Connect connector runs (read from the worker's REST API).
//! - `schema`, `framed`: a Schema Registry subject and the records written with it.

mod answer;
mod avro_to_json;
mod committed;
mod connector;
mod duplicates;
mod found;
mod keys;
mod long_messages;
mod members;
mod messages;
mod outputs;
mod rate;
mod rolling_mean;
mod route;
mod schema;
mod streams;
mod topic;

pub use found::Found;

use super::Namespace;
use super::conditions::Kind;
use super::probe::{Probe, ProbeError};

/// Checks one condition. A missing topic is a failed condition, not an error: it is the
/// most common thing a student has not done yet.
pub fn evaluate(kind: &Kind, ns: &Namespace, probe: &Probe) -> Result<Found, ProbeError> {
    let found = match kind {
        Kind::Topic { topic, partitions, min_partitions, replicas, configs, set_on_topic } => {
            topic::check(ns, probe, topic, (*partitions, *min_partitions), *replicas, configs, set_on_topic)
        }
        Kind::Messages { topic, min, all, matcher, require_values } => {
            messages::check(ns, probe, topic, *min, *all, matcher, require_values)
        }
        Kind::Answer { answers, key, expect, tolerance } => answer::check(ns, probe, answers, key, expect, *tolerance),
        Kind::Committed { group, topic } => committed::check(ns, probe, group, topic),
        Kind::Members { group, topic, min } => members::check(ns, probe, group, topic, *min),
        Kind::Keys { topic, min_keys, min_partitions, one_partition_each } => {
            keys::check(ns, probe, topic, *min_keys, *min_partitions, *one_partition_each)
        }
        Kind::Rate { topic, window_secs, min, max } => rate::check(ns, probe, topic, *window_secs, *min, *max),
        Kind::Outputs { input, output, function, last, min_inputs } => {
            outputs::check(ns, probe, input, output, function, *last, *min_inputs)
        }
        Kind::Duplicates { topic, min } => duplicates::check(ns, probe, topic, *min),
        Kind::Connector { connector, class, topic, caught_up } => {
            connector::check(ns, probe, connector, class, topic, *caught_up)
        }
        Kind::Schema { subject, fields, evolved } => schema::check_subject(ns, probe, subject, fields, *evolved),
        Kind::Framed { topic, subject, min, versions } => {
            schema::check_framed(ns, probe, topic, subject, *min, *versions)
        }
    };
    match found {
        Err(ProbeError::NoTopic(t)) => found::fail(format!("topic {t} does not exist")),
        other => other,
    }
}
