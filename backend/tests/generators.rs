//! The mushroom request generator against the embedded broker: valid requests, realistic
//! measurements, the configured rate.

mod common;

use common::start_broker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use streamlab::datagen::{run, DatagenConfig, Pace};
use streamlab::kafka::KafkaConfig;
use streamlab_model::profile::{ks_statistic, Categoricals, DataProfile, MEASUREMENTS};
use streamlab_model::MushroomFeatures;

fn config(topic: &str, pace: Pace, count: u64, categoricals: Categoricals) -> DatagenConfig {
    DatagenConfig { topic: topic.into(), pace, count: Some(count), categoricals, verbose: false, seed: Some(7) }
}

/// Every record of `topic`, from the start.
fn read_topic(kafka: &KafkaConfig, topic: &str, n: usize) -> Vec<rdkafka::message::OwnedMessage> {
    let c: BaseConsumer = kafka.client().set("group.id", format!("read-{}", uuid::Uuid::new_v4())).create().unwrap();
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning).unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut out = Vec::with_capacity(n);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while out.len() < n && std::time::Instant::now() < deadline {
        if let Some(m) = c.poll(Duration::from_millis(100)) {
            out.push(m.unwrap().detach());
        }
    }
    out
}

fn data_set() -> Option<PathBuf> {
    let p = std::env::var_os("STREAMLAB_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mushroom_cleaned.csv"));
    p.exists().then_some(p)
}

/// Kolmogorov–Smirnov distance of each measurement column from the data set's (or, without
/// the CSV, from the profile's 21 quantiles taken as a sample).
fn distances(requests: &[MushroomFeatures]) -> Vec<(&'static str, f64)> {
    let reference: Vec<Vec<f64>> = match data_set() {
        Some(csv) => {
            let data = streamlab_model::data::load_csv(&csv).unwrap();
            MEASUREMENTS.iter().map(|&j| data.records().column(j).to_vec()).collect()
        }
        None => {
            eprintln!("SKIPPED the data-set comparison: comparing with the profile's quantiles instead");
            let p = DataProfile::shipped();
            MEASUREMENTS.iter().map(|&j| p.columns[j].quantiles.clone()).collect()
        }
    };
    MEASUREMENTS
        .iter()
        .zip(reference)
        .map(|(&j, r)| {
            let generated: Vec<f64> = requests.iter().map(|f| f.0[j]).collect();
            (streamlab_model::FEATURES[j].name, ks_statistic(&generated, &r))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_requests_are_valid_and_distributed_like_the_data() {
    let b = start_broker().await;
    for (topic, mode) in [("gen_joint", Categoricals::Joint), ("gen_uniform", Categoricals::Uniform)] {
        b.create_topic(topic, 3).await;
        let kafka = b.kafka.clone();
        let c = config(topic, Pace::Rate(20_000.0), 10_000, mode);
        let records = tokio::task::spawn_blocking(move || {
            run(&kafka, &c, &AtomicBool::new(false)).unwrap();
            read_topic(&kafka, &c.topic, 10_000)
        })
        .await
        .unwrap();
        assert_eq!(records.len(), 10_000);
        let requests: Vec<MushroomFeatures> = records
            .iter()
            .map(|m| {
                assert!(m.key().is_some(), "each request has a key");
                MushroomFeatures::from_json(m.payload().unwrap()).unwrap_or_else(|e| panic!("invalid request: {e}"))
            })
            .collect();
        // The statistic: two-sample Kolmogorov–Smirnov distance per measurement column; the
        // threshold 0.04 means no value's cumulative share is off by 4 points or more.
        for (name, d) in distances(&requests) {
            eprintln!("{topic}: KS distance of {name} = {d:.4}");
            assert!(d < 0.04, "{topic}: {name} is distributed unlike the data (KS {d:.4} ≥ 0.04)");
        }
    }
}

/// The rate between the first and the last record's timestamps.
fn measured_rate(records: &[rdkafka::message::OwnedMessage]) -> f64 {
    let ts: Vec<i64> = records.iter().map(|m| m.timestamp().to_millis().unwrap()).collect();
    let (first, last) = (*ts.iter().min().unwrap(), *ts.iter().max().unwrap());
    (records.len() - 1) as f64 / ((last - first) as f64 / 1e3)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_steady_20000_per_second_holds_for_30_seconds() {
    let b = start_broker().await;
    b.create_topic("gen_fast", 3).await;
    let kafka = b.kafka.clone();
    let n = 600_000;
    let records = tokio::task::spawn_blocking(move || {
        run(&kafka, &config("gen_fast", Pace::Rate(20_000.0), n, Categoricals::Uniform), &AtomicBool::new(false)).unwrap();
        read_topic(&kafka, "gen_fast", n as usize)
    })
    .await
    .unwrap();
    assert_eq!(records.len(), n as usize);
    let rate = measured_rate(&records);
    eprintln!("configured 20000/s, measured {rate:.1}/s over {} records", records.len());
    assert!((rate / 20_000.0 - 1.0).abs() <= 0.02, "rate {rate:.1}/s is not within 2 % of 20000/s");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_course_loop_of_bursts_holds_its_rate_for_30_seconds() {
    let b = start_broker().await;
    b.create_topic("gen_slow", 3).await;
    let kafka = b.kafka.clone();
    // -s 100 -b 5 -r 0: five requests every 100 ms, 50 per second.
    let pace = Pace::Bursts { burst: 5, sleep: Duration::from_millis(100), randomness: Duration::ZERO };
    let records = tokio::task::spawn_blocking(move || {
        run(&kafka, &config("gen_slow", pace, 1500, Categoricals::Joint), &AtomicBool::new(false)).unwrap();
        read_topic(&kafka, "gen_slow", 1500)
    })
    .await
    .unwrap();
    // The last burst's five records share its start; count whole periods between bursts.
    let rate = measured_rate(&records) * (1495.0 / 1499.0);
    eprintln!("configured 50/s, measured {rate:.2}/s");
    assert!((rate / 50.0 - 1.0).abs() <= 0.02, "rate {rate:.2}/s is not within 2 % of 50/s");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_datagen_command_works_with_brokers_and_x_properties() {
    let b = start_broker().await;
    b.create_topic("gen_cli", 1).await;
    let bin = env!("CARGO_BIN_EXE_streamlab");
    let out = Command::new(bin)
        .args(["datagen", "--brokers", &b.bootstrap(), "-X", "client.id=datagen-test", "-t", "gen_cli", "--rate", "200/s", "--count", "20", "--categoricals", "joint", "-v"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 20, "-v prints each request");
    let tail = Command::new(bin).args(["tail", "gen_cli", "--brokers", &b.bootstrap(), "--exit"]).output().unwrap();
    assert!(tail.status.success(), "{}", String::from_utf8_lossy(&tail.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&tail.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 20);
    for l in &lines {
        MushroomFeatures::from_value(&l["value"]).unwrap();
        assert_eq!(l["topic"], "gen_cli");
    }
}
