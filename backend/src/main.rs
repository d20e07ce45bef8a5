use clap::Parser;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use streamlab::cli::InferArgs;
use streamlab::inference::InferenceService;
use streamlab::kafka::KafkaConfig;
use streamlab::metrics::InferenceMetrics;
use streamlab::cli::{Cli, Command, ModelCommand};
use streamlab::lab::{bind_web, Lab, LabConfig};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("STREAMLAB_LOG").unwrap_or_else(|_| EnvFilter::new("info,nisshi=warn,nisshi_broker=warn,nisshi_storage=warn")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        None => run_lab(cli).await,
        Some(Command::Infer { args, metrics_addr }) => run_infer(cli.kafka.cluster(), args, metrics_addr).await,
        Some(Command::Datagen(args)) => {
            let kafka = cli.kafka.cluster();
            let config = args.config()?;
            let stop = Arc::new(AtomicBool::new(false));
            let s = stop.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                s.store(true, Ordering::Relaxed);
            });
            let deliveries = tokio::task::spawn_blocking(move || streamlab::datagen::run(&kafka, &config, &stop)).await??;
            let failed = deliveries.failed.load(Ordering::Relaxed);
            anyhow::ensure!(failed == 0, "{failed} requests were not delivered");
            Ok(())
        }
        Some(Command::Tail { topic, from, count, exit }) => {
            let kafka = cli.kafka.cluster();
            tokio::task::spawn_blocking(move || streamlab::tail::tail(&kafka, &topic, from, count, exit, &mut std::io::stdout().lock()).map(|_| ())).await?
        }
        Some(Command::Model(cmd)) => tokio::task::spawn_blocking(move || match cmd {
            ModelCommand::Train { data, out } => streamlab::model_cmd::train(&data, &out),
            ModelCommand::Profile { data, out } => streamlab::model_cmd::profile(&data, &out),
            ModelCommand::Eval { data, model } => streamlab::model_cmd::eval(&data, model.as_ref()),
            ModelCommand::Info { model } => streamlab::model_cmd::info(model.as_ref()),
        })
        .await?,
    }
}

async fn run_lab(cli: Cli) -> anyhow::Result<()> {
    let config = LabConfig {
        kafka: cli.kafka.external(),
        broker_addr: cli.lab.broker_addr,
        data_dir: cli.lab.data_dir.clone(),
        partitions: cli.lab.partitions,
        inference: Some(cli.inference.config()),
        model: Arc::new(streamlab::model_cmd::load(cli.inference.model.as_deref())?),
    };
    let listener = bind_web(cli.lab.web_addr).await?;
    let lab = Lab::start(&config).await?;
    let web = listener.local_addr()?;
    let broker = match &lab.broker {
        Some(b) => format!("{} (embedded, {})", b.addr(), config.data_dir.as_ref().map_or("in memory".to_owned(), |d| format!("data in {}", d.display()))),
        None => lab.kafka.bootstrap.clone(),
    };
    let shown = if web.ip().is_unspecified() { format!("127.0.0.1:{}", web.port()) } else { web.to_string() };
    eprintln!("streamlab {} is ready\n  lab     http://{shown}/\n  broker  {broker}\n  topics  {}\nPress Ctrl-C to stop.",
        env!("CARGO_PKG_VERSION"), streamlab_wire::topics::ALL.join(", "));
    lab.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

async fn run_infer(kafka: KafkaConfig, args: InferArgs, metrics_addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let model = Arc::new(streamlab::model_cmd::load(args.model.as_deref())?);
    let metrics = Arc::new(InferenceMetrics::default());
    let listener = tokio::net::TcpListener::bind(metrics_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot serve metrics on {metrics_addr}: {e} (choose another with --metrics-addr, 127.0.0.1:0 for any free port)"))?;
    eprintln!("streamlab infer: {} → model {} → {} (dead letters: {}), group {}, metrics http://{}/metrics",
        args.requests_topic, model.version(), args.predictions_topic, args.dead_letter_topic, args.group, listener.local_addr()?);
    tokio::spawn(axum::serve(listener, streamlab::web::metrics_app(metrics.clone())).into_future());
    let stop = Arc::new(AtomicBool::new(false));
    let service = InferenceService { kafka, config: args.config(), model, metrics };
    let mut running = {
        let stop = stop.clone();
        tokio::task::spawn_blocking(move || service.run_until(&stop))
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => stop.store(true, Ordering::Relaxed),
        r = &mut running => return Ok(r?),
    }
    // Let the round in flight finish and its offsets be committed.
    Ok(running.await?)
}
