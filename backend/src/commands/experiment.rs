//! `streamlab experiment`: the course's experiment load producer, with the course producer's
//! Prometheus metrics and a progress line per second.

use crate::cli::{ExperimentArgs, KafkaArgs};
use crate::kafka::{KafkaConfig, admin};
use crate::load::experiment::{self, ExperimentConfig, ProducerMetrics, config::ExperimentSpec, hash::SecretKey};
use crate::shutdown::Shutdown;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub async fn run(args: ExperimentArgs, kafka: &KafkaArgs, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let kafka = match &args.course_brokers {
        Some(b) => KafkaConfig { bootstrap: b.clone(), properties: kafka.properties.clone() },
        None => kafka.cluster(),
    };
    let config = ExperimentConfig {
        topic: args.topic.clone(),
        document_topic: args.topic_document.clone(),
        experiments: args.experiments()?,
        secret_key: args.secret_key.clone(),
        seed: args.seed,
    };
    SecretKey::new(&config.secret_key).map_err(|e| anyhow::anyhow!("--secret-key: {e}"))?;
    let mut topics = vec![config.topic.as_str()];
    topics.extend(config.document_topic.as_deref());
    // A course cluster may not let students create topics; the producer can still write to
    // existing ones, so this is only a warning.
    if let Err(e) = admin::ensure_topics(&kafka, &topics, 3).await {
        tracing::warn!("{e:#}");
    }
    let metrics = Arc::new(ProducerMetrics::default());
    serve_metrics(&args.metrics_addr, metrics.clone()).await;
    let total: f64 = config.experiments.iter().map(|s| s.events_per_second() * s.duration().as_secs_f64()).sum();
    let end = config.experiments.iter().map(|s| s.start_time + s.duration().as_secs_f64()).fold(0.0, f64::max);
    eprintln!(
        "streamlab experiment: {} experiment(s) → {} on {}, about {total:.0} measurements over {end:.1} s",
        config.experiments.len(),
        config.topic,
        kafka.bootstrap
    );
    let progress = tokio::spawn(progress(metrics.clone(), config.experiments.clone()));
    let stop = shutdown.flag();
    let report = tokio::task::spawn_blocking(move || experiment::run(&kafka, &config, &metrics, &stop)).await??;
    progress.abort();
    let (acked, failed) =
        (report.deliveries.acked.load(Ordering::Relaxed), report.deliveries.failed.load(Ordering::Relaxed));
    eprintln!("done: {acked} events delivered, experiments {}", report.experiments.join(", "));
    anyhow::ensure!(failed == 0, "{failed} events were not delivered");
    Ok(ExitCode::SUCCESS)
}

/// Serves the course producer's metrics on `addr` ("off": nowhere). A taken port is only a
/// warning: the load matters more than its metrics.
async fn serve_metrics(addr: &str, metrics: Arc<ProducerMetrics>) {
    if addr == "off" {
        return;
    }
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => {
            let app =
                axum::Router::new().route("/metrics", axum::routing::get(move || async move { metrics.render() }));
            tokio::spawn(axum::serve(listener, app).into_future());
        }
        Err(e) => tracing::warn!("not serving metrics on {addr}: {e} (--metrics-addr HOST:PORT or off)"),
    }
}

/// A line per second: what was sent against what the load file says.
async fn progress(metrics: Arc<ProducerMetrics>, specs: Vec<ExperimentSpec>) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last = 0;
    tick.tick().await; // the first tick is immediate
    loop {
        tick.tick().await;
        let t = started.elapsed().as_secs_f64();
        let sent = metrics.total();
        eprintln!(
            "  {t:5.0} s  {:4} events/s  (load file: {:3.0} measurements/s)  {sent} sent",
            sent - last,
            experiment::config::expected_rate(&specs, t - 1.0)
        );
        last = sent;
    }
}
