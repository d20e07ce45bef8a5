//! `streamlab infer`: the inference service alone, with its metrics on their own port.
//! Several instances in one group share the request topic's partitions.

use crate::cli::InferArgs;
use crate::inference::{InferenceMetrics, InferenceService};
use crate::kafka::KafkaConfig;
use crate::shutdown::Shutdown;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(
    args: InferArgs,
    metrics_addr: SocketAddr,
    kafka: KafkaConfig,
    shutdown: Shutdown,
) -> anyhow::Result<ExitCode> {
    let model = Arc::new(args.load_model()?);
    let metrics = Arc::new(InferenceMetrics::default());
    let listener = tokio::net::TcpListener::bind(metrics_addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot serve metrics on {metrics_addr}: {e} (choose another with --metrics-addr, 127.0.0.1:0 for any free port)"
        )
    })?;
    eprintln!(
        "streamlab infer: {} → model {} → {} (dead letters: {}), group {}, metrics http://{}/metrics",
        args.requests_topic,
        model.version(),
        args.predictions_topic,
        args.dead_letter_topic,
        args.group,
        listener.local_addr()?
    );
    tokio::spawn(axum::serve(listener, crate::web::metrics_app(metrics.clone())).into_future());
    let service = InferenceService { kafka, config: args.config(), model, metrics, arrivals: None };
    // The service finishes the round in flight and commits its offsets before it returns.
    tokio::task::spawn_blocking(move || service.run_until(&shutdown)).await?;
    Ok(ExitCode::SUCCESS)
}
