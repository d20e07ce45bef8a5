//! A topic's settings (Kafka's topic configs) and the records below an offset: read, changed
//! a key at a time, deleted. What `rpk topic describe`, `alter-config` and `trim-prefix` do,
//! for the command line, the API and the topic page, on Kafka and on the embedded broker.
//!
//! Settings change through Kafka's IncrementalAlterConfigs (KIP-339), one key at a time,
//! which both brokers answer. rust-rdkafka wraps only the older AlterConfigs, which replaces
//! every setting of a topic at once and which the embedded broker does not answer, so the
//! call goes to librdkafka directly ([`alter`]).

use crate::kafka::KafkaConfig;
use crate::kafka::admin::{TopicError, validate_topic_name};
use crate::kafka::replication;
use rdkafka::admin::{AdminOptions, ConfigEntry, ConfigSource, OwnedResourceSpecifier, ResourceSpecifier};
use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::time::Duration;
use streamlab_wire::{TopicConfig, TopicConfigs};

const TIMEOUT: Duration = Duration::from_secs(10);

/// What the settings the course teaches mean, shown beside their values.
pub const MEANINGS: &[(&str, &str)] = &[
    (
        "cleanup.policy",
        "delete: old segments are removed by age or size; compact: only the newest record per key is kept",
    ),
    ("retention.ms", "how long a record is kept, in ms (-1: forever); a segment goes when its newest record is older"),
    ("retention.bytes", "how many bytes a partition keeps (-1: no limit); the oldest segments go first"),
    ("segment.ms", "after how many ms the active segment is closed, so retention can remove it"),
    ("segment.bytes", "how large a segment grows before a new one starts"),
    ("min.insync.replicas", "how many in-sync copies a write with acks=all needs, or the producer is refused"),
    ("max.message.bytes", "the largest record batch the topic accepts"),
    ("min.cleanable.dirty.ratio", "how much of a compacted log may be uncompacted before the cleaner runs"),
    ("delete.retention.ms", "how long a compacted topic keeps a key's tombstone (null value)"),
];

/// On the embedded broker: the settings its log follows. The others are kept and shown, not
/// followed (see [`embedded_effect`]).
const EMBEDDED_APPLIES: &[&str] =
    &["retention.ms", "retention.bytes", "segment.ms", "segment.bytes", "max.message.bytes"];

/// What the embedded broker does with a setting: `None` when it follows it.
pub fn embedded_effect(name: &str, value: Option<&str>) -> Option<String> {
    if EMBEDDED_APPLIES.contains(&name) {
        return None;
    }
    Some(match (name, value) {
        ("cleanup.policy", Some(v)) if v.contains("compact") => {
            "kept, not applied: the embedded broker does not compact; every record stays until retention removes it"
                .to_owned()
        }
        ("cleanup.policy", _) => return None,
        ("min.insync.replicas", _) => {
            "kept, not applied: the embedded broker is one node, so every write is on its one copy".to_owned()
        }
        _ => "kept, not applied by the embedded broker".to_owned(),
    })
}

fn meaning(name: &str) -> Option<String> {
    MEANINGS.iter().find(|(k, _)| *k == name).map(|(_, m)| (*m).to_owned())
}

fn broker_error(e: impl std::fmt::Display) -> TopicError {
    TopicError::Broker(e.to_string())
}

