use clap::Parser;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use streamlab::cli::InferArgs;
use streamlab::cli::{Cli, Command, ModelCommand};
use streamlab::inference::InferenceService;
use streamlab::kafka::KafkaConfig;
use streamlab::lab::{Lab, LabConfig, bind_web};
use streamlab::metrics::InferenceMetrics;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("STREAMLAB_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,nisshi=warn,nisshi_broker=warn,nisshi_storage=warn")),
        )
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
            let deliveries =
                tokio::task::spawn_blocking(move || streamlab::datagen::run(&kafka, &config, &stop)).await??;
            let failed = deliveries.failed.load(Ordering::Relaxed);
            anyhow::ensure!(failed == 0, "{failed} requests were not delivered");
            Ok(())
        }
        Some(Command::Experiment(args)) => run_experiment(cli.kafka, args).await,
        Some(Command::Tail { topic, from, count, exit }) => {
            let kafka = cli.kafka.cluster();
            tokio::task::spawn_blocking(move || {
                streamlab::tail::tail(&kafka, &topic, from, count, exit, &mut std::io::stdout().lock()).map(|_| ())
            })
            .await?
        }
        Some(Command::Check(args)) => run_check(cli.kafka.cluster(), args).await,
        Some(Command::Model(cmd)) => {
            tokio::task::spawn_blocking(move || match cmd {
                ModelCommand::Train { data, out } => streamlab::model_cmd::train(&data, &out),
                ModelCommand::Profile { data, out } => streamlab::model_cmd::profile(&data, &out),
                ModelCommand::Eval { data, model } => streamlab::model_cmd::eval(&data, model.as_ref()),
                ModelCommand::Info { model } => streamlab::model_cmd::info(model.as_ref()),
            })
            .await?
        }
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
        limits: cli.lab.limits(),
        exercises: Arc::new(streamlab::cli::catalog(cli.lab.exercises.as_deref())?),
        roster: match &cli.lab.roster {
            Some(path) => streamlab::exercises::read_roster(
                &std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("cannot read the roster {}: {e}", path.display()))?,
            )?,
            None => Vec::new(),
        },
    };
    let listener = bind_web(cli.lab.web_addr).await?;
    let lab = Lab::start(&config).await?;
    let web = listener.local_addr()?;
    let broker = match &lab.broker {
        Some(b) => format!(
            "{} (embedded, {})",
            b.addr(),
            config.data_dir.as_ref().map_or("in memory".to_owned(), |d| format!("data in {}", d.display()))
        ),
        None => lab.kafka.bootstrap.clone(),
    };
    let shown = if web.ip().is_unspecified() { format!("127.0.0.1:{}", web.port()) } else { web.to_string() };
    eprintln!(
        "streamlab {} is ready\n  lab     http://{shown}/\n  broker  {broker}\n  topics  {}\nPress Ctrl-C to stop.",
        env!("CARGO_PKG_VERSION"),
        streamlab_wire::topics::ALL.join(", ")
    );
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
    eprintln!(
        "streamlab infer: {} → model {} → {} (dead letters: {}), group {}, metrics http://{}/metrics",
        args.requests_topic,
        model.version(),
        args.predictions_topic,
        args.dead_letter_topic,
        args.group,
        listener.local_addr()?
    );
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

