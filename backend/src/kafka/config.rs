//! Where the cluster is and how every client of streamlab talks to it: `--brokers` plus
//! kcat-style `-X` properties, applied to each client the program creates.

use rdkafka::ClientConfig;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;

use super::log::{LocalLogs, LogStorage};
use super::readers::{Reader, Readers};
use std::sync::Arc;

/// Where the cluster is and how to talk to it: `--brokers` plus kcat-style `-X` properties.
#[derive(Debug, Clone, Default)]
pub struct KafkaConfig {
    pub bootstrap: String,
    /// librdkafka properties such as `security.protocol`, `sasl.*`, `ssl.*`.
    pub properties: Vec<(String, String)>,
    /// Consumers kept between one-off reads of this cluster, shared by every clone.
    readers: Readers,
    /// The embedded broker's logs, when it runs in this process: the lab's one-off reads
    /// take the records from them, not through a consumer.
    local: Option<LocalLogs>,
}

impl KafkaConfig {
    pub fn new(bootstrap: impl Into<String>) -> Self {
        KafkaConfig { bootstrap: bootstrap.into(), properties: Vec::new(), readers: Readers::default(), local: None }
    }

    /// The same cluster, whose broker runs in this process and keeps its records in `logs`.
    /// Called on the broker's runtime.
    pub fn with_local(mut self, logs: Option<Arc<LogStorage>>) -> Self {
        self.local = logs.map(LocalLogs::new);
        self
    }

    /// The broker's logs, when it runs in this process ([`Self::with_local`]).
    pub fn local(&self) -> Option<&LocalLogs> {
        self.local.as_ref()
    }

    /// The same cluster with these `-X` properties.
    pub fn with_properties(mut self, properties: Vec<(String, String)>) -> Self {
        self.properties = properties;
        self
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

    /// A consumer for one read (assign, read, drop), kept warm between reads: see
    /// [`super::readers`].
    pub fn reader(&self) -> Result<Reader, KafkaError> {
        self.readers.borrow(self.client())
    }

    pub fn admin(&self) -> Result<AdminClient<DefaultClientContext>, KafkaError> {
        self.client().create()
    }
}

/// Parses a `-X key=value` argument.
pub fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected key=value (a librdkafka property), got `{s}`")),
    }
}
