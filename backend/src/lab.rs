//! The lab's composition root: everything `streamlab` runs when it is given no command, put
//! together in one place.
//!
//! [`LabConfig::from_args`] turns the flags into a configuration; [`Lab::start`] brings the
//! broker up (the embedded one unless `--brokers` names a cluster) and creates the lab's
//! topics; [`Lab::serve`] runs the inference service, the sampler, the generator, the live
//! tails and the web app until a [`Shutdown`], which is what the tests run.
//!
//! Stopping is ordered: every client of the broker holds a child of one shutdown, which is
//! triggered when the web server has stopped accepting; each is then joined (websockets
//! closed, the inference round committed, the generator's and tails' threads ended), and the
//! broker stops last, so its storage outlives the last commit.

use crate::cli::{InferArgs, KafkaArgs, LabArgs};
use crate::exercises::check::Checker;
use crate::exercises::class::Class;
use crate::exercises::conditions::FailureDetails;
use crate::exercises::rights;
use crate::exercises::{Catalog, load_roster};
use crate::inference::{InferenceConfig, InferenceMetrics, InferenceService};
use crate::kafka::KafkaConfig;
use crate::kafka::admin::ensure_topics_with;
use crate::kafka::broker::{EmbeddedBroker, Engine, Storage};
use crate::kafka::connect::Connect;
use crate::kafka::groups::GroupReader;
use crate::kafka::metadata::{ClusterReader, wait_ready};
use crate::kafka::producer::AsyncProducer;
use crate::kafka::registry::Registry;
use crate::kafka::security;
use crate::load::generator::Generator;
use crate::shutdown::Shutdown;
use crate::web::access::Access;
use crate::web::gradebook::Gradebook;
use crate::web::guard::{Limits, RateLimiter};
use crate::web::live::Tails;
use crate::web::sampler::Sampler;
use crate::web::{AppState, LabInfo, app, registry_app};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use streamlab_model::Artifact;
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

#[derive(Debug, Clone)]
pub struct LabConfig {
    /// A cluster to use; `None` starts the embedded broker.
    pub kafka: Option<KafkaConfig>,
    pub broker_addr: SocketAddr,
    /// The host the embedded broker advertises (`--advertise`).
    pub advertise: Option<String>,
    pub data_dir: Option<PathBuf>,
    /// What keeps the embedded broker's records (the bench compares the two).
    pub engine: Engine,
    pub partitions: i32,
    /// `retention.bytes` of the lab's own topics (see [`LAB_RETENTION`]).
    pub lab_retention_bytes: i64,
    /// The inference service to run beside the lab, if any.
    pub inference: Option<InferenceConfig>,
    pub model: Arc<Artifact>,
    pub limits: Limits,
    /// Who may do what; its `lab_topics` are also the topics the lab creates at start.
    pub access: Access,
    /// The exercises the lab checks.
    pub exercises: Arc<Catalog>,
    /// The class shown on the classroom page.
    pub roster: Vec<String>,
    /// How much a failed check tells students.
    pub failure_details: FailureDetails,
    /// The Kafka Connect worker's REST API (`--connect-url`).
    pub connect_url: String,
    /// Where to serve the Schema Registry; `None` serves none.
    pub schema_registry_addr: Option<SocketAddr>,
}

