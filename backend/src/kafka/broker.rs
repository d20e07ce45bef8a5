//! The embedded broker: a real Kafka-compatible broker (nisshi) running inside the
//! streamlab process, so a classroom needs nothing but this binary.
//!
//! Known gaps, pinned by `tests/compat.rs`: no transactions (InitProducerId with a
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
}

/// A running embedded broker; dropping it stops the broker.
pub struct EmbeddedBroker {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EmbeddedBroker {
    /// Starts a broker listening on `addr` (port 0 picks a free port) and returns once it
    /// accepts connections.
    pub async fn start(addr: SocketAddr, storage: Storage) -> anyhow::Result<Self> {
        let addr = reserve(addr)?;
        let listener = Url::parse(&format!("tcp://{addr}")).expect("valid url");
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
            .advertised_listener(listener.clone())
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
                return Ok(EmbeddedBroker { addr, task });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        task.abort();
        anyhow::bail!("the embedded broker did not start listening on {addr} within 5 s")
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bootstrap address for clients.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        self.task.abort();
    }
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
