//! `streamlab experiment`: the course's experiment load producer, rebuilt.
//!
//! Each experiment in the config runs concurrently from its `start_time`: it announces
//! itself (`experiment_configured`, `stabilization_started`), measures with every sensor once
//! per `sample_rate` milliseconds through its stabilization rounds, says
//! `experiment_started`, measures through its carry-out rounds and ends with
//! `experiment_terminated` (plus an `experiment_document` on `--topic-document`). Every record
//! is keyed by the experiment's id, so one experiment stays in one partition and in order.
//!
//! - [`config`]: the `--config-file` format and the expected load.
//! - [`events`]: the events, their Avro schemas and encoding.
//! - [`course`]: how the temperature moves.
//! - [`hash`]: the `measurement_hash`.

pub mod config;
pub mod course;
pub mod events;
pub mod hash;

use crate::kafka::KafkaConfig;
use crate::kafka::delivery::{CountingContext, Deliveries, send_waiting};
use crate::kafka::producer::Polled;
use crate::shutdown::Shutdown;
use anyhow::Context;
use config::ExperimentSpec;
use events::{Event, Measurement, RECORD_NAME_HEADER, TemperatureRange};
use hash::{HashBlob, NotificationType, SecretKey};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::BaseRecord;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct ExperimentConfig {
    pub topic: String,
    /// Where `experiment_document` records go, if anywhere.
    pub document_topic: Option<String>,
    pub experiments: Vec<ExperimentSpec>,
    pub secret_key: String,
    pub seed: Option<u64>,
    /// The Schema Registry's id of each event's schema (by record name), to write events in
    /// its wire format; `None` writes each as an Avro container with its schema inside.
    pub schema_ids: Option<std::collections::HashMap<&'static str, u32>>,
}

/// The course producer's Prometheus metrics, kept so its rate graph (or anyone's scraper) can
/// read them: events issued per key and topic, and experiments running.
#[derive(Default)]
pub struct ProducerMetrics {
    events: Mutex<BTreeMap<(String, String), u64>>,
    running: AtomicI64,
}

impl ProducerMetrics {
    fn count(&self, key: &str, topic: &str) {
        *self.events.lock().unwrap().entry((key.to_owned(), topic.to_owned())).or_default() += 1;
    }

    pub fn total(&self) -> u64 {
        self.events.lock().unwrap().values().sum()
    }

    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP experiment_producer_event_count_total Events sent, counted when the send is issued.\n\
             # TYPE experiment_producer_event_count_total counter\n",
        );
        for ((key, topic), n) in self.events.lock().unwrap().iter() {
            let _ = writeln!(out, "experiment_producer_event_count_total{{key=\"{key}\",topic=\"{topic}\"}} {n}");
        }
        let _ = write!(
            out,
            "# HELP experiment_producer_num_experiments Experiments running.\n\
             # TYPE experiment_producer_num_experiments gauge\nexperiment_producer_num_experiments {}\n",
            self.running.load(Ordering::Relaxed)
        );
        out
    }
}

/// What a run sent.
#[derive(Debug)]
pub struct Report {
    pub experiments: Vec<String>,
    pub deliveries: Arc<Deliveries>,
}

fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Sleeps until `due`, waking early (returning false) when `stop` is set.
fn sleep_until(due: Instant, stop: &Shutdown) -> bool {
    loop {
        if stop.is_triggered() {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        std::thread::sleep((due - now).min(Duration::from_millis(50)));
    }
}

/// What every experiment of a run shares: the producer, the counters, the topics and the
/// key that seals measurement hashes.
struct Sender<'a> {
    producer: &'a Polled<CountingContext>,
    metrics: &'a ProducerMetrics,
    config: &'a ExperimentConfig,
    key: &'a SecretKey,
}

impl Sender<'_> {
    fn send(&self, topic: &str, key: &str, event: &Event, timestamp: f64) -> anyhow::Result<()> {
        let value = match self.config.schema_ids.as_ref().and_then(|ids| ids.get(event.record_name())) {
            Some(id) => event.encode_framed(*id),
            None => event.encode(),
        }
        .with_context(|| format!("cannot encode {}", event.record_name()))?;
        let headers = OwnedHeaders::new().insert(Header { key: RECORD_NAME_HEADER, value: Some(event.record_name()) });
        // The record's timestamp is the event's, so a rate computed from either agrees.
        let record = BaseRecord::to(topic)
            .key(key)
            .payload(value.as_slice())
            .headers(headers)
            .timestamp((timestamp * 1000.0) as i64);
        send_waiting(self.producer, record)
            .with_context(|| format!("cannot send {} to {topic}", event.record_name()))?;
        self.metrics.count(key, topic);
        Ok(())
    }
}

