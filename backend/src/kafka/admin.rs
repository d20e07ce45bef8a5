//! The one place topics are created and deleted: by the lab at start, by the API, by the
//! experiment producer. Kafka's name rule is checked here, before the broker is asked.

use crate::kafka::KafkaConfig;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TopicError {
    #[error("invalid topic name `{0}`: use 1 to 249 letters, digits, `.`, `_` or `-` (not `.` or `..`)")]
    InvalidName(String),
    #[error("partitions must be between 1 and 1000, got {0}")]
    InvalidPartitions(i32),
    #[error("topic {0} already exists")]
    Exists(String),
    #[error("topic {0} does not exist")]
    Missing(String),
    /// A request no broker would carry out as asked (more copies than brokers, a setting
    /// the broker calls invalid, an offset past the end).
    #[error("{0}")]
    Invalid(String),
    #[error("the broker refused: {0}")]
    Broker(String),
}

/// Kafka's own rule for topic names.
pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    let ok = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok { Ok(()) } else { Err(TopicError::InvalidName(name.to_owned())) }
}

/// Creates the topics that do not exist yet; existing ones are left as they are.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[&str], partitions: i32) -> Result<(), TopicError> {
    ensure_topics_with(config, topics, partitions, &[]).await
}

/// [`ensure_topics`], a topic created now getting the topic configs `settings`.
pub async fn ensure_topics_with(
    config: &KafkaConfig,
    topics: &[&str],
    partitions: i32,
    settings: &[(&str, &str)],
) -> Result<(), TopicError> {
    for r in create(config, topics, partitions, BROKER_DEFAULT, settings).await? {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(TopicError::Broker(format!("cannot create topic {topic}: {code}"))),
        }
    }
    Ok(())
}

/// A replication factor of -1 asks the broker for its own `default.replication.factor`
/// (KIP-464): one copy on the embedded broker, three on `./lab kafka start --nodes 3`, whatever
/// a class's cluster was set up with. A fixed 1 would leave the lab's topics unreplicated on
/// a cluster built to survive a lost broker.
const BROKER_DEFAULT: i32 = -1;

/// Creates one topic with the broker's default replication; an existing one is an error.
pub async fn create_topic(config: &KafkaConfig, name: &str, partitions: i32) -> Result<(), TopicError> {
    create_replicated_topic(config, name, partitions, BROKER_DEFAULT, &[]).await
}

/// [`create_topic`] with `replicas` copies of each partition (-1: the broker's default) and
/// the topic settings `settings`. More copies than the cluster has brokers is refused here,
/// with the count, on every broker: Kafka refuses it too, but the embedded broker would
/// accept it and keep one copy.
pub async fn create_replicated_topic(
    config: &KafkaConfig,
    name: &str,
    partitions: i32,
    replicas: i32,
    settings: &[(String, String)],
) -> Result<(), TopicError> {
    validate_topic_name(name)?;
    if !(1..=1000).contains(&partitions) {
        return Err(TopicError::InvalidPartitions(partitions));
    }
    if replicas > 1 {
        use rdkafka::consumer::Consumer;
        let reader = config.reader().map_err(|e| TopicError::Broker(e.to_string()))?;
        let brokers = tokio::task::spawn_blocking(move || {
            reader.fetch_metadata(None, Duration::from_secs(5)).map(|md| md.brokers().len())
        })
        .await
        .map_err(|e| TopicError::Broker(e.to_string()))?
        .map_err(|e| TopicError::Broker(e.to_string()))?;
        if replicas as usize > brokers {
            return Err(TopicError::Invalid(format!(
                "{replicas} copies of each partition need {replicas} brokers; this cluster has {brokers}"
            )));
        }
    }
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match create(config, &[name], partitions, replicas, &settings).await?.into_iter().next() {
        Some(Ok(_)) | None => {
            settle(config, name, true).await;
            Ok(())
        }
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Err(TopicError::Exists(name.to_owned())),
        Some(Err((_, code @ (RDKafkaErrorCode::InvalidConfig | RDKafkaErrorCode::InvalidReplicationFactor)))) => {
            Err(TopicError::Invalid(format!("the broker refused: {code}")))
        }
        Some(Err((_, code))) => Err(TopicError::Broker(code.to_string())),
    }
}

type CreateResults = Vec<Result<String, (String, RDKafkaErrorCode)>>;

async fn create(
    config: &KafkaConfig,
    topics: &[&str],
    partitions: i32,
    replicas: i32,
    settings: &[(&str, &str)],
) -> Result<CreateResults, TopicError> {
    let admin = config.admin().map_err(|e| TopicError::Broker(format!("cannot create a Kafka admin client: {e}")))?;
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| {
            settings
                .iter()
                .fold(NewTopic::new(t, partitions, TopicReplication::Fixed(replicas)), |n, (k, v)| n.set(k, v))
        })
        .collect();
    admin.create_topics(&new, &options()).await.map_err(|e| TopicError::Broker(e.to_string()))
}

fn options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))
}

/// Deletes one topic; a missing one is an error.
pub async fn delete_topic(config: &KafkaConfig, name: &str) -> Result<(), TopicError> {
    validate_topic_name(name)?;
    let admin = config.admin().map_err(|e| TopicError::Broker(format!("cannot create a Kafka admin client: {e}")))?;
    let results = admin.delete_topics(&[name], &options()).await.map_err(|e| TopicError::Broker(e.to_string()))?;
    match results.into_iter().next() {
        Some(Ok(_)) | None => {
            settle(config, name, false).await;
            Ok(())
        }
        Some(Err((_, RDKafkaErrorCode::UnknownTopicOrPartition))) => Err(TopicError::Missing(name.to_owned())),
        Some(Err((_, code))) => Err(TopicError::Broker(code.to_string())),
    }
}

/// Waits (up to 5 s) until the broker's metadata shows the topic `created` or gone. Kafka's
/// controller accepts a change before its brokers know of it, so a `topic list` or a read
/// right after would still see the old state; the embedded broker answers at once.
async fn settle(config: &KafkaConfig, name: &str, created: bool) {
    use rdkafka::consumer::Consumer;
    let Ok(reader) = config.reader() else { return };
    let name = name.to_owned();
    let _ = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            let there = reader
                .fetch_metadata(Some(&name), Duration::from_secs(2))
                .is_ok_and(|md| md.topics().first().is_some_and(|t| t.error().is_none() && !t.partitions().is_empty()));
            if there == created {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafkas_rule() {
        for good in ["dev_sandbox", "SENSOR_ID_1", "a.b-c", &"x".repeat(249)] {
            assert_eq!(validate_topic_name(good), Ok(()), "{good}");
        }
        for bad in ["", ".", "..", "has space", "ünï", "a/b", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
    }
}
