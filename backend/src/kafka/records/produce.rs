//! Producing records: one from the lab's form or API, checked first, or bytes as stored, to
//! send a record again.

use super::RecordsError;
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;
use streamlab_wire::{ProduceRecord, Produced};

/// Produces one record and waits for its acknowledgement.
pub async fn produce(
    producer: &FutureProducer,
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
    let mut r = FutureRecord::to(topic).payload(&record.value).headers(headers);
    if let Some(k) = &record.key {
        r = r.key(k);
    }
    if let Some(p) = record.partition {
        r = r.partition(p);
    }
    match producer.send(r, Duration::from_secs(10)).await {
        Ok(delivery) => Ok(Produced { partition: delivery.partition, offset: delivery.offset }),
        Err((rdkafka::error::KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::UnknownPartition), _)) => {
            Err(RecordsError::NoPartition { topic: topic.into(), partition: record.partition.unwrap_or(-1) })
        }
        Err((e, _)) => Err(e.into()),
    }
}

/// Produces bytes as they are (no size or text checks: they come from the broker already)
/// and waits for the acknowledgement.
pub async fn produce_bytes(
    producer: &FutureProducer,
    topic: &str,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: OwnedHeaders,
) -> Result<Produced, RecordsError> {
    let mut r: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
    if let Some(k) = key {
        r = r.key(k);
    }
    if let Some(v) = value {
        r = r.payload(v);
    }
    match producer.send(r, Duration::from_secs(10)).await {
        Ok(delivery) => Ok(Produced { partition: delivery.partition, offset: delivery.offset }),
        Err((e, _)) => Err(e.into()),
    }
}
