//! The inference service: requests in, predictions (or dead letters) out, nothing lost.
//!
//! Each round takes the records the consumer already has (at least one, at most
//! `max_batch`, never waiting to fill a batch), validates them with the model crate,
//! predicts the valid ones together and produces exactly one output per request: a
//! prediction, or the original bytes on the dead-letter topic with headers saying why.
//!
//! Delivery, at least once (default): the producer is idempotent, and the round's offsets
//! are committed only after every output is acknowledged. A crash between the two means
//! the round is answered again on restart; each output names its request's partition and
//! offset so a subscriber can drop the duplicate.
//!
//! Exactly once (`--exactly-once`): each round is one Kafka transaction holding the
//! outputs and the consumer offsets (`send_offsets_to_transaction`). It needs a broker with
//! transactions (Kafka, Redpanda); the embedded broker refuses them.

use crate::kafka::KafkaConfig;
use crate::metrics::InferenceMetrics;
use anyhow::{Context, bail};
use futures::future::join_all;
use ndarray::Array2;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use streamlab_model::{Artifact, MushroomFeatures, N_FEATURES, ValidationError};
use streamlab_wire::{PredictionValue, RequestRef};

/// Requests larger than this go to the dead-letter topic unread.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct InferenceConfig {
    pub requests: String,
    pub predictions: String,
    pub dead_letters: String,
    pub group: String,
    pub max_batch: usize,
    pub exactly_once: bool,
    /// The transactional id in exactly-once mode; unique per instance by default.
    pub transactional_id: Option<String>,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        InferenceConfig {
            requests: streamlab_wire::topics::REQUESTS.to_owned(),
            predictions: streamlab_wire::topics::PREDICTIONS.to_owned(),
            dead_letters: streamlab_wire::topics::DEAD_LETTERS.to_owned(),
            group: "streamlab-inference".to_owned(),
            max_batch: 500,
            exactly_once: false,
            transactional_id: None,
        }
    }
}

/// Why a request could not be answered with a prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: &'static str,
    pub message: String,
}

/// Reads one request value: the size and encoding checks, then the model crate's validation.
pub fn read_request(payload: Option<&[u8]>) -> Result<MushroomFeatures, Rejection> {
    let bytes = payload.unwrap_or_default();
    if bytes.len() > MAX_REQUEST_BYTES {
        return Err(Rejection {
            reason: "too_large",
            message: format!("request is {} bytes, more than the {MAX_REQUEST_BYTES} allowed", bytes.len()),
        });
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(Rejection { reason: "not_utf8", message: format!("request is not UTF-8 text: {e}") });
    }
    MushroomFeatures::from_json(bytes)
        .map_err(|e: ValidationError| Rejection { reason: e.reason(), message: e.to_string() })
}

/// One record to produce for a request.
pub struct Output {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: OwnedHeaders,
    /// Some(class) for a prediction, for the metrics.
    pub class: Option<streamlab_model::Class>,
    pub request_timestamp_ms: Option<i64>,
}

