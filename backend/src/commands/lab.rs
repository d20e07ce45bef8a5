//! `streamlab` with no command: the whole lab in one process — the embedded broker (unless
//! `--brokers` names a cluster), the lab topics, the inference service and the web server.
//!
//! [`Lab::start`] brings the broker up and creates the topics; [`Lab::serve`] serves the web
//! app on a listener until a shutdown future completes, which is what the tests run.

use crate::cli::{InferArgs, KafkaArgs, LabArgs};
use crate::exercises::Catalog;
use crate::exercises::check::Checker;
use crate::exercises::class::Class;
use crate::exercises::conditions::FailureDetails;
use crate::inference::{InferenceConfig, InferenceMetrics, InferenceService};
use crate::kafka::KafkaConfig;
use crate::kafka::admin::ensure_topics;
use crate::kafka::broker::{EmbeddedBroker, Storage};
use crate::kafka::groups::GroupReader;
use crate::kafka::metadata::{ClusterReader, wait_ready};
use crate::load::generator::Generator;
use crate::shutdown::Shutdown;
use crate::web::access::Access;
use crate::web::guard::{Limits, RateLimiter};
use crate::web::live::Tails;
use crate::web::sampler::Sampler;
use crate::web::{AppState, LabInfo, app};
use anyhow::Context;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use streamlab_model::Artifact;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub async fn run(
    lab: LabArgs,
    inference: InferArgs,
    kafka: &KafkaArgs,
    shutdown: Shutdown,
) -> anyhow::Result<ExitCode> {
    let roster = match &lab.roster {
        Some(path) => super::read_roster(path)?,
        None => Vec::new(),
    };
    let infer = inference.config();
    let mut lab_topics: Vec<String> = streamlab_wire::topics::ALL.iter().map(|t| t.to_string()).collect();
    lab_topics.extend([infer.requests.clone(), infer.predictions.clone(), infer.dead_letters.clone()]);
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
        lab_topics,
        allow_lab_topic_delete: lab.allow_lab_topic_delete,
    };
    // --public HOST: everything on every interface, the broker advertising HOST.
    let (web_addr, broker_addr, advertise) = match &lab.public {
        Some(host) => (
            SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), lab.web_addr.port()),
            SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), lab.broker_addr.port()),
            Some(host.clone()),
        ),
        None => (lab.web_addr, lab.broker_addr, lab.advertise.clone()),
    };
    let config = LabConfig {
        kafka: kafka.external(),
        broker_addr,
        advertise,
        data_dir: lab.data_dir.clone(),
        partitions: lab.partitions,
        inference: Some(infer),
        model: Arc::new(super::model::load(inference.model.as_deref())?),
        limits: lab.limits(),
        access,
        exercises: Arc::new(Catalog::load(lab.exercises.as_deref())?),
        roster,
        failure_details: lab.failure_details,
    };
    let listener = bind_web(web_addr).await?;
    let started = Lab::start(&config).await?;
    let web = listener.local_addr()?;
    let broker = match &started.broker {
        Some(b) => format!(
            "{} (embedded, listening on {}, {}){}",
            b.bootstrap(),
            b.addr(),
            config.data_dir.as_ref().map_or("in memory".to_owned(), |d| format!("data in {}", d.display())),
            if b.reachable_from_other_machines() {
                ""
            } else {
                "\n          this machine only: for clients on other machines start with --public HOST"
            }
        ),
        None => started.kafka.bootstrap.clone(),
    };
    let class = match &config.access.class {
        Some(c) => format!(
            "\n  class   {} students sign in with their tokens (streamlab class tokens --roster FILE)",
            c.roster().len()
        ),
        None => String::new(),
    };
    // On every interface, show the address the class uses, if the lab was told it.
    let shown = match (&config.advertise, web.ip().is_unspecified()) {
        (Some(host), true) if host.contains(':') => format!("[{host}]:{}", web.port()),
        (Some(host), true) => format!("{host}:{}", web.port()),
        (None, true) => format!("127.0.0.1:{}", web.port()),
        (_, false) => web.to_string(),
    };
    eprintln!(
        "streamlab {} is ready\n  lab     http://{shown}/\n  broker  {broker}\n  topics  {}{class}\nPress Ctrl-C to stop.",
        env!("CARGO_PKG_VERSION"),
        streamlab_wire::topics::ALL.join(", ")
    );
    started.serve(listener, async move { shutdown.wait().await }).await?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Clone)]
pub struct LabConfig {
    /// A cluster to use; `None` starts the embedded broker.
    pub kafka: Option<KafkaConfig>,
    pub broker_addr: SocketAddr,
    /// The host the embedded broker advertises (`--advertise`).
    pub advertise: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub partitions: i32,
    /// The inference service to run beside the lab, if any.
    pub inference: Option<InferenceConfig>,
    pub model: Arc<Artifact>,
    pub limits: Limits,
    /// Who may do what.
    pub access: Access,
    /// The exercises the lab checks.
    pub exercises: Arc<Catalog>,
    /// The class shown on the classroom page.
    pub roster: Vec<String>,
    /// How much a failed check tells students.
    pub failure_details: FailureDetails,
}