/// The topic's settings as the broker reports them, with their meaning, and on the embedded
/// broker (`embedded`) what it does with each.
pub async fn describe(kafka: &KafkaConfig, topic: &str, embedded: bool) -> Result<TopicConfigs, TopicError> {
    validate_topic_name(topic)?;
    // The embedded broker describes a topic that does not exist as one with no settings.
    let reader = kafka.reader().map_err(broker_error)?;
    let name = topic.to_owned();
    let copies = tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::Consumer;
        reader.fetch_metadata(Some(&name), TIMEOUT).map(|md| {
            md.topics()
                .first()
                .filter(|t| t.error().is_none() && !t.partitions().is_empty())
                .map(replication::partitions)
        })
    })
    .await
    .map_err(broker_error)?
    .map_err(broker_error)?;
    let Some(copies) = copies else {
        return Err(TopicError::Missing(topic.to_owned()));
    };
    let admin = kafka.admin().map_err(broker_error)?;
    let options = AdminOptions::new().request_timeout(Some(TIMEOUT));
    let results = admin.describe_configs(&[ResourceSpecifier::Topic(topic)], &options).await.map_err(broker_error)?;
    let resource = match results.into_iter().next() {
        Some(Ok(r)) => r,
        Some(Err(RDKafkaErrorCode::UnknownTopicOrPartition)) => return Err(TopicError::Missing(topic.to_owned())),
        Some(Err(code)) => return Err(TopicError::Broker(code.to_string())),
        None => return Err(TopicError::Missing(topic.to_owned())),
    };
    if !matches!(&resource.specifier, OwnedResourceSpecifier::Topic(t) if t == topic) {
        return Err(TopicError::Broker(format!("the broker described {:?}, not topic {topic}", resource.specifier)));
    }
    let mut configs: Vec<TopicConfig> = resource.entries.into_iter().map(|e| config(e, embedded)).collect();
    configs.sort_by(|a, b| a.name.cmp(&b.name));
    let min_insync =
        configs.iter().find(|c| c.name == "min.insync.replicas").and_then(|c| c.value.as_deref()?.parse().ok());
    let replication = Some(replication::replication(copies, min_insync));
    Ok(TopicConfigs { topic: topic.to_owned(), configs, replication })
}

/// A setting as the lab shows it, from the broker's description.
fn config(e: ConfigEntry, embedded: bool) -> TopicConfig {
    TopicConfig {
        effect: if embedded { embedded_effect(&e.name, e.value.as_deref()) } else { None },
        meaning: meaning(&e.name),
        source: source(e.source).to_owned(),
        default: e.is_default,
        read_only: e.is_read_only,
        value: if e.is_sensitive { None } else { e.value },
        name: e.name,
    }
}

/// Each of `topics`' settings, asked in one request and waited for on this thread (the
/// admin client's futures complete from its own thread, so no runtime is needed): for the
/// checker and the doctor, which run blocking. A topic the broker does not describe is left
/// out. Blocking.
pub fn settings_blocking(
    kafka: &KafkaConfig,
    topics: &[&str],
) -> Result<HashMap<String, Vec<TopicConfig>>, rdkafka::error::KafkaError> {
    let admin = kafka.admin()?;
    let specifiers: Vec<ResourceSpecifier> = topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    let options = AdminOptions::new().request_timeout(Some(TIMEOUT));
    let described = futures::executor::block_on(admin.describe_configs(&specifiers, &options))?;
    Ok(described
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|r| match r.specifier {
            OwnedResourceSpecifier::Topic(name) => {
                Some((name, r.entries.into_iter().map(|e| config(e, false)).collect()))
            }
            _ => None,
        })
        .collect())
}

/// rpk's names for where a value comes from.
fn source(s: ConfigSource) -> &'static str {
    match s {
        ConfigSource::DynamicTopic => "DYNAMIC_TOPIC_CONFIG",
        ConfigSource::DynamicBroker => "DYNAMIC_BROKER_CONFIG",
        ConfigSource::DynamicDefaultBroker => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        ConfigSource::StaticBroker => "STATIC_BROKER_CONFIG",
        ConfigSource::Default => "DEFAULT_CONFIG",
        ConfigSource::Unknown => "UNKNOWN",
    }
}

/// Parses a `key=value` setting (rpk's `-c` / `--set`).
pub fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("expected a topic setting as key=value (retention.ms=60000), got `{s}`")),
    }
}