async fn run_experiment(kafka: streamlab::cli::KafkaArgs, args: streamlab::cli::ExperimentArgs) -> anyhow::Result<()> {
    use streamlab::experiment::{ExperimentConfig, ProducerMetrics};
    let kafka = match &args.course_brokers {
        Some(b) => KafkaConfig { bootstrap: b.clone(), properties: kafka.properties.clone() },
        None => kafka.cluster(),
    };
    let experiments = args.experiments()?;
    let config = ExperimentConfig {
        topic: args.topic.clone(),
        document_topic: args.topic_document.clone(),
        experiments,
        secret_key: args.secret_key.clone(),
        seed: args.seed,
    };
    streamlab::experiment::hash::SecretKey::new(&config.secret_key)
        .map_err(|e| anyhow::anyhow!("--secret-key: {e}"))?;
    let mut topics = vec![config.topic.as_str()];
    topics.extend(config.document_topic.as_deref());
    // A course cluster may not let students create topics; the producer can still write to
    // existing ones, so this is only a warning.
    if let Err(e) = streamlab::kafka::ensure_topics(&kafka, &topics, 3).await {
        tracing::warn!("{e:#}");
    }
    let metrics = Arc::new(ProducerMetrics::default());
    if args.metrics_addr != "off" {
        match tokio::net::TcpListener::bind(&args.metrics_addr).await {
            Ok(listener) => {
                let m = metrics.clone();
                let app = axum::Router::new().route("/metrics", axum::routing::get(move || async move { m.render() }));
                tokio::spawn(axum::serve(listener, app).into_future());
            }
            Err(e) => {
                tracing::warn!("not serving metrics on {}: {e} (--metrics-addr HOST:PORT or off)", args.metrics_addr)
            }
        }
    }
    let total: f64 = config.experiments.iter().map(|s| s.events_per_second() * s.duration().as_secs_f64()).sum();
    let end = config.experiments.iter().map(|s| s.start_time + s.duration().as_secs_f64()).fold(0.0, f64::max);
    eprintln!(
        "streamlab experiment: {} experiment(s) → {} on {}, about {total:.0} measurements over {end:.1} s",
        config.experiments.len(),
        config.topic,
        kafka.bootstrap
    );
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        s.store(true, Ordering::Relaxed);
    });
    // A progress line per second: what was sent against what the load file says.
    let progress = {
        let (metrics, specs) = (metrics.clone(), config.experiments.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            let mut last = 0;
            tick.tick().await; // the first tick is immediate
            loop {
                tick.tick().await;
                let t = started.elapsed().as_secs_f64();
                let sent = metrics.total();
                eprintln!(
                    "  {t:5.0} s  {:4} events/s  (load file: {:3.0} measurements/s)  {sent} sent",
                    sent - last,
                    streamlab::experiment::config::expected_rate(&specs, t - 1.0)
                );
                last = sent;
            }
        })
    };
    let report =
        tokio::task::spawn_blocking(move || streamlab::experiment::run(&kafka, &config, &metrics, &stop)).await??;
    progress.abort();
    let (acked, failed) =
        (report.deliveries.acked.load(Ordering::Relaxed), report.deliveries.failed.load(Ordering::Relaxed));
    eprintln!("done: {acked} events delivered, experiments {}", report.experiments.join(", "));
    anyhow::ensure!(failed == 0, "{failed} events were not delivered");
    Ok(())
}

async fn run_check(kafka: KafkaConfig, args: streamlab::cli::CheckArgs) -> anyhow::Result<()> {
    use streamlab::exercises::{Namespace, check, read_roster};
    let catalog = Arc::new(streamlab::cli::catalog(args.exercises.as_deref())?);
    if args.list {
        for e in &catalog.exercises {
            println!("{:2}. {} ({})  — from {}", e.info.number, e.info.title, e.info.id, e.info.seed);
            for c in &e.conditions {
                println!("      {}: {}", c.id, c.description);
            }
        }
        return Ok(());
    }
    let students: Vec<Option<String>> = match &args.roster {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read the roster {}: {e}", path.display()))?;
            read_roster(&text)?.into_iter().map(Some).collect()
        }
        None => vec![Namespace::student(args.student.as_deref())?.name().map(str::to_owned)],
    };
    if let Some(name) = &args.exercise {
        catalog.find(name)?;
    }
    let checker = check::Checker::new(kafka, catalog);
    let mut class = streamlab_wire::ClassReport { students: Vec::new() };
    for (i, student) in students.iter().enumerate() {
        if students.len() > 1 {
            eprintln!("checking {} ({}/{})", student.as_deref().unwrap_or("-"), i + 1, students.len());
        }
        class.students.extend(checker.grade(std::slice::from_ref(student), args.exercise.as_deref()).await?.students);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&class)?);
    } else {
        for s in &class.students {
            for r in &s.exercises {
                print!("{}", check::render(r));
            }
        }
        if class.students.len() > 1 {
            print!("\n{}", check::render_class(&class));
        }
    }
    let all = class.students.iter().all(|s| s.exercises.iter().all(|r| r.passed));
    std::process::exit(if all { 0 } else { 1 });
}
