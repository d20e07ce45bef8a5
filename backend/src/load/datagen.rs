//! `streamlab datagen`: the course's mushroom request generator, rebuilt.
//!
//! Same flags as the course's script (`-t -s -b -r -v`), plus `--rate` for load tests and
//! `--count` to stop. Requests are drawn from the shipped data profile (no CSV at run time),
//! always valid, with the course's uniform categorical codes or, with
//! `--categoricals joint`, combinations that real mushrooms have.

use crate::kafka::KafkaConfig;
use crate::kafka::delivery::{CountingContext, Deliveries, send_waiting};
use crate::kafka::producer::Polled;
use crate::kafka::records;
use crate::shutdown::Shutdown;
use anyhow::Context;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::BaseRecord;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use streamlab_model::profile::{Categoricals, DataProfile, Sampler};

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// The course's loop: `burst` requests, then `sleep` plus up to `randomness` more.
    Bursts { burst: u32, sleep: Duration, randomness: Duration },
    /// A steady rate, requests per second.
    Rate(f64),
}

#[derive(Debug, Clone)]
pub struct DatagenConfig {
    pub topic: String,
    pub pace: Pace,
    pub count: Option<u64>,
    pub categoricals: Categoricals,
    pub verbose: bool,
    pub seed: Option<u64>,
}

/// Parses `--rate` as `N`, `N/s` or `N/m`.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let (number, per) = match s.split_once('/') {
        Some((n, unit)) => (n, unit.trim()),
        None => (s, "s"),
    };
    let n: f64 = number.trim().parse().map_err(|_| format!("expected a rate like 200/s, got `{s}`"))?;
    let per_second = match per {
        "s" | "sec" => n,
        "m" | "min" => n / 60.0,
        other => return Err(format!("unknown rate unit `{other}` (use /s or /min)")),
    };
    if !(per_second > 0.0 && per_second.is_finite()) {
        return Err(format!("the rate must be positive, got `{s}`"));
    }
    Ok(per_second)
}

/// Runs until `count` requests were sent (and acknowledged) or `stop` is triggered. Returns the
/// delivery counts.
pub fn run(kafka: &KafkaConfig, config: &DatagenConfig, stop: &Shutdown) -> anyhow::Result<Arc<Deliveries>> {
    let deliveries = Arc::new(Deliveries::default());
    run_counting(kafka, config, stop, deliveries.clone())?;
    Ok(deliveries)
}

/// [`run`], counting into `deliveries` as it goes (the lab's generator shows them live).
pub fn run_counting(
    kafka: &KafkaConfig,
    config: &DatagenConfig,
    stop: &Shutdown,
    deliveries: Arc<Deliveries>,
) -> anyhow::Result<()> {
    let producer = Polled::create(
        kafka.client().set("linger.ms", "5").set("queue.buffering.max.messages", "500000"),
        CountingContext(deliveries.clone()),
    )
    .context("cannot create the generator's producer")?;
    let sampler = Sampler::new(DataProfile::shipped());
    let mut rng = match config.seed {
        Some(seed) => SmallRng::seed_from_u64(seed),
        None => SmallRng::from_entropy(),
    };
    let started = Instant::now();
    let mut sent: u64 = 0;
    let limit = config.count.unwrap_or(u64::MAX);
    let send_one = |rng: &mut SmallRng, sent: &mut u64| -> anyhow::Result<()> {
        let request = sampler.sample(config.categoricals, rng).to_json().to_string();
        let key = uuid::Builder::from_random_bytes(rng.r#gen()).into_uuid().to_string();
        if config.verbose {
            println!("{key} {request}");
        }
        let record = BaseRecord::to(&config.topic).key(key.as_str()).payload(request.as_bytes()).headers(
            OwnedHeaders::new().insert(Header { key: records::LAB_SOURCE, value: Some(records::FROM_GENERATOR) }),
        );
        send_waiting(&producer, record).context("cannot send a request")?;
        *sent += 1;
        Ok(())
    };
    match config.pace {
        Pace::Rate(rate) => {
            // Each request has a due time; sleeping until the next one keeps the long-run
            // rate exact however long a single send takes.
            while sent < limit && !stop.is_triggered() {
                let due = started + Duration::from_secs_f64(sent as f64 / rate);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                send_one(&mut rng, &mut sent)?;
            }
        }
        Pace::Bursts { burst, sleep, randomness } => {
            while sent < limit && !stop.is_triggered() {
                for _ in 0..burst {
                    if sent >= limit {
                        break;
                    }
                    send_one(&mut rng, &mut sent)?;
                }
                let extra =
                    if randomness.is_zero() { Duration::ZERO } else { randomness.mul_f64(rng.gen_range(0.0..1.0)) };
                // Sleep in slices so Ctrl-C (and `stop`) is honoured promptly.
                let wake = Instant::now() + sleep + extra;
                while Instant::now() < wake && !stop.is_triggered() {
                    std::thread::sleep((wake - Instant::now()).min(Duration::from_millis(50)));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).context("requests were still unsent after 30 s")?;
    tracing::info!(
        sent,
        acked = deliveries.acked.load(Ordering::Relaxed),
        seconds = started.elapsed().as_secs_f64(),
        "generator done"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_units() {
        assert_eq!(parse_rate("20000/s"), Ok(20000.0));
        assert_eq!(parse_rate("120/min"), Ok(2.0));
        assert_eq!(parse_rate("5"), Ok(5.0));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("5/h").is_err());
    }
}