/// Sets and removes settings of `topic`, one key at a time (a removed key returns to the
/// broker's default); the other settings stay. Blocking: it waits for the broker's answer.
pub fn alter(kafka: &KafkaConfig, topic: &str, set: &[(String, String)], delete: &[String]) -> Result<(), TopicError> {
    validate_topic_name(topic)?;
    if set.is_empty() && delete.is_empty() {
        return Err(TopicError::Invalid("nothing to change: name a setting to set or to delete".into()));
    }
    if let Some(k) = delete.iter().find(|k| set.iter().any(|(s, _)| s == *k)) {
        return Err(TopicError::Invalid(format!("{k} is both set and deleted")));
    }
    let admin = kafka.admin().map_err(broker_error)?;
    let c = |s: &str| CString::new(s).map_err(|_| TopicError::Invalid(format!("`{s}` holds a NUL byte")));
    let name = c(topic)?;
    let mut changes = Vec::new();
    for (k, v) in set {
        changes.push((c(k)?, Some(c(v)?)));
    }
    for k in delete {
        changes.push((c(k)?, None));
    }
    let rk = admin.inner().native_ptr();
    // SAFETY: every pointer handed to librdkafka is valid for the call (the CStrings live to
    // the end of the function); what librdkafka returns is destroyed exactly once, and the
    // result's resources are read before their event is destroyed.
    unsafe {
        let resource =
            rdsys::rd_kafka_ConfigResource_new(rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC, name.as_ptr());
        for (k, v) in &changes {
            let (op, value) = match v {
                Some(v) => (rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET, v.as_ptr()),
                None => (rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE, std::ptr::null()),
            };
            let error = rdsys::rd_kafka_ConfigResource_add_incremental_config(resource, k.as_ptr(), op, value);
            if !error.is_null() {
                let message = CStr::from_ptr(rdsys::rd_kafka_error_string(error)).to_string_lossy().into_owned();
                rdsys::rd_kafka_error_destroy(error);
                rdsys::rd_kafka_ConfigResource_destroy(resource);
                return Err(TopicError::Broker(message));
            }
        }
        let options =
            rdsys::rd_kafka_AdminOptions_new(rk, rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS);
        let mut errstr = [0 as std::ffi::c_char; 256];
        rdsys::rd_kafka_AdminOptions_set_request_timeout(options, TIMEOUT.as_millis() as i32, errstr.as_mut_ptr(), 256);
        let queue = rdsys::rd_kafka_queue_new(rk);
        let mut resources = [resource];
        rdsys::rd_kafka_IncrementalAlterConfigs(rk, resources.as_mut_ptr(), 1, options, queue);
        rdsys::rd_kafka_AdminOptions_destroy(options);
        rdsys::rd_kafka_ConfigResource_destroy(resource);
        let event = rdsys::rd_kafka_queue_poll(queue, (TIMEOUT.as_millis() + 2_000) as i32);
        rdsys::rd_kafka_queue_destroy(queue);
        if event.is_null() {
            return Err(TopicError::Broker("no answer from the broker in time".into()));
        }
        let outcome = if rdsys::rd_kafka_event_error(event) != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            Err(TopicError::Broker(CStr::from_ptr(rdsys::rd_kafka_event_error_string(event)).to_string_lossy().into()))
        } else {
            let result = rdsys::rd_kafka_event_IncrementalAlterConfigs_result(event);
            let mut n = 0;
            let answered = rdsys::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut n);
            (0..n)
                .map(|i| *answered.add(i))
                .find(|r| {
                    rdsys::rd_kafka_ConfigResource_error(*r) != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
                })
                .map_or(Ok(()), |r| {
                    let code = RDKafkaErrorCode::from(rdsys::rd_kafka_ConfigResource_error(r));
                    let text = rdsys::rd_kafka_ConfigResource_error_string(r);
                    let text =
                        if text.is_null() { String::new() } else { CStr::from_ptr(text).to_string_lossy().into() };
                    Err(match code {
                        RDKafkaErrorCode::UnknownTopicOrPartition => TopicError::Missing(topic.to_owned()),
                        RDKafkaErrorCode::InvalidConfig | RDKafkaErrorCode::InvalidRequest => {
                            TopicError::Invalid(format!("the broker refused: {code}: {text}"))
                        }
                        _ if text.is_empty() => TopicError::Broker(code.to_string()),
                        _ => TopicError::Broker(format!("{code}: {text}")),
                    })
                })
        };
        rdsys::rd_kafka_event_destroy(event);
        outcome
    }
}

