//! The embedded broker: a real Kafka-compatible broker (nisshi) running inside the
//! streamlab process, so a classroom needs nothing but this binary. Its records are kept by
//! [`super::log`], and its clients' connections are carried by [`super::connection`] with
//! nisshi's protocol services.
//!
//! Known gaps, pinned by `tests/it/compat.rs`: no transactions (InitProducerId with a
//! transactional id is refused), no automatic topic creation, and clients on old
//! librdkafka (Debian's kcat, 2.0.2) fail the handshake.

use super::connection;
use super::log::{self, LogStorage};
use anyhow::Context;
use nisshi_broker::coordinator::group::administrator::{Controller, GroupCoordinatorConfig};
use nisshi_service::{BytesFrameLayer, BytesFrameService, FrameRouteService};
use nisshi_storage::{ArcDynStorage, BrokerRegistrationRequest, Storage as _, StorageContainer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use thiserror::Error;
use tokio::task::JoinHandle;
use url::Url;

/// Where the embedded broker keeps its data.
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    /// Gone when the process exits.
    Memory,
    /// Kept across restarts in this directory: records in `logs/`, one log per partition,
    /// and topics, groups and offsets in the SQLite file `metadata.db`.
    Directory(PathBuf),
}

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error(
        "cannot start the embedded broker: {addr} is already in use (another Kafka broker or \
         streamlab is running there).\n  Choose another port with --broker-addr 127.0.0.1:PORT \
         (env STREAMLAB_BROKER_ADDR), or use the broker that is running with --brokers {addr} \
         (env KAFKA_BROKERS)."
    )]
    AddrInUse { addr: SocketAddr },
    #[error("cannot start the embedded broker on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the embedded broker failed: {0}")]
    Broker(String),
    #[error(
        "the embedded broker listens on every interface ({addr}) but cannot tell clients which address \
         to connect to: add --advertise HOST (env STREAMLAB_ADVERTISE), HOST being how the other machines \
         reach this one (its name or its address on the classroom network), or use --public HOST"
    )]
    NoAdvertisedHost { addr: SocketAddr },
    #[error("cannot advertise `{host}` to clients: {reason}")]
    Advertise { host: String, reason: String },
    #[error(
        "--data-dir {} was written by an earlier streamlab, which kept records in lab.db; this one \
         keeps them in logs/ and cannot read that file. Start with a new --data-dir (or move lab.db away).",
        dir.display()
    )]
    OldDataDir { dir: PathBuf },
}

/// Which engine keeps the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// streamlab's log per partition ([`super::log`]).
    #[default]
    Logs,
    /// nisshi's own engines (dynostore in memory, SQLite on disk), which list every stored
    /// batch on each fetch: kept only so that the bench can compare the two in one run.
    Nisshi,
}

/// A running embedded broker; dropping it stops the broker.
pub struct EmbeddedBroker {
    addr: SocketAddr,
    /// `host:port` as clients are told to connect.
    advertised: String,
    /// The logs, with [`Engine::Logs`].
    storage: Option<Arc<LogStorage>>,
    /// The accept loop and its connections.
    task: JoinHandle<()>,
    /// Retention and the metadata store's upkeep.
    upkeep: Option<JoinHandle<()>>,
}

impl EmbeddedBroker {
    /// Starts a broker listening on `addr` (port 0 picks a free port) and returns once it
    /// accepts connections. Clients are told to connect to `advertise` (a host name or
    /// address; the listening address when `None`) on the listening port.
    pub async fn start(addr: SocketAddr, advertise: Option<&str>, storage: Storage) -> anyhow::Result<Self> {
        Self::start_with(addr, advertise, storage, Engine::Logs).await
    }

