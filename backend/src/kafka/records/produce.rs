//! Producing records: one from the lab's form or API, checked first, or bytes as stored, to
//! send a record again.

use super::RecordsError;
use crate::kafka::producer::{AsyncProducer, Outgoing};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use std::time::Duration;
use streamlab_wire::{ProduceRecord, Produced};

/// Produces one record and waits for its acknowledgement.
pub async fn produce(
    producer: &AsyncProducer,
    topic: &str,
    record: &ProduceRecord,
    max_bytes: usize,
) -> Result<Produced, RecordsError> {
    let size = record.value.len()
        + record.key.as_ref().map_or(0, String::len)
        + record.headers.iter().map(|h| h.key.len() + h.value.as_ref().map_or(0, String::len)).sum::<usize>();
    if size > max_bytes {
        return Err(RecordsError::TooLarge { size, limit: max_bytes });
    }
    if let Some(p) = record.partition
        && p < 0
    {
        return Err(RecordsError::Invalid(format!("partition must be ≥ 0, got {p}")));
    }
    let mut headers = OwnedHeaders::new();
    for h in &record.headers {
        headers = headers.insert(KafkaHeader { key: &h.key, value: h.value.as_deref() });
    }
    let r = Outgoing {
        key: record.key.as_deref().map(str::as_bytes),
        value: Some(record.value.as_bytes()),
        headers: Some(headers),
        partition: record.partition,
    };
    match producer.send(topic, r, Duration::from_secs(10)).await {
        Ok((partition, offset)) => Ok(Produced { partition, offset }),
        Err(rdkafka::error::KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::UnknownPartition)) => {
            Err(RecordsError::NoPartition { topic: topic.into(), partition: record.partition.unwrap_or(-1) })
        }
        Err(e) => Err(e.into()),
    }
}

/// Produces bytes as they are (no size or text checks: they come from the broker already)
/// and waits for the acknowledgement.
pub async fn produce_bytes(
    producer: &AsyncProducer,
    topic: &str,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: OwnedHeaders,
) -> Result<Produced, RecordsError> {
    let r = Outgoing { key, value, headers: Some(headers), partition: None };
    let (partition, offset) = producer.send(topic, r, Duration::from_secs(10)).await?;
    Ok(Produced { partition, offset })
}
