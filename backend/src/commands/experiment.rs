//! `streamlab experiment`: the course's experiment load producer, with the course producer's
//! Prometheus metrics and a progress line per second.

use crate::cli::KafkaArgs;
use crate::kafka::{KafkaConfig, admin};
use crate::load::experiment::{
    self, ExperimentConfig, ProducerMetrics, config::ExperimentSpec, events, hash::SecretKey,
};
use crate::shutdown::Shutdown;
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The course's `-b`: the same as --brokers.
    #[arg(short = 'b', value_name = "HOST:PORT")]
    pub course_brokers: Option<String>,
    /// Topic the events go to.
    #[arg(long, env = "STREAMLAB_EXPERIMENT_TOPIC", default_value = "experiment")]
    pub topic: String,
    /// Also send an `experiment_document` (all rounds' mean temperatures) here at the end.
    #[arg(long, env = "STREAMLAB_EXPERIMENT_DOCUMENT_TOPIC")]
    pub topic_document: Option<String>,
    /// A JSON array of experiments run concurrently (the course's load files); the
    /// single-experiment flags below are ignored.
    #[arg(long, value_name = "FILE", conflicts_with = "load")]
    pub config_file: Option<PathBuf>,
    /// One of the course's load files, built in: 2 (two experiments) or 3 (three).
    #[arg(long, value_parser = ["2", "3"])]
    pub load: Option<String>,
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub num_sensors: u32,
    /// Milliseconds between measurement rounds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub sample_rate: u64,
    #[arg(long, default_value_t = 2)]
    pub stabilization_samples: u32,
    #[arg(long, default_value_t = 20)]
    pub carry_out_samples: u32,
    #[arg(long, default_value_t = 16.0, allow_negative_numbers = true)]
    pub start_temperature: f32,
    #[arg(long, default_value_t = 25.5, allow_negative_numbers = true)]
    pub lower_threshold: f32,
    #[arg(long, default_value_t = 26.5, allow_negative_numbers = true)]
    pub upper_threshold: f32,
    #[arg(long, default_value = "d.landau@uu.nl")]
    pub researcher: String,
    /// The 32-character AES-256 key of `measurement_hash` (default: the lab's, which is public).
    #[arg(long, env = "STREAMLAB_SECRET_KEY", default_value = crate::load::experiment::hash::LAB_SECRET_KEY, hide_default_value = true)]
    pub secret_key: String,
    /// Where the course producer's Prometheus metrics are served ("off" for nowhere).
    #[arg(long, env = "STREAMLAB_EXPERIMENT_METRICS_ADDR", default_value = "127.0.0.1:3001")]
    pub metrics_addr: String,
    /// Seed for reproducible ids and temperatures.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the events in this Schema Registry's wire format (a zero byte, the schema's id,
    /// the bare Avro record) instead of one Avro container each: each event's schema is
    /// registered as `TOPIC-RECORD_NAME` (Confluent's TopicRecordNameStrategy, since one
    /// topic holds several record types), and AvroDeserializer reads them.
    #[arg(long, env = "STREAMLAB_SCHEMA_REGISTRY_URL", value_name = "URL")]
    pub schema_registry: Option<String>,
}

impl ExperimentArgs {
    pub fn experiments(&self) -> anyhow::Result<Vec<crate::load::experiment::config::ExperimentSpec>> {
        use crate::load::experiment::config::{self, ExperimentSpec, TempRange};
        if let Some(path) = &self.config_file {
            return Ok(config::load(path)?);
        }
        match self.load.as_deref() {
            Some("2") => return Ok(config::parse(config::LOAD_2)?),
            Some("3") => return Ok(config::parse(config::LOAD_3)?),
            _ => {}
        }
        let spec = ExperimentSpec {
            start_time: 0.0,
            researcher: self.researcher.clone(),
            num_sensors: self.num_sensors,
            sample_rate: self.sample_rate,
            start_temperature: self.start_temperature,
            stabilization_samples: self.stabilization_samples,
            carry_out_samples: self.carry_out_samples,
            temp_range: TempRange { lower_threshold: self.lower_threshold, upper_threshold: self.upper_threshold },
        };
        spec.validate().map_err(anyhow::Error::msg)?;
        Ok(vec![spec])
    }
}

pub async fn run(args: ExperimentArgs, kafka: &KafkaArgs, shutdown: Shutdown) -> anyhow::Result<ExitCode> {
    let kafka = match &args.course_brokers {
        Some(b) => KafkaConfig::new(b.clone()).with_properties(kafka.properties.clone()),
        None => kafka.cluster(),
    };
    let config = ExperimentConfig {
        topic: args.topic.clone(),
        document_topic: args.topic_document.clone(),
        experiments: args.experiments()?,
        secret_key: args.secret_key.clone(),
        seed: args.seed,
        schema_ids: match &args.schema_registry {
            Some(url) => Some(register_events(url, &args.topic, args.topic_document.as_deref()).await?),
            None => None,
        },
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
    let report = tokio::task::spawn_blocking(move || experiment::run(&kafka, &config, &metrics, &shutdown)).await??;
    progress.abort();
    let (acked, failed) =
        (report.deliveries.acked.load(Ordering::Relaxed), report.deliveries.failed.load(Ordering::Relaxed));
    eprintln!("done: {acked} events delivered, experiments {}", report.experiments.join(", "));
    anyhow::ensure!(failed == 0, "{failed} events were not delivered");
    Ok(ExitCode::SUCCESS)
}

/// Registers every event's schema at `url` under the topic it is written to; their ids.
async fn register_events(
    url: &str,
    topic: &str,
    document_topic: Option<&str>,
) -> anyhow::Result<HashMap<&'static str, u32>> {
    let mut ids = HashMap::new();
    for name in events::ALL {
        let schema = events::schema_json(name).expect("a known event");
        let record: serde_json::Value = serde_json::from_str(&schema)?;
        let record = record["name"].as_str().unwrap_or(name);
        let to = if name == events::EXPERIMENT_DOCUMENT { document_topic.unwrap_or(topic) } else { topic };
        let subject = format!("{to}-{record}");
        let id = crate::kafka::registry::client::register(url, &subject, &schema).await?;
        eprintln!("  schema {subject} registered at {url}: id {id}");
        ids.insert(name, id);
    }
    Ok(ids)
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
