//! The process's one shutdown signal, handed to every command.
//!
//! The first Ctrl-C (SIGINT) or SIGTERM triggers it — SIGTERM is what `docker stop`, systemd
//! and Kubernetes send, so it gets the same clean ending as Ctrl-C. Async code awaits
//! [`Shutdown::wait`], blocking loops (the producers, the inference service, `tail`) poll
//! [`Shutdown::is_triggered`], and each finishes what it has in flight (a round committed,
//! queued records flushed) before returning. A second signal ends the process at once, for
//! when finishing takes longer than the user will wait.
//!
//! A part that must be stopped on its own, before the rest (the lab stops its clients before
//! its broker; a live tail stops when its last browser leaves), holds a [`Shutdown::child`]:
//! triggering a shutdown triggers every child below it, never the one above.

use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
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

    /// A shutdown of its own that this one also triggers.
    pub fn child(&self) -> Self {
        Shutdown { token: self.token.child_token() }
    }

    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// For blocking code on its own thread, which checks between units of work.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when the shutdown is triggered.
    pub async fn wait(&self) {
        self.token.cancelled().await
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
    async fn a_trigger_reaches_waiters_pollers_and_children_but_not_parents() {
        let shutdown = Shutdown::new();
        let child = shutdown.child();
        let waiter = tokio::spawn({
            let s = child.child();
            async move { s.wait().await }
        });
        child.child().trigger();
        assert!(!child.is_triggered() && !shutdown.is_triggered(), "a child's trigger reaches no parent");
        shutdown.clone().trigger();
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter).await.unwrap().unwrap();
        assert!(child.is_triggered() && shutdown.is_triggered());
    }
}