/// One experiment, from its start time to its end (or `stop`).
fn run_one(
    spec: &ExperimentSpec,
    id: &str,
    t0: Instant,
    sender: &Sender,
    mut rng: SmallRng,
    stop: &Shutdown,
) -> anyhow::Result<()> {
    if !sleep_until(t0, stop) {
        return Ok(());
    }
    sender.metrics.running.fetch_add(1, Ordering::Relaxed);
    let result = (|| {
        let topic = &sender.config.topic;
        let sensors: Vec<String> = (0..spec.num_sensors).map(|_| uuid_from(&mut rng)).collect();
        let range = TemperatureRange {
            upper_threshold: spec.temp_range.upper_threshold,
            lower_threshold: spec.temp_range.lower_threshold,
        };
        tracing::info!(
            experiment = id,
            sensors = spec.num_sensors,
            events_per_s = spec.events_per_second(),
            seconds = spec.duration().as_secs_f64(),
            "experiment configured"
        );
        let marker = |name, timestamp| Event::Marker { name, experiment: id.to_owned(), timestamp };
        let ts = now_seconds();
        sender.send(
            topic,
            id,
            &Event::Configured {
                experiment: id.into(),
                researcher: spec.researcher.clone(),
                sensors: sensors.clone(),
                temperature_range: range,
            },
            ts,
        )?;
        sender.send(topic, id, &marker(events::STABILIZATION_STARTED, ts), ts)?;
        let mut course = course::Course::new(spec.start_temperature, spec.temp_range, spec.stabilization_samples);
        let mut document = Vec::with_capacity(spec.rounds() as usize);
        for round in 0..spec.rounds() {
            // Due times count from t0, so a late wake-up never shifts the rounds after it.
            if !sleep_until(t0 + spec.period() * round, stop) {
                break;
            }
            let timestamp = now_seconds();
            if round == spec.stabilization_samples {
                sender.send(topic, id, &marker(events::EXPERIMENT_STARTED, timestamp), timestamp)?;
            }
            let truth = course.temperature(round, &mut rng);
            let readings: Vec<f32> = sensors.iter().map(|_| course.reading(truth, &mut rng)).collect();
            let mean = readings.iter().sum::<f32>() / readings.len() as f32;
            document.push(Measurement { timestamp, temperature: mean });
            let measurement_id = uuid_from(&mut rng);
            for (sensor, &temperature) in sensors.iter().zip(&readings) {
                let blob = HashBlob {
                    notification_type: if course.in_range(mean) {
                        NotificationType::Stabilized
                    } else {
                        NotificationType::OutOfRange
                    },
                    timestamp,
                    experiment_id: id.to_owned(),
                    measurement_id: measurement_id.clone(),
                    researcher: spec.researcher.clone(),
                };
                let measurement_hash = sender.key.seal(&blob, rng.r#gen());
                let event = Event::Measured {
                    experiment: id.into(),
                    sensor: sensor.clone(),
                    measurement_id: measurement_id.clone(),
                    timestamp,
                    temperature,
                    measurement_hash,
                };
                sender.send(topic, id, &event, timestamp)?;
            }
        }
        // Interrupted or not, consumers learn that the experiment is over.
        sleep_until(t0 + spec.duration(), stop);
        let ts = now_seconds();
        sender.send(topic, id, &marker(events::EXPERIMENT_TERMINATED, ts), ts)?;
        if let Some(doc_topic) = &sender.config.document_topic {
            sender.send(
                doc_topic,
                id,
                &Event::Document { experiment: id.into(), measurements: document, temperature_range: range },
                ts,
            )?;
        }
        tracing::info!(experiment = id, "experiment terminated");
        Ok(())
    })();
    sender.metrics.running.fetch_sub(1, Ordering::Relaxed);
    result
}

fn uuid_from(rng: &mut SmallRng) -> String {
    uuid::Builder::from_random_bytes(rng.r#gen()).into_uuid().to_string()
}

/// Runs every experiment of `config` concurrently and returns when all have ended (or `stop`
/// was set and they were told so) and every record is acknowledged.
pub fn run(
    kafka: &KafkaConfig,
    config: &ExperimentConfig,
    metrics: &ProducerMetrics,
    stop: &Shutdown,
) -> anyhow::Result<Report> {
    let key = SecretKey::new(&config.secret_key).context("--secret-key")?;
    let deliveries = Arc::new(Deliveries::default());
    let producer = Polled::create(
        kafka
            .client()
            // One experiment's records stay in order even when a send is retried.
            .set("enable.idempotence", "true")
            .set("linger.ms", "5"),
        CountingContext(deliveries.clone()),
    )
    .context("cannot create the experiment producer")?;
    let mut seeds = match config.seed {
        Some(s) => SmallRng::seed_from_u64(s),
        None => SmallRng::from_entropy(),
    };
    let ids: Vec<String> = config.experiments.iter().map(|_| uuid_from(&mut seeds)).collect();
    let started = Instant::now();
    let sender = Sender { producer: &producer, metrics, config, key: &key };
    // One broken experiment ends the run rather than leave a partial load running.
    let stop = &stop.child();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let runs: Vec<_> = config
            .experiments
            .iter()
            .zip(&ids)
            .map(|(spec, id)| {
                let rng = SmallRng::seed_from_u64(seeds.r#gen());
                let sender = &sender;
                let t0 = started + Duration::from_secs_f64(spec.start_time);
                scope.spawn(move || {
                    let result = run_one(spec, id, t0, sender, rng, stop);
                    if result.is_err() {
                        stop.trigger();
                    }
                    result
                })
            })
            .collect();
        for r in runs {
            r.join().map_err(|_| anyhow::anyhow!("an experiment thread panicked"))??;
        }
        Ok(())
    })?;
    producer.flush(Duration::from_secs(30)).context("records were still unsent after 30 s")?;
    Ok(Report { experiments: ids, deliveries })
}