impl LabConfig {
    /// The configuration the flags describe, and the address the web app is to listen on.
    /// Reads the roster, the model and the exercises, so a mistake in any of them stops the
    /// lab before anything starts.
    pub fn from_args(
        lab: &LabArgs,
        inference: &InferArgs,
        kafka: &KafkaArgs,
    ) -> anyhow::Result<(LabConfig, SocketAddr)> {
        let roster = match &lab.roster {
            Some(path) => load_roster(path)?,
            None => Vec::new(),
        };
        let infer = inference.config();
        let access = Access {
            admin_token: lab.admin_token.clone().filter(|t| !t.is_empty()),
            class: match lab.class_secret.as_deref().filter(|s| !s.is_empty()) {
                Some(secret) => {
                    anyhow::ensure!(
                        secret.len() >= 16,
                        "--class-secret is too short to keep tokens unguessable: use 16 characters or more"
                    );
                    Some(Class::new(secret, roster.clone()))
                }
                None => None,
            },
            lab_topics: lab_topics(Some(&infer)),
            allow_lab_topic_delete: lab.allow_lab_topic_delete,
        };
        // --public HOST: everything on every interface, the broker advertising HOST.
        let everywhere = |port| SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), port);
        let (web_addr, broker_addr, registry_addr, advertise) = match &lab.public {
            Some(host) => (
                everywhere(lab.web_addr.port()),
                everywhere(lab.broker_addr.port()),
                everywhere(lab.schema_registry_addr.port()),
                Some(host.clone()),
            ),
            None => (lab.web_addr, lab.broker_addr, lab.schema_registry_addr, lab.advertise.clone()),
        };
        let config = LabConfig {
            kafka: kafka.external(),
            broker_addr,
            advertise,
            data_dir: lab.data_dir.clone(),
            engine: lab.broker_engine,
            partitions: lab.partitions,
            lab_retention_bytes: lab.lab_retention_bytes,
            inference: Some(infer),
            model: Arc::new(inference.load_model()?),
            limits: lab.limits(),
            access,
            exercises: Arc::new(Catalog::load(lab.exercises.as_deref())?),
            roster,
            failure_details: lab.failure_details,
            connect_url: lab.connect_url.clone(),
            schema_registry_addr: Some(registry_addr),
        };
        Ok((config, web_addr))
    }
}

/// What the lab's own topics keep when the lab creates them: a day of records and, by
/// default (`--lab-retention-bytes`), at most 128 MiB per partition, so a generator left on
/// through a long class (1,000 requests/s is 200 KB/s) cannot fill the machine, while a day's
/// lessons stay to be looked at.
pub const LAB_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// The lab's own topics: the requests, predictions and dead letters (the inference
/// service's names for them, where it runs), created at start and protected from deletion.
pub fn lab_topics(inference: Option<&InferenceConfig>) -> Vec<String> {
    let mut topics: Vec<String> = streamlab_wire::topics::ALL.iter().map(|t| t.to_string()).collect();
    if let Some(i) = inference {
        topics.extend([i.requests.clone(), i.predictions.clone(), i.dead_letters.clone()]);
    }
    topics.sort_unstable();
    topics.dedup();
    topics
}

/// A lab whose broker is up and whose topics exist, ready to serve.
pub struct Lab {
    pub kafka: KafkaConfig,
    /// Held so that the embedded broker lives as long as the lab.
    pub broker: Option<EmbeddedBroker>,
    pub config: LabConfig,
    /// The Schema Registry and where it is to be served, if it could be.
    registry: Option<(Arc<Registry>, TcpListener)>,
}

impl Lab {
    pub async fn start(config: &LabConfig) -> anyhow::Result<Lab> {
        let (kafka, broker) = match &config.kafka {
            Some(kafka) => (kafka.clone(), None),
            None => {
                let storage = config.data_dir.clone().map_or(Storage::Memory, Storage::Directory);
                let broker =
                    EmbeddedBroker::start_with(config.broker_addr, config.advertise.as_deref(), storage, config.engine)
                        .await?;
                // The lab's pages and checks read the broker's logs directly (see
                // `kafka::log::reads`).
                (KafkaConfig::new(broker.bootstrap()).with_local(broker.logs()), Some(broker))
            }
        };
        let ready = kafka.clone();
        tokio::task::spawn_blocking(move || wait_ready(&ready, Duration::from_secs(30))).await??;
        let topics: Vec<&str> = config.access.lab_topics.iter().map(String::as_str).collect();
        let (ms, bytes) = (LAB_RETENTION.as_millis().to_string(), config.lab_retention_bytes.to_string());
        let settings = [("retention.ms", ms.as_str()), ("retention.bytes", bytes.as_str())];
        ensure_topics_with(&kafka, &topics, config.partitions, &settings).await?;
        if let Some(class) =
            config.access.class.clone().filter(|_| config.kafka.is_some() && security::uses_sasl(&kafka))
        {
            // Students' own clients sign in to this cluster: give each her user and rights
            // before anyone is told to connect.
            let (cluster, lab_topics) = (kafka.clone(), config.access.lab_topics.clone());
            let changes = tokio::task::spawn_blocking(move || rights::apply(&cluster, &class, &lab_topics))
                .await?
                .context("cannot give the students their users and rights on the cluster")?;
            tracing::info!("class on {}: {}", kafka.bootstrap, rights::summary(&changes));
        }
        let registry = match config.schema_registry_addr {
            Some(addr) => open_registry(&kafka, addr).await,
            None => None,
        };
        Ok(Lab { kafka, broker, config: config.clone(), registry })
    }

