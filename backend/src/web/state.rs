//! What every handler and socket may read. It holds the web's leaf parts (the sampler's
//! feeds, the live tails, the limits) but nothing that handles requests, so the router and
//! the handlers depend on it and never the other way round.

use super::access::Access;
use super::gradebook::Gradebook;
use super::guard::{Limits, RateLimiter};
use super::live::Tails;
use super::sampler::Feeds;
use crate::exercises::check::Checker;
use crate::inference::InferenceMetrics;
use crate::kafka::KafkaConfig;
use crate::kafka::connect::Connect;
use crate::kafka::groups::GroupReader;
use crate::kafka::metadata::ClusterReader;
use crate::kafka::producer::AsyncProducer;
use crate::kafka::registry::Registry;
use crate::load::generator::Generator;
use crate::shutdown::Shutdown;
use std::sync::Arc;
use streamlab_wire::ModelSummary;
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct AppState {
    pub info: Arc<LabInfo>,
    pub kafka: KafkaConfig,
    /// Topics, groups, rates and the inference status, sampled once a second.
    pub feeds: Arc<Feeds>,
    /// The inference service's counters, for `/metrics`.
    pub metrics: Arc<InferenceMetrics>,
    pub cluster: Arc<ClusterReader>,
    pub groups: Arc<GroupReader>,
    pub producer: AsyncProducer,
    pub generator: Arc<Generator>,
    pub limits: Arc<Limits>,
    /// Who may do what: the admin token, class mode, the lab's own topics.
    pub access: Arc<Access>,
    pub limiter: Arc<RateLimiter>,
    pub tails: Arc<Tails>,
    pub model: Arc<ModelSummary>,
    pub checker: Checker,
    /// The Kafka Connect worker the Connectors page and the checker read.
    pub connect: Connect,
    /// The lab's Schema Registry, if it runs: records in its wire format are shown decoded.
    pub schemas: Option<Arc<Registry>>,
    /// The students of `--roster`, for the classroom page.
    pub roster: Arc<Vec<String>>,
    /// The classroom's grade book, re-checked per student as her work changes.
    pub gradebook: Arc<Gradebook>,
    /// The open websockets, so that a shutdown can close them and wait until their live
    /// tails have let go of the broker.
    pub sessions: TaskTracker,
    /// Triggered when the lab stops: every websocket says goodbye and closes.
    pub closing: Shutdown,
}

#[derive(Debug, Clone)]
pub struct LabInfo {
    /// The bootstrap string clients use (the advertised address).
    pub brokers: String,
    pub embedded_broker: bool,
    /// Whether clients on other machines can reach the broker.
    pub reachable_from_other_machines: bool,
    /// The SASL mechanism clients sign in with, when the cluster wants them to.
    pub sasl_mechanism: Option<String>,
    /// The inference service's request and dead-letter topics, for a redrive.
    pub requests: String,
    pub dead_letters: String,
    /// The Schema Registry's URL for clients, when the lab serves one.
    pub schema_registry: Option<String>,
}
