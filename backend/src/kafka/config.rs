//! Kafka client configuration shared by every command, and the admin calls the lab needs.

use anyhow::{Context, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, ClientContext};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where the cluster is and how to talk to it: `--brokers` plus kcat-style `-X` properties.
#[derive(Debug, Clone, Default)]
pub struct KafkaConfig {
    pub bootstrap: String,
    /// librdkafka properties such as `security.protocol`, `sasl.*`, `ssl.*`.
    pub properties: Vec<(String, String)>,
}

impl KafkaConfig {
    pub fn new(bootstrap: impl Into<String>) -> Self {
        KafkaConfig { bootstrap: bootstrap.into(), properties: Vec::new() }
    }

    /// A client config with the bootstrap servers and every `-X` property applied.
    pub fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }

    pub fn admin(&self) -> anyhow::Result<AdminClient<DefaultClientContext>> {
        self.client().create().context("cannot create a Kafka admin client")
    }
}

/// Parses a `-X key=value` argument.
pub fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected key=value (a librdkafka property), got `{s}`")),
    }
}

/// Waits until the cluster answers a metadata request.
pub fn wait_ready(config: &KafkaConfig, timeout: Duration) -> anyhow::Result<()> {
    let consumer: BaseConsumer = config.client().create().context("cannot create a Kafka client")?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match consumer.fetch_metadata(None, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(e) if std::time::Instant::now() >= deadline => {
                bail!("the Kafka cluster at {} did not answer within {timeout:?}: {e}", config.bootstrap)
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Creates the topics that do not exist yet; existing ones are left as they are.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[&str], partitions: i32) -> anyhow::Result<()> {
    let admin = config.admin()?;
    let new: Vec<NewTopic> = topics.iter().map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1))).collect();
    let results = admin
        .create_topics(&new, &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))))
        .await
        .context("cannot create the lab topics")?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => bail!("cannot create topic {topic}: {code}"),
        }
    }
    Ok(())
}

/// Counts a producer's acknowledged and failed deliveries.
#[derive(Debug, Default)]
pub struct Deliveries {
    pub acked: AtomicU64,
    pub failed: AtomicU64,
}

/// A producer context that counts deliveries into [`Deliveries`].
pub struct CountingContext(pub Arc<Deliveries>);

impl ClientContext for CountingContext {}

impl ProducerContext for CountingContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.0.acked.fetch_add(1, Ordering::Relaxed),
            Err((e, _)) => {
                tracing::warn!(error = %e, "a record was not delivered");
                self.0.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// Sends `record`, waiting while librdkafka's local queue is full instead of failing: a load
/// generator outrunning the broker should slow down, not drop records.
pub fn send_waiting<C: ProducerContext<DeliveryOpaque = ()>>(
    producer: &ThreadedProducer<C>,
    mut record: BaseRecord<'_, str, [u8]>,
) -> Result<(), KafkaError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => return Err(e),
        }
    }
}