/// [`alter`], then the settings as the broker shows them. Kafka's brokers learn a change from
/// the controller a moment after it is accepted, so this waits (up to 5 s) until the broker
/// describes what was asked: a `describe` right after shows the change.
pub async fn change(
    kafka: &KafkaConfig,
    topic: &str,
    set: Vec<(String, String)>,
    delete: Vec<String>,
    embedded: bool,
) -> Result<TopicConfigs, TopicError> {
    let (k, t, s, d) = (kafka.clone(), topic.to_owned(), set.clone(), delete.clone());
    tokio::task::spawn_blocking(move || alter(&k, &t, &s, &d)).await.map_err(broker_error)??;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = describe(kafka, topic, embedded).await?;
        let value = |k: &str| now.configs.iter().find(|c| c.name == k && c.source == "DYNAMIC_TOPIC_CONFIG");
        let shown = set.iter().all(|(k, v)| value(k).is_some_and(|c| c.value.as_ref() == Some(v)))
            && delete.iter().all(|k| value(k).is_none());
        if shown || tokio::time::Instant::now() > deadline {
            return Ok(now);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deletes the records of `topic`'s `partition` below `offset` (Kafka's DeleteRecords, rpk's
/// `trim-prefix`): its log start offset moves there, and a consumer from "earliest" starts
/// there. Returns the new log start offset.
pub async fn trim_prefix(kafka: &KafkaConfig, topic: &str, partition: i32, offset: i64) -> Result<i64, TopicError> {
    validate_topic_name(topic)?;
    if offset < 0 {
        return Err(TopicError::Invalid(format!("the offset must be 0 or more, got {offset}")));
    }
    let admin = kafka.admin().map_err(broker_error)?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset)).map_err(broker_error)?;
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let answered = admin.delete_records(&tpl, &options).await.map_err(|e| {
        let code = match &e {
            rdkafka::error::KafkaError::AdminOp(code) => Some(*code),
            _ => e.rdkafka_error_code(),
        };
        match code {
            Some(
                RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::UnknownPartition
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::NoEnt,
            ) => TopicError::Missing(format!("{topic} partition {partition}")),
            _ => broker_error(e),
        }
    })?;
    let element = answered.elements().into_iter().next().ok_or_else(|| TopicError::Missing(topic.to_owned()))?;
    match element.error() {
        Ok(()) => Ok(element.offset().to_raw().unwrap_or(offset)),
        Err(e) => Err(match e.rdkafka_error_code() {
            Some(RDKafkaErrorCode::UnknownTopicOrPartition) => {
                TopicError::Missing(format!("{topic} partition {partition}"))
            }
            Some(RDKafkaErrorCode::OffsetOutOfRange) => {
                TopicError::Invalid(format!("offset {offset} is past the end of {topic} partition {partition}"))
            }
            _ => broker_error(e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_as_key_equals_value() {
        assert_eq!(parse_setting("retention.ms=60000"), Ok(("retention.ms".into(), "60000".into())));
        assert_eq!(parse_setting("cleanup.policy = compact"), Ok(("cleanup.policy".into(), "compact".into())));
        assert!(parse_setting("retention.ms").is_err() && parse_setting("=1").is_err());
    }

    #[test]
    fn the_embedded_broker_says_what_it_does_not_follow() {
        assert_eq!(embedded_effect("retention.ms", Some("1000")), None);
        assert_eq!(embedded_effect("cleanup.policy", Some("delete")), None);
        assert!(embedded_effect("cleanup.policy", Some("compact")).unwrap().contains("does not compact"));
        assert!(embedded_effect("min.insync.replicas", Some("2")).unwrap().contains("one node"));
    }
}