    /// [`Self::start`] with the records kept by `engine`.
    pub async fn start_with(
        addr: SocketAddr,
        advertise: Option<&str>,
        storage: Storage,
        engine: Engine,
    ) -> anyhow::Result<Self> {
        if engine == Engine::Nisshi {
            return start_nisshi(addr, advertise, storage).await;
        }
        let listener = bind(addr)?;
        let addr = listener.local_addr().map_err(|source| BrokerError::Bind { addr, source })?;
        let advertised = advertised(addr, advertise)?;
        let advertised_url = Url::parse(&format!("tcp://{advertised}"))
            .map_err(|e| BrokerError::Advertise { host: advertised.clone(), reason: e.to_string() })?;
        let (meta_url, logs) = storage_places(&storage)?;
        let mut builder = StorageContainer::builder();
        builder.with_factory(Arc::new(nisshi_storage_dynostore::MemoryEngineFactory));
        builder.with_factory(Arc::new(nisshi_storage_sql::LiteEngineFactory));
        let meta = builder
            .cluster_id(CLUSTER_ID)
            .node_id(NODE_ID)
            .advertised_listener(advertised_url)
            .storage(meta_url)
            .silent(true)
            .build()
            .await
            .map_err(|e| BrokerError::Broker(e.to_string()))?;
        let defaults = log::Defaults::for_storage(logs.is_some());
        let logs = LogStorage::open(meta, logs, defaults).await.map_err(|e| BrokerError::Broker(e.to_string()))?;
        let engine: ArcDynStorage = logs.clone();
        engine
            .register_broker(BrokerRegistrationRequest {
                broker_id: NODE_ID,
                cluster_id: CLUSTER_ID.to_owned(),
                incarnation_id: uuid::Uuid::new_v4(),
                rack: None,
            })
            .await
            .map_err(|e| BrokerError::Broker(e.to_string()))?;
        let groups = Controller::new(engine.clone(), GroupCoordinatorConfig::default());
        // The connections' services, built once to fail here rather than per connection. Each
        // connection still gets its own, as nisshi's broker does: with SASL they would hold that
        // connection's authentication.
        protocol(groups.clone(), engine.clone()).map_err(BrokerError::Broker)?;
        let task = tokio::spawn(accept(listener, groups, engine.clone()));
        let upkeep = tokio::spawn(upkeep(logs.clone(), engine));
        tracing::info!(%addr, storage = ?storage, "embedded broker listening");
        Ok(EmbeddedBroker { addr, advertised, storage: Some(logs), task, upkeep: Some(upkeep) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bootstrap address for clients: the advertised one.
    pub fn bootstrap(&self) -> String {
        self.advertised.clone()
    }

    /// The broker's logs: what they hold, for the overview and `/metrics`.
    pub fn logs(&self) -> Option<Arc<LogStorage>> {
        self.storage.clone()
    }

    /// Whether clients on other machines can connect: the broker listens beyond loopback
    /// and advertises an address that is not loopback.
    pub fn reachable_from_other_machines(&self) -> bool {
        let host = self.advertised.rsplit_once(':').map_or("", |(h, _)| h).trim_matches(['[', ']']);
        let loopback_host = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        !self.addr.ip().is_loopback() && !loopback_host
    }
}

impl EmbeddedBroker {
    /// Stops the broker and waits until its connections are gone, so that its storage is
    /// closed before the process exits. Stop the broker's clients first: a client left
    /// behind logs every refused reconnection.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        if let Some(upkeep) = &mut self.upkeep {
            upkeep.abort();
            let _ = upkeep.await;
        }
        tracing::debug!(addr = %self.addr, "embedded broker stopped");
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(upkeep) = &self.upkeep {
            upkeep.abort();
        }
    }
}

/// The broker as nisshi runs it, on its own engines (see [`Engine::Nisshi`]).
async fn start_nisshi(addr: SocketAddr, advertise: Option<&str>, storage: Storage) -> anyhow::Result<EmbeddedBroker> {
    let addr = bind(addr)?.local_addr().map_err(|source| BrokerError::Bind { addr, source })?;
    let advertised = advertised(addr, advertise)?;
    let advertised_url = Url::parse(&format!("tcp://{advertised}"))
        .map_err(|e| BrokerError::Advertise { host: advertised.clone(), reason: e.to_string() })?;
    let url = match &storage {
        Storage::Memory => Url::parse("memory://streamlab/").expect("valid url"),
        Storage::Directory(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create --data-dir {}", dir.display()))?;
            sqlite_url(&std::path::absolute(dir)?.join("nisshi.db"))
        }
    };
    // `builder()` does not depend on the broker's type parameters; name the ones `build` returns.
    type Broker = nisshi_broker::broker::Broker<Controller<ArcDynStorage>, ArcDynStorage>;
    let broker = Broker::builder()
        .node_id(NODE_ID)
        .cluster_id(CLUSTER_ID)
        .incarnation_id(uuid::Uuid::new_v4())
        .advertised_listener(advertised_url)
        .storage(url)
        .listener(Url::parse(&format!("tcp://{addr}")).expect("valid url"))
        .silent(true)
        .build()
        .await
        .map_err(|e| BrokerError::Broker(e.to_string()))?;
    // `serve` rather than `main`: main installs its own SIGINT/SIGTERM handlers.
    let task = tokio::spawn(async move {
        let mut broker = broker;
        if let Err(e) = broker.serve(tokio::time::Instant::now()).await {
            tracing::error!(error = %e, "embedded broker stopped");
        }
    });
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(EmbeddedBroker { addr, advertised, storage: None, task, upkeep: None });
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    task.abort();
    anyhow::bail!("the embedded broker did not start listening on {addr} within 5 s")
}

const CLUSTER_ID: &str = "streamlab";
const NODE_ID: i32 = 1;

/// Binds the broker's port (0: a free one), with an error that says what to do when it is
/// taken.
fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, BrokerError> {
    let std = match std::net::TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(BrokerError::AddrInUse { addr }),
        Err(source) => return Err(BrokerError::Bind { addr, source }),
    };
    std.set_nonblocking(true).map_err(|source| BrokerError::Bind { addr, source })?;
    tokio::net::TcpListener::from_std(std).map_err(|source| BrokerError::Bind { addr, source })
}