impl Output {
    fn record(&self) -> FutureRecord<'_, [u8], [u8]> {
        let record = FutureRecord::to(&self.topic).payload(self.payload.as_slice()).headers(self.headers.clone());
        match &self.key {
            Some(k) => record.key(k.as_slice()),
            None => record,
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Turns a batch of requests into exactly one output each, predicting the valid ones together.
pub fn answer(
    batch: &[OwnedMessage],
    model: &Artifact,
    model_version: &str,
    config: &InferenceConfig,
    metrics: &InferenceMetrics,
) -> Vec<Output> {
    let read: Vec<Result<MushroomFeatures, Rejection>> = batch.iter().map(|m| read_request(m.payload())).collect();
    let valid: Vec<&MushroomFeatures> = read.iter().filter_map(|r| r.as_ref().ok()).collect();
    let rows = Array2::from_shape_fn((valid.len(), N_FEATURES), |(i, j)| valid[i].0[j]);
    let mut probabilities = model.forest.predict_proba(&rows).into_iter();

    let predicted_at_ms = now_ms();
    batch
        .iter()
        .zip(read)
        .map(|(m, r)| {
            let request = RequestRef {
                topic: m.topic().to_owned(),
                partition: m.partition(),
                offset: m.offset(),
                timestamp_ms: m.timestamp().to_millis(),
            };
            let key = m.key().map(<[u8]>::to_vec);
            match r {
                Ok(_) => {
                    let p = probabilities.next().expect("one probability per valid request");
                    let class =
                        if p > 0.5 { streamlab_model::Class::Poisonous } else { streamlab_model::Class::Edible };
                    let value = PredictionValue {
                        class: class.name().to_owned(),
                        label: class.label() as u8,
                        probability: if p > 0.5 { p } else { 1.0 - p },
                        probability_poisonous: p,
                        model_version: model_version.to_owned(),
                        request: request.clone(),
                        predicted_at_ms,
                    };
                    Output {
                        topic: config.predictions.clone(),
                        key,
                        payload: serde_json::to_vec(&value).expect("prediction serialises"),
                        headers: OwnedHeaders::new()
                            .insert(Header { key: "content-type", value: Some("application/json") })
                            .insert(Header { key: "model-version", value: Some(model_version) }),
                        class: Some(class),
                        request_timestamp_ms: request.timestamp_ms,
                    }
                }
                Err(rejection) => {
                    metrics.dead_letter(rejection.reason);
                    let mut headers = OwnedHeaders::new()
                        .insert(Header { key: "dlq-reason", value: Some(rejection.reason) })
                        .insert(Header { key: "dlq-error", value: Some(&rejection.message) })
                        .insert(Header { key: "dlq-source-topic", value: Some(&request.topic) })
                        .insert(Header { key: "dlq-source-partition", value: Some(&request.partition.to_string()) })
                        .insert(Header { key: "dlq-source-offset", value: Some(&request.offset.to_string()) })
                        .insert(Header { key: "dlq-model-version", value: Some(model_version) });
                    if let Some(ts) = request.timestamp_ms {
                        headers =
                            headers.insert(Header { key: "dlq-source-timestamp-ms", value: Some(&ts.to_string()) });
                    }
                    // Keep the request's own headers too, so nothing it carried is lost.
                    if let Some(original) = m.headers() {
                        for h in original.iter() {
                            headers = headers.insert(Header { key: h.key, value: h.value });
                        }
                    }
                    Output {
                        topic: config.dead_letters.clone(),
                        key,
                        payload: m.payload().unwrap_or_default().to_vec(),
                        headers,
                        class: None,
                        request_timestamp_ms: request.timestamp_ms,
                    }
                }
            }
        })
        .collect()
}

/// The offsets to commit after a batch: one past the last record of each partition.
pub fn next_offsets(batch: &[OwnedMessage]) -> anyhow::Result<TopicPartitionList> {
    let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for m in batch {
        let e = next.entry((m.topic().to_owned(), m.partition())).or_insert(0);
        *e = (*e).max(m.offset() + 1);
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        tpl.add_partition_offset(&topic, partition, Offset::Offset(offset))?;
    }
    Ok(tpl)
}

pub struct InferenceService {
    pub kafka: KafkaConfig,
    pub config: InferenceConfig,
    pub model: Arc<Artifact>,
    pub metrics: Arc<InferenceMetrics>,
}

impl InferenceService {
    /// Runs until `stop` is set, restarting a failed session after a pause: a failed round
    /// was not committed, so the next session answers it again.
    pub fn run_until(&self, stop: &AtomicBool) {
        std::thread::scope(|scope| {
            scope.spawn(|| self.watch_lag(stop));
            self.serve(stop);
        });
    }

    fn serve(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            match self.session(stop) {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "inference session failed; restarting in 1 s");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    fn consumer(&self) -> anyhow::Result<BaseConsumer> {
        let consumer: BaseConsumer = self
            .kafka
            .client()
            .set("group.id", &self.config.group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // Only committed requests, in case the producer of requests is transactional.
            .set("isolation.level", "read_committed")
            // A request should not wait in the broker for more to arrive: latency first.
            .set("fetch.wait.max.ms", "10")
            .create()
            .context("cannot create the inference consumer")?;
        consumer.subscribe(&[&self.config.requests]).context("cannot subscribe to the request topic")?;
        Ok(consumer)
    }

    fn producer(&self) -> anyhow::Result<FutureProducer> {
        let mut c = self.kafka.client();
        c.set("enable.idempotence", "true").set("linger.ms", "2").set("compression.type", "lz4");
        if self.config.exactly_once {
            let id = self
                .config
                .transactional_id
                .clone()
                .unwrap_or_else(|| format!("streamlab-inference-{}", uuid::Uuid::new_v4()));
            c.set("transactional.id", id);
        }
        let producer: FutureProducer = c.create().context("cannot create the inference producer")?;
        if self.config.exactly_once {
            producer
                .init_transactions(Duration::from_secs(30))
                .context("the broker refused transactions (--exactly-once needs Kafka or Redpanda; the embedded broker has none)")?;
        }
        Ok(producer)
    }

    fn session(&self, stop: &AtomicBool) -> anyhow::Result<()> {
        let consumer = self.consumer()?;
        let producer = self.producer()?;
        let version = self.model.version();
        tracing::info!(group = %self.config.group, topic = %self.config.requests, exactly_once = self.config.exactly_once, model = %version, "inference running");
        while !stop.load(Ordering::Relaxed) {
            let batch = next_batch(&consumer, self.config.max_batch);
            if batch.is_empty() {
                continue;
            }
            self.metrics.requests.fetch_add(batch.len() as u64, Ordering::Relaxed);
            self.metrics.batch_size.observe(batch.len() as f64);
            let outputs = answer(&batch, &self.model, &version, &self.config, &self.metrics);
            let offsets = next_offsets(&batch)?;
            if self.config.exactly_once {
                self.deliver_in_transaction(&producer, &consumer, outputs, &offsets)?;
            } else {
                self.deliver(&producer, outputs)?;
                consumer.commit(&offsets, CommitMode::Async).context("cannot commit offsets")?;
            }
        }
        if !self.config.exactly_once {
            let _ = consumer.commit_consumer_state(CommitMode::Sync);
        }
        Ok(())
    }

    /// Produces every output and waits for all acknowledgements; any failure fails the round.
    fn deliver(&self, producer: &FutureProducer, outputs: Vec<Output>) -> anyhow::Result<()> {
        // `send` waits (up to 30 s) while the local queue is full instead of failing.
        let pending: Vec<_> = outputs.iter().map(|o| producer.send(o.record(), Duration::from_secs(30))).collect();
        let results = futures::executor::block_on(join_all(pending));
        let acked = now_ms();
        for (o, r) in outputs.iter().zip(results) {
            if let Err((e, _)) = r {
                bail!("an output to {} was not acknowledged: {e}", o.topic);
            }
            self.count(o, acked);
        }
        Ok(())
    }

    fn deliver_in_transaction(
        &self,
        producer: &FutureProducer,
        consumer: &BaseConsumer,
        outputs: Vec<Output>,
        offsets: &TopicPartitionList,
    ) -> anyhow::Result<()> {
        let timeout = Duration::from_secs(30);
        producer.begin_transaction()?;
        let result = (|| -> anyhow::Result<()> {
            let mut pending = Vec::with_capacity(outputs.len());
            for o in &outputs {
                pending.push(producer.send_result(o.record()).map_err(|(e, _)| e)?);
            }
            let metadata = consumer.group_metadata().context("the consumer has no group metadata")?;
            producer.send_offsets_to_transaction(offsets, &metadata, timeout)?;
            producer.commit_transaction(timeout)?;
            for r in futures::executor::block_on(join_all(pending)) {
                r.map_err(|_| anyhow::anyhow!("delivery cancelled"))?.map_err(|(e, _)| e)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            let _ = producer.abort_transaction(timeout);
            // The session ends with this error; the next one starts from the committed
            // offsets, so the aborted round's requests are read again.
            return Err(e.context("transaction aborted"));
        }
        let acked = now_ms();
        for o in &outputs {
            self.count(o, acked);
        }
        Ok(())
    }

    fn count(&self, o: &Output, acked_ms: i64) {
        match o.class {
            Some(streamlab_model::Class::Edible) => self.metrics.edible.fetch_add(1, Ordering::Relaxed),
            Some(streamlab_model::Class::Poisonous) => self.metrics.poisonous.fetch_add(1, Ordering::Relaxed),
            None => 0,
        };
        if let (Some(_), Some(ts)) = (o.class, o.request_timestamp_ms) {
            self.metrics.latency.observe((acked_ms - ts).max(0) as f64 / 1e3);
        }
    }

    /// Once a second: lag per partition as Kafka's tools define it, log end offset minus
    /// the group's committed offset. A client of its own does the asking, so broker round
    /// trips never hold up the service's loop.
    fn watch_lag(&self, stop: &AtomicBool) {
        let Ok(client) = self.kafka.client().set("group.id", &self.config.group).create::<BaseConsumer>() else {
            return;
        };
        let topic = &self.config.requests;
        let timeout = Duration::from_secs(2);
        while !stop.load(Ordering::Relaxed) {
            if let Ok(md) = client.fetch_metadata(Some(topic), timeout) {
                let mut tpl = TopicPartitionList::new();
                for p in md.topics().iter().flat_map(|t| t.partitions()) {
                    tpl.add_partition(topic, p.id());
                }
                if let Ok(committed) = client.committed_offsets(tpl, timeout) {
                    for e in committed.elements() {
                        if let Ok((low, high)) = client.fetch_watermarks(topic, e.partition(), timeout) {
                            let done = match e.offset() {
                                Offset::Offset(o) => o,
                                _ => low,
                            };
                            self.metrics.set_lag(topic, e.partition(), (high - done).max(0));
                        }
                    }
                }
            }
            for _ in 0..10 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// What the consumer has ready: waits up to 100 ms for the first record, then takes the
/// rest without waiting, up to `max`.
fn next_batch(consumer: &BaseConsumer, max: usize) -> Vec<OwnedMessage> {
    let mut batch = Vec::new();
    let mut timeout = Duration::from_millis(100);
    while batch.len() < max {
        match consumer.poll(timeout) {
            Some(Ok(m)) => batch.push(m.detach()),
            // Transient broker errors surface here; librdkafka retries by itself.
            Some(Err(e)) => {
                tracing::warn!(error = %e, "consumer error");
                break;
            }
            None => break,
        }
        timeout = Duration::ZERO;
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_named_by_reason() {
        assert_eq!(read_request(Some(&[0xff, 0xfe])).unwrap_err().reason, "not_utf8");
        assert_eq!(read_request(Some(b"hello")).unwrap_err().reason, "not_json");
        assert_eq!(read_request(Some(b"{}")).unwrap_err().reason, "missing_field");
        assert_eq!(read_request(None).unwrap_err().reason, "not_json");
        let big = vec![b' '; MAX_REQUEST_BYTES + 1];
        assert_eq!(read_request(Some(&big)).unwrap_err().reason, "too_large");
    }
}