/// A lab whose broker is up and whose topics exist, ready to serve.
pub struct Lab {
    pub kafka: KafkaConfig,
    /// Held so that the embedded broker lives as long as the lab.
    pub broker: Option<EmbeddedBroker>,
    pub config: LabConfig,
}

impl Lab {
    pub async fn start(config: &LabConfig) -> anyhow::Result<Lab> {
        let (kafka, broker) = match &config.kafka {
            Some(kafka) => (kafka.clone(), None),
            None => {
                let storage = config.data_dir.clone().map_or(Storage::Memory, Storage::Directory);
                let broker = EmbeddedBroker::start(config.broker_addr, config.advertise.as_deref(), storage).await?;
                (KafkaConfig::new(broker.bootstrap()), Some(broker))
            }
        };
        let ready = kafka.clone();
        tokio::task::spawn_blocking(move || wait_ready(&ready, Duration::from_secs(30))).await??;
        let mut topics: Vec<&str> = streamlab_wire::topics::ALL.to_vec();
        if let Some(i) = &config.inference {
            topics.extend([i.requests.as_str(), i.predictions.as_str(), i.dead_letters.as_str()]);
        }
        topics.sort_unstable();
        topics.dedup();
        ensure_topics(&kafka, &topics, config.partitions).await?;
        Ok(Lab { kafka, broker, config: config.clone() })
    }

    /// Serves the web app on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let metrics = Arc::new(InferenceMetrics::default());
        let stop = Arc::new(AtomicBool::new(false));
        let inference = self.config.inference.clone().map(|config| {
            let service = InferenceService {
                kafka: self.kafka.clone(),
                config,
                model: self.config.model.clone(),
                metrics: metrics.clone(),
            };
            let stop = stop.clone();
            std::thread::spawn(move || service.run_until(&stop))
        });
        let requests =
            self.config.inference.as_ref().map_or(streamlab_wire::topics::REQUESTS.to_owned(), |i| i.requests.clone());
        let dead_letters = self
            .config
            .inference
            .as_ref()
            .map_or(streamlab_wire::topics::DEAD_LETTERS.to_owned(), |i| i.dead_letters.clone());
        let generator = Arc::new(Generator::new(self.kafka.clone(), requests.clone()));
        let cluster = Arc::new(ClusterReader::new(&self.kafka)?);
        let groups = Arc::new(GroupReader::new(&self.kafka)?);
        let (feeds, sampler) = Sampler {
            cluster: cluster.clone(),
            groups: groups.clone(),
            metrics: metrics.clone(),
            model_version: self.config.model.version().to_owned(),
            inference_running: inference.is_some(),
            generator: generator.clone(),
            period: Duration::from_secs(1),
        }
        .spawn();
        let producer = self
            .kafka
            .client()
            .set("message.timeout.ms", "10000")
            .set("message.max.bytes", (self.config.limits.max_record_bytes + 64 * 1024).to_string())
            .create()
            .context("cannot create the lab's producer")?;
        let state = AppState {
            info: Arc::new(LabInfo {
                brokers: self.kafka.bootstrap.clone(),
                embedded_broker: self.broker.is_some(),
                // An external cluster is the teacher's to set up; assume it serves the class.
                reachable_from_other_machines: self.broker.as_ref().is_none_or(|b| b.reachable_from_other_machines()),
                requests,
                dead_letters,
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
            tails: Arc::new(Tails::new(self.kafka.clone())),
            model: Arc::new(model_summary(&self.config.model)),
            checker: Checker::new(self.kafka.clone(), self.config.exercises.clone())
                .with_details(self.config.failure_details),
            roster: Arc::new(self.config.roster.clone()),
            classroom: Arc::default(),
            sessions: TaskTracker::new(),
            closing: CancellationToken::new(),
        };
        let (sessions, closing) = (state.sessions.clone(), state.closing.clone());
        let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, service).with_graceful_shutdown(shutdown).await;

        // The clients stop first and the broker last: a client whose broker is gone logs
        // every refused reconnection, and the broker's storage must outlive the commits.
        closing.cancel();
        sessions.close();
        if tokio::time::timeout(Duration::from_secs(2), sessions.wait()).await.is_err() {
            tracing::warn!("some websockets did not close within 2 s");
        }
        sampler.abort();
        let _ = sampler.await;
        stop.store(true, Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(move || generator.stop()).await;
        if let Some(handle) = inference {
            // The service finishes its round and commits before it returns.
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        // A live tail's thread notices its socket is gone within one poll (100 ms).
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(broker) = self.broker {
            broker.stop().await;
        }
        tracing::info!("stopped: websockets closed, inference committed, broker storage closed");
        result.context("web server failed")
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