/// Serves each client's connection with nisshi's Kafka protocol services, until aborted
/// (which ends every connection with it).
async fn accept(listener: tokio::net::TcpListener, groups: Controller<ArcDynStorage>, storage: ArcDynStorage) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait rather than spin.
                tracing::warn!(error = %e, "the embedded broker cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = match protocol(groups.clone(), storage.clone()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "the embedded broker cannot serve a connection");
                continue;
            }
        };
        connections.spawn(async move {
            if let Err(e) = connection::serve(stream, service).await {
                tracing::debug!(%peer, error = %e, "a client's connection ended");
            }
        });
        // Finished connections are reaped as new ones come, so the set stays small.
        while connections.try_join_next().is_some() {}
    }
}

/// nisshi's Kafka protocol services (its broker's, without SASL), from a request's bytes to
/// its answer's; [`connection`] carries them over the client's connection.
fn protocol(
    groups: Controller<ArcDynStorage>,
    storage: ArcDynStorage,
) -> Result<BytesFrameService<FrameRouteService<nisshi_broker::Error>>, String> {
    use nisshi_broker::service::{auth, coordinator, storage as stored};
    let routes = stored::services(FrameRouteService::builder(), storage)
        .and_then(|b| coordinator::services(b, groups))
        .and_then(auth::services)
        .map_err(|e| e.to_string())?;
    let routes = routes.build().map_err(|e| e.to_string())?;
    Ok(rama::Layer::into_layer(BytesFrameLayer::default(), routes))
}

/// Every few seconds, each topic's retention; every ten minutes, the metadata store's own
/// upkeep (nisshi's broker does the same).
async fn upkeep(logs: Arc<LogStorage>, engine: ArcDynStorage) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_maintain = std::time::Instant::now();
    loop {
        tick.tick().await;
        let freed = logs.retain(SystemTime::now()).await;
        if freed > 0 {
            tracing::debug!(freed, "retention deleted old segments");
        }
        if last_maintain.elapsed() >= Duration::from_secs(600) {
            last_maintain = std::time::Instant::now();
            if let Err(e) = engine.maintain(SystemTime::now()).await {
                tracing::debug!(error = %e, "metadata upkeep failed");
            }
        }
    }
}

/// `host:port` that clients are told to connect to.
fn advertised(addr: SocketAddr, advertise: Option<&str>) -> Result<String, BrokerError> {
    let host = match advertise.map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => h.to_owned(),
        None if addr.ip().is_unspecified() => return Err(BrokerError::NoAdvertisedHost { addr }),
        None => addr.ip().to_string(),
    };
    // An IPv6 address needs brackets before its port.
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(format!("[{host}]:{}", addr.port()));
    }
    if host.contains([':', '/', ' ', '@', '?', '#']) {
        let reason = "give a host name or an address without a port (the port is --broker-addr's)".to_owned();
        return Err(BrokerError::Advertise { host, reason });
    }
    Ok(format!("{host}:{}", addr.port()))
}

/// The metadata store's URL and the directory of the logs (`None`: in memory). With
/// `--data-dir`, metadata is in `DIR/metadata.db` (SQLite) and records in `DIR/logs/`.
fn storage_places(storage: &Storage) -> anyhow::Result<(Url, Option<PathBuf>)> {
    match storage {
        Storage::Memory => Ok((Url::parse("memory://streamlab/").expect("valid url"), None)),
        Storage::Directory(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create --data-dir {}", dir.display()))?;
            let dir = std::path::absolute(dir)?;
            // Before this engine, records were kept in `lab.db`; they cannot be read now.
            if dir.join("lab.db").exists() && !dir.join("logs").exists() {
                return Err(BrokerError::OldDataDir { dir }.into());
            }
            Ok((sqlite_url(&dir.join("metadata.db")), Some(dir.join("logs"))))
        }
    }
}

/// nisshi resolves a SQLite URL's path against the working directory after stripping one
/// leading `/`; a second `/` keeps the path absolute, so `--data-dir` means what it says
/// wherever streamlab is started from.
fn sqlite_url(file: &Path) -> Url {
    Url::parse(&format!("sqlite:///{}", file.display())).expect("valid sqlite url")
}