    /// Where the Schema Registry listens, if it runs.
    pub fn registry_addr(&self) -> Option<SocketAddr> {
        self.registry.as_ref().and_then(|(_, l)| l.local_addr().ok())
    }

    /// The registry's URL for clients: on every interface, at the host the lab advertises.
    pub fn registry_url(&self) -> Option<String> {
        self.registry_addr().map(|addr| format!("http://{}", reachable_at(addr, self.config.advertise.as_deref())))
    }

    /// What the lab's own topics keep, in words.
    fn lab_topics_keep(&self) -> String {
        let days = LAB_RETENTION.as_secs() / 86_400;
        let day = if days == 1 { "1 day".to_owned() } else { format!("{days} days") };
        match self.config.lab_retention_bytes {
            b if b < 0 => format!("{day}, no size limit"),
            b => format!("{day}, at most {} MiB per partition", b >> 20),
        }
    }

    /// Serves the web app on `listener` until `shutdown` is triggered, then stops the lab's
    /// parts in order (see the module's doc).
    pub async fn serve(self, listener: TcpListener, shutdown: Shutdown) -> anyhow::Result<()> {
        // The broker's clients: stopped together when `shutdown` is (or when the web server
        // fails), and joined before the broker stops.
        let clients = shutdown.child();
        let metrics = Arc::new(InferenceMetrics::default());
        let inference = self.config.inference.clone().map(|config| {
            let service = InferenceService {
                kafka: self.kafka.clone(),
                config,
                model: self.config.model.clone(),
                metrics: metrics.clone(),
                arrivals: self.broker.as_ref().and_then(EmbeddedBroker::logs),
            };
            let stop = clients.child();
            std::thread::spawn(move || service.run_until(&stop))
        });
        let topics = self.config.inference.clone().unwrap_or_default();
        let generator = Arc::new(Generator::new(self.kafka.clone(), topics.requests.clone(), clients.child()));
        let cluster = Arc::new(ClusterReader::new(&self.kafka)?);
        let groups = Arc::new(GroupReader::new(&self.kafka)?);
        let (feeds, sampler) = Sampler {
            cluster: cluster.clone(),
            groups: groups.clone(),
            metrics: metrics.clone(),
            model_version: self.config.model.version().to_owned(),
            inference_running: inference.is_some(),
            generator: generator.clone(),
            logs: self.broker.as_ref().and_then(EmbeddedBroker::logs).map(|logs| {
                let kept =
                    format!("the lab's topics {}; others {}", self.lab_topics_keep(), logs.defaults().describe());
                (logs, kept)
            }),
            period: Duration::from_secs(1),
        }
        .spawn(clients.child());
        let producer = AsyncProducer::create(
            self.kafka
                .client()
                .set("message.timeout.ms", "10000")
                .set("message.max.bytes", (self.config.limits.max_record_bytes + 64 * 1024).to_string()),
        )
        .context("cannot create the lab's producer")?;
        let schemas = self.registry.as_ref().map(|(registry, _)| registry.clone());
        let tails = Arc::new(Tails::new(self.kafka.clone(), schemas.clone(), clients.child()));
        let connect = Connect::new(&self.config.connect_url);
        let checker = Checker::new(self.kafka.clone(), self.config.exercises.clone())
            .with_details(self.config.failure_details)
            .with_connect(connect.clone());
        let roster = Arc::new(self.config.roster.clone());
        let gradebook =
            Arc::new(Gradebook::new(checker.clone(), roster.clone(), feeds.topics.clone(), feeds.groups.clone()));
        tokio::spawn(gradebook.clone().run(clients.child()));
        let state = AppState {
            info: Arc::new(LabInfo {
                brokers: self.kafka.bootstrap.clone(),
                embedded_broker: self.broker.is_some(),
                // An external cluster is the teacher's to set up; assume it serves the class.
                reachable_from_other_machines: self.broker.as_ref().is_none_or(|b| b.reachable_from_other_machines()),
                sasl_mechanism: security::mechanism(&self.kafka),
                requests: topics.requests,
                dead_letters: topics.dead_letters,
                schema_registry: self.registry_url(),
            }),
            kafka: self.kafka.clone(),
            feeds,
            metrics,
            cluster,
            groups,
            producer,
            generator: generator.clone(),
            limiter: Arc::new(RateLimiter::new(self.config.limits.requests_per_second)),
            limits: Arc::new(self.config.limits.clone()),
            access: Arc::new(self.config.access.clone()),
            tails: tails.clone(),
            model: Arc::new(model_summary(&self.config.model)),
            checker: checker.clone(),
            connect,
            schemas,
            roster: roster.clone(),
            gradebook: gradebook.clone(),
            sessions: TaskTracker::new(),
            closing: clients.child(),
        };
        let sessions = state.sessions.clone();
        let registry = self.registry.map(|(registry, listener)| {
            let (stop, access) = (clients.child(), state.access.clone());
            tokio::spawn(async move {
                let app = registry_app(registry, access).into_make_service_with_connect_info::<SocketAddr>();
                let served = axum::serve(listener, app).with_graceful_shutdown(async move { stop.wait().await });
                if let Err(e) = served.await {
                    tracing::warn!("the Schema Registry stopped: {e}");
                }
            })
        });
        let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, service).with_graceful_shutdown(async move { shutdown.wait().await }).await;

