//! The process's one shutdown signal, handed to every command.
//!
//! The first Ctrl-C (SIGINT) or SIGTERM triggers it — SIGTERM is what `docker stop`, systemd
//! and Kubernetes send, so it gets the same clean ending as Ctrl-C. Async code awaits
//! [`Shutdown::wait`], blocking loops (the producers, the inference service, `tail`) poll
//! [`Shutdown::flag`], and each finishes what it has in flight (a round committed, queued
//! records flushed) before returning. A second signal ends the process at once, for when
//! finishing takes longer than the user will wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    /// The same signal for threads that cannot await.
    flag: Arc<AtomicBool>,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// A shutdown triggered by Ctrl-C or SIGTERM. Must be called inside the tokio runtime.
    pub fn on_signals() -> Self {
        let shutdown = Self::new();
        let s = shutdown.clone();
        tokio::spawn(async move {
            let Ok(mut signals) = Signals::new() else { return };
            let first = signals.next().await;
            tracing::info!(signal = first, "stopping: finishing what is in flight");
            s.trigger();
            let second = signals.next().await;
            eprintln!("stopped without finishing ({second} again)");
            std::process::exit(if second == "SIGTERM" { 143 } else { 130 });
        });
        shutdown
    }

    pub fn trigger(&self) {
        self.flag.store(true, Ordering::Relaxed);
        self.token.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Completes when the shutdown is triggered.
    pub async fn wait(&self) {
        self.token.cancelled().await
    }

    /// The signal as a flag, for blocking code on its own thread.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }
}

/// The signals that ask the process to stop.
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Signals {
            #[cfg(unix)]
            terminate: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?,
        })
    }

    /// Waits for the next one and names it.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_trigger_reaches_waiters_and_flag_readers() {
        let shutdown = Shutdown::new();
        let flag = shutdown.flag();
        let waiter = tokio::spawn({
            let s = shutdown.clone();
            async move { s.wait().await }
        });
        assert!(!flag.load(Ordering::Relaxed) && !shutdown.is_triggered());
        shutdown.clone().trigger();
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter).await.unwrap().unwrap();
        assert!(flag.load(Ordering::Relaxed) && shutdown.is_triggered());
    }
}
