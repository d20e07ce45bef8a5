//! The embedded broker: a real Kafka-compatible broker (nisshi) running inside the
//! streamlab process, so a classroom needs nothing but this binary.
//!
//! Known gaps, pinned by `tests/it/compat.rs`: no transactions (InitProducerId with a
//! transactional id is refused), no automatic topic creation, and clients on old
//! librdkafka (Debian's kcat, 2.0.2) fail the handshake.

use anyhow::Context;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use tokio::task::JoinHandle;
use url::Url;

/// Where the embedded broker keeps its data.
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    /// Gone when the process exits.
    Memory,
    /// A SQLite file `lab.db` in this directory, kept across restarts.
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
}

/// A running embedded broker; dropping it stops the broker.
pub struct EmbeddedBroker {
    addr: SocketAddr,
    /// `host:port` as clients are told to connect.
    advertised: String,
    task: JoinHandle<()>,
}

impl EmbeddedBroker {
    /// Starts a broker listening on `addr` (port 0 picks a free port) and returns once it
    /// accepts connections. Clients are told to connect to `advertise` (a host name or
    /// address; the listening address when `None`) on the listening port.
    pub async fn start(addr: SocketAddr, advertise: Option<&str>, storage: Storage) -> anyhow::Result<Self> {
        let addr = reserve(addr)?;
        let advertised = advertised(addr, advertise)?;
        let listener = Url::parse(&format!("tcp://{addr}")).expect("valid url");
        let advertised_url = Url::parse(&format!("tcp://{advertised}"))
            .map_err(|e| BrokerError::Advertise { host: advertised.clone(), reason: e.to_string() })?;
        let storage_url = storage_url(&storage)?;
        // `builder()` does not depend on the broker's type parameters; name the ones `build`
        // returns.
        type Broker = nisshi_broker::broker::Broker<
            nisshi_broker::coordinator::group::administrator::Controller<nisshi_storage::ArcDynStorage>,
            nisshi_storage::ArcDynStorage,
        >;
        let broker = Broker::builder()
            .node_id(1)
            .cluster_id("streamlab")
            .incarnation_id(uuid::Uuid::new_v4())
            .advertised_listener(advertised_url)
            .storage(storage_url)
            .listener(listener)
            .silent(true)
            .build()
            .await
            .map_err(|e| BrokerError::Broker(e.to_string()))?;

        // `serve` rather than `main`: main installs its own SIGINT/SIGTERM handlers, which
        // would take Ctrl-C away from the rest of the lab.
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut broker = broker;
            let result = broker.serve(tokio::time::Instant::now()).await;
            let _ = ready_tx.send(result.as_ref().map_err(|e| e.to_string()).err());
            if let Err(e) = result {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        });
        let mut ready_rx = ready_rx;
        // The listener is bound inside `serve`; wait until it answers.
        for _ in 0..200 {
            if let Ok(Some(err)) = ready_rx.try_recv() {
                if err.contains("in use") {
                    return Err(BrokerError::AddrInUse { addr }.into());
                }
                return Err(BrokerError::Broker(err).into());
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                tracing::info!(%addr, storage = ?storage, "embedded broker listening");
                return Ok(EmbeddedBroker { addr, advertised, task });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        task.abort();
        anyhow::bail!("the embedded broker did not start listening on {addr} within 5 s")
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bootstrap address for clients: the advertised one.
    pub fn bootstrap(&self) -> String {
        self.advertised.clone()
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
    /// Stops the broker and waits until its task is gone, so that its storage (the SQLite
    /// file) is closed before the process exits. Stop the broker's clients first: a client
    /// left behind logs every refused reconnection.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        tracing::debug!(addr = %self.addr, "embedded broker stopped");
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        self.task.abort();
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

/// Checks that `addr` is free (nisshi's own error would only say "in use" deep in a log)
/// and resolves port 0 to a concrete free port, which the broker must advertise.
fn reserve(addr: SocketAddr) -> Result<SocketAddr, BrokerError> {
    match TcpListener::bind(addr) {
        Ok(l) => Ok(l.local_addr().map_err(|source| BrokerError::Bind { addr, source })?),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(BrokerError::AddrInUse { addr }),
        Err(source) => Err(BrokerError::Bind { addr, source }),
    }
}

fn storage_url(storage: &Storage) -> anyhow::Result<Url> {
    match storage {
        Storage::Memory => Ok(Url::parse("memory://streamlab/").expect("valid url")),
        Storage::Directory(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create --data-dir {}", dir.display()))?;
            let file = std::path::absolute(dir)?.join("lab.db");
            Ok(sqlite_url(&file))
        }
    }
}

/// nisshi resolves a SQLite URL's path against the working directory after stripping one
/// leading `/`; a second `/` keeps the path absolute, so `--data-dir` means what it says
/// wherever streamlab is started from.
fn sqlite_url(file: &Path) -> Url {
    Url::parse(&format!("sqlite:///{}", file.display())).expect("valid sqlite url")
}