        clients.trigger();
        sessions.close();
        if tokio::time::timeout(Duration::from_secs(2), sessions.wait()).await.is_err() {
            tracing::warn!("some websockets did not close within 2 s");
        }
        let _ = sampler.await;
        if let Some(registry) = registry {
            let _ = registry.await;
        }
        let threads = tokio::task::spawn_blocking(move || {
            generator.stop();
            // The service finishes its round and commits before it returns.
            if let Some(handle) = inference {
                let _ = handle.join();
            }
            tails.join();
        });
        let _ = threads.await;
        if let Some(broker) = self.broker {
            broker.stop().await;
        }
        tracing::info!("stopped: websockets closed, inference committed, broker storage closed");
        result.context("web server failed")
    }
}

/// `addr` as a client on another machine dials it: a lab listening on every interface is
/// reached at the host it advertises (this machine's loopback when it advertises none).
pub fn reachable_at(addr: SocketAddr, advertise: Option<&str>) -> String {
    match (advertise, addr.ip().is_unspecified()) {
        (Some(host), true) if host.contains(':') => format!("[{host}]:{}", addr.port()),
        (Some(host), true) => format!("{host}:{}", addr.port()),
        (None, true) => format!("127.0.0.1:{}", addr.port()),
        (_, false) => addr.to_string(),
    }
}

/// The Schema Registry, read from the broker and bound to `addr`; `None`, said why, when
/// either fails: the lab is still worth running without it.
async fn open_registry(kafka: &KafkaConfig, addr: SocketAddr) -> Option<(Arc<Registry>, TcpListener)> {
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(
                "no Schema Registry: cannot listen on {addr} ({e}); choose another address with \
                 --schema-registry-addr (env STREAMLAB_SCHEMA_REGISTRY_ADDR)"
            );
            return None;
        }
    };
    match Registry::open(kafka).await {
        Ok(registry) => Some((Arc::new(registry), listener)),
        Err(e) => {
            tracing::warn!("no Schema Registry: cannot read its topic {}: {e:#}", crate::kafka::registry::TOPIC);
            None
        }
    }
}

/// Binds the web address with an error that says what to do when it is taken.
pub async fn bind_web(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "cannot serve the lab: {addr} is already in use. Choose another address with \
                 --web-addr 0.0.0.0:PORT (env STREAMLAB_WEB_ADDR)."
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot serve the lab on {addr}"))
        }
    })
}

fn model_summary(model: &Artifact) -> streamlab_wire::ModelSummary {
    let (card, m) = (&model.card, &model.card.holdout);
    streamlab_wire::ModelSummary {
        version: model.version(),
        algorithm: card.algorithm.clone(),
        train_rows: card.data.train_rows,
        test_rows: card.data.test_rows,
        accuracy: m.accuracy,
        precision: m.precision,
        recall: m.recall,
        confusion: [[m.true_positive, m.false_positive], [m.false_negative, m.true_negative]],
        cv_mean: card.cross_validation.mean,
        cv_std: card.cross_validation.std,
    }
}
