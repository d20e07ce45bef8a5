//! The generators against the embedded broker. The mushroom request generator: valid
//! requests, realistic measurements, the configured rate. The experiment producer: Avro
//! events in order, named by their header, at the load file's rates.

use crate::support::{read_from_start, start_broker};
use rdkafka::message::Message;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use streamlab::load::datagen::{DatagenConfig, Pace, run};
use streamlab::shutdown::Shutdown;
use streamlab_model::MushroomFeatures;
use streamlab_model::profile::{Categoricals, DataProfile, MEASUREMENTS, ks_statistic};

fn config(topic: &str, pace: Pace, count: u64, categoricals: Categoricals) -> DatagenConfig {
    DatagenConfig { topic: topic.into(), pace, count: Some(count), categoricals, verbose: false, seed: Some(7) }
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
            run(&kafka, &c, &Shutdown::new()).unwrap();
            read_from_start(&kafka, &c.topic, 10_000)
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
    // Rates and a killed service's deadlines need the cores (see main.rs).
    let _turn = crate::support::heavy("generators");
    let b = start_broker().await;
    b.create_topic("gen_fast", 3).await;
    let kafka = b.kafka.clone();
    let n = 600_000;
    let records = tokio::task::spawn_blocking(move || {
        run(&kafka, &config("gen_fast", Pace::Rate(20_000.0), n, Categoricals::Uniform), &Shutdown::new()).unwrap();
        read_from_start(&kafka, "gen_fast", n as usize)
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
    // Rates and a killed service's deadlines need the cores (see main.rs).
    let _turn = crate::support::heavy("generators");
    let b = start_broker().await;
    b.create_topic("gen_slow", 3).await;
    let kafka = b.kafka.clone();
    // -s 100 -b 5 -r 0: five requests every 100 ms, 50 per second.
    let pace = Pace::Bursts { burst: 5, sleep: Duration::from_millis(100), randomness: Duration::ZERO };
    let records = tokio::task::spawn_blocking(move || {
        run(&kafka, &config("gen_slow", pace, 1500, Categoricals::Joint), &Shutdown::new()).unwrap();
        read_from_start(&kafka, "gen_slow", 1500)
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
        .args([
            "datagen",
            "--brokers",
            &b.bootstrap(),
            "-X",
            "client.id=datagen-test",
            "-t",
            "gen_cli",
            "--rate",
            "200/s",
            "--count",
            "20",
            "--categoricals",
            "joint",
            "-v",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 20, "-v prints each request");
    let tail = Command::new(bin).args(["tail", "gen_cli", "--brokers", &b.bootstrap(), "--exit"]).output().unwrap();
    assert!(tail.status.success(), "{}", String::from_utf8_lossy(&tail.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&tail.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 20);
    for l in &lines {
        MushroomFeatures::from_value(&l["value"]).unwrap();
        assert_eq!(l["topic"], "gen_cli");
    }
}

mod experiment {
    use super::*;
    use rdkafka::message::{Headers, OwnedMessage};
    use std::collections::HashMap;
    use std::sync::atomic::Ordering;
    use streamlab::kafka::avro;
    use streamlab::load::experiment::config::{self, ExperimentSpec, expected_rate};
    use streamlab::load::experiment::events::RECORD_NAME_HEADER;
    use streamlab::load::experiment::hash::{LAB_SECRET_KEY, NotificationType, SecretKey};
    use streamlab::load::experiment::{ExperimentConfig, ProducerMetrics, run};

    fn record_name(m: &OwnedMessage) -> String {
        let h = m.headers().expect("every event has headers");
        let names: Vec<_> = h.iter().filter(|h| h.key == RECORD_NAME_HEADER).collect();
        assert_eq!(names.len(), 1, "exactly one record_name header");
        String::from_utf8(names[0].value.unwrap().to_vec()).unwrap()
    }

    /// The names of one experiment's events in the order the course defines.
    fn expected_sequence(s: &ExperimentSpec) -> Vec<String> {
        let measured = |rounds: u32| vec!["sensor_temperature_measured".to_owned(); (rounds * s.num_sensors) as usize];
        [
            vec!["experiment_configured".to_owned(), "stabilization_started".to_owned()],
            measured(s.stabilization_samples),
            vec!["experiment_started".to_owned()],
            measured(s.carry_out_samples),
            vec!["experiment_terminated".to_owned()],
        ]
        .concat()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn load_3_keeps_the_course_rates_order_and_formats() {
        // Rates and a killed service's deadlines need the cores (see main.rs).
        let _turn = crate::support::heavy("generators");
        let b = start_broker().await;
        b.create_topic("experiment", 3).await;
        b.create_topic("experiment_docs", 1).await;
        let specs = config::parse(config::LOAD_3).unwrap();
        let expected_total: usize = specs.iter().map(|s| expected_sequence(s).len()).sum();
        let cfg = ExperimentConfig {
            topic: "experiment".into(),
            document_topic: Some("experiment_docs".into()),
            experiments: specs.clone(),
            secret_key: LAB_SECRET_KEY.into(),
            seed: Some(3),
            schema_ids: None,
        };
        let kafka = b.kafka.clone();
        let (report, metrics, records, docs) = tokio::task::spawn_blocking(move || {
            let metrics = ProducerMetrics::default();
            let report = run(&kafka, &cfg, &metrics, &Shutdown::new()).unwrap();
            let records = read_from_start(&kafka, "experiment", expected_total);
            let docs = read_from_start(&kafka, "experiment_docs", 3);
            (report, metrics, records, docs)
        })
        .await
        .unwrap();
        assert_eq!(records.len(), expected_total);
        assert_eq!(report.deliveries.acked.load(Ordering::Relaxed) as usize, expected_total + 3);
        assert_eq!(metrics.total() as usize, expected_total + 3);
        let exposition = metrics.render();
        assert!(
            exposition.contains(&format!(
                "experiment_producer_event_count_total{{key=\"{}\",topic=\"experiment\"}} 604",
                report.experiments[0]
            )),
            "{exposition}"
        );
        assert!(exposition.contains("experiment_producer_num_experiments 0"));

        // Formats: each value is an Avro container whose schema the header names, keyed by its experiment.
        let key = SecretKey::new(LAB_SECRET_KEY).unwrap();
        let mut by_experiment: HashMap<String, Vec<(String, serde_json::Value, i64)>> = HashMap::new();
        for m in &records {
            let name = record_name(m);
            let decoded = avro::decode(m.payload().unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let schema = if name == "experiment_configured" { "ExperimentConfig" } else { name.as_str() };
            assert_eq!(decoded.schema_name.as_deref(), Some(schema));
            let v = decoded.record().clone();
            let experiment = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
            assert_eq!(v["experiment"], experiment.as_str(), "keyed by the experiment id");
            by_experiment.entry(experiment).or_default().push((name, v, m.timestamp().to_millis().unwrap()));
        }
        assert_eq!(by_experiment.len(), 3);

        for (spec, id) in specs.iter().zip(&report.experiments) {
            let events = &by_experiment[id];
            // Order: one experiment's events arrive in the course's sequence, timestamps rising.
            let names: Vec<String> = events.iter().map(|e| e.0.clone()).collect();
            assert_eq!(names, expected_sequence(spec), "experiment {id} out of order");
            assert!(events.windows(2).all(|w| w[0].2 <= w[1].2));
            let configured = &events[0].1;
            assert_eq!(configured["researcher"], "d.landau@uu.nl");
            assert_eq!(configured["sensors"].as_array().unwrap().len(), spec.num_sensors as usize);
            assert_eq!(configured["temperature_range"]["lower_threshold"], spec.temp_range.lower_threshold as f64);

            // Rounds: every sensor once per measurement id; the hash opens and names this measurement.
            let mut rounds: Vec<(String, Vec<f64>, NotificationType)> = Vec::new();
            for (name, v, ts) in events {
                if name != "sensor_temperature_measured" {
                    continue;
                }
                assert_eq!(
                    (v["timestamp"].as_f64().unwrap() * 1000.0) as i64,
                    *ts,
                    "record timestamp = event timestamp"
                );
                let blob = key.open(v["measurement_hash"].as_str().unwrap()).unwrap();
                assert_eq!(
                    (blob.experiment_id.as_str(), blob.measurement_id.as_str()),
                    (id.as_str(), v["measurement_id"].as_str().unwrap())
                );
                assert_eq!(blob.researcher, "d.landau@uu.nl");
                let t = v["temperature"].as_f64().unwrap();
                match rounds.last_mut() {
                    Some(r) if r.0 == v["measurement_id"] => r.1.push(t),
                    _ => {
                        rounds.push((v["measurement_id"].as_str().unwrap().to_owned(), vec![t], blob.notification_type))
                    }
                }
            }
            assert_eq!(rounds.len() as u32, spec.rounds());
            let (lo, hi) = (spec.temp_range.lower_threshold as f64, spec.temp_range.upper_threshold as f64);
            let means: Vec<f64> = rounds.iter().map(|r| r.1.iter().sum::<f64>() / r.1.len() as f64).collect();
            for (r, mean) in rounds.iter().zip(&means) {
                assert_eq!(r.1.len() as u32, spec.num_sensors);
                let in_range = (lo..=hi).contains(mean);
                assert_eq!(
                    r.2 == NotificationType::Stabilized,
                    in_range,
                    "the hash's type follows the round's mean {mean}"
                );
            }
            // The course: rising during stabilization, mostly inside the range after.
            let (stab, carry) = means.split_at(spec.stabilization_samples as usize);
            assert!(stab.windows(2).all(|w| w[1] > w[0]), "stabilization rises: {stab:?}");
            let inside = carry.iter().filter(|m| (lo..=hi).contains(*m)).count();
            assert!(inside * 10 >= carry.len() * 7, "only {inside} of {} carry-out rounds in range", carry.len());
        }

        // The documents: one per experiment with every round's mean.
        assert_eq!(docs.len(), 3);
        for d in &docs {
            assert_eq!(record_name(d), "experiment_document");
            let v = avro::decode(d.payload().unwrap()).unwrap().record().clone();
            let spec = &specs[report.experiments.iter().position(|e| *e == v["experiment"]).unwrap()];
            assert_eq!(v["measurements"].as_array().unwrap().len() as u32, spec.rounds());
        }

        // Rates. Rounds are due on exact multiples of the period from each start time and
        // are sent a little after; shifting the windows back by 0.1 s (half the shortest
        // period) puts each round in the phase it is due in.
        let t0 = records.iter().map(|m| m.timestamp().to_millis().unwrap()).min().unwrap();
        let rel: Vec<f64> =
            records.iter().map(|m| (m.timestamp().to_millis().unwrap() - t0) as f64 / 1e3 + 0.1).collect();
        let count = |a: f64, b: f64| rel.iter().filter(|&&t| t >= a && t < b).count();
        eprintln!("rate trace of load 3 (events per second; expected = the load file's measurements/s):");
        eprintln!("  second  measured  expected");
        for s in 0..74 {
            eprintln!(
                "  {s:6}  {:8}  {:8}",
                count(s as f64, s as f64 + 1.0),
                (expected_rate(&specs, s as f64 + 0.25) + expected_rate(&specs, s as f64 + 0.75)) / 2.0
            );
        }
        for (a, b, expected) in
            [(0.0, 30.0, 10.0), (30.0, 45.0, 50.0), (45.0, 48.0, 90.0), (48.0, 60.0, 50.0), (60.0, 72.5, 40.0)]
        {
            assert_eq!(expected_rate(&specs, (a + b) / 2.0), expected);
            let rate = count(a, b) as f64 / (b - a);
            eprintln!("phase {a:4}–{b:4} s: {rate:6.2} events/s, expected {expected}");
            assert!(
                (rate / expected - 1.0).abs() <= 0.05,
                "{a}–{b} s: {rate:.2} events/s is not within 5 % of {expected}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_experiment_command_works_with_the_course_flags() {
        let b = start_broker().await;
        let bin = env!("CARGO_BIN_EXE_streamlab");
        let out = Command::new(bin)
            .args([
                "experiment",
                "-b",
                &b.bootstrap(),
                "-X",
                "client.id=experiment-test",
                "--topic",
                "exp_cli",
                "--topic-document",
                "exp_docs",
                "--num-sensors",
                "3",
                "--sample-rate",
                "50",
                "--stabilization-samples",
                "2",
                "--carry-out-samples",
                "4",
                "--start-temperature",
                "-5",
                "--metrics-addr",
                "off",
                "--seed",
                "1",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let tail = Command::new(bin).args(["tail", "exp_cli", "--brokers", &b.bootstrap(), "--exit"]).output().unwrap();
        assert!(tail.status.success(), "{}", String::from_utf8_lossy(&tail.stderr));
        let lines: Vec<serde_json::Value> =
            String::from_utf8_lossy(&tail.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        // 4 markers + 3 sensors × 6 rounds; `tail` shows the Avro values decoded.
        assert_eq!(lines.len(), 22);
        assert_eq!(lines.iter().filter(|l| l["avro_schema"] == "sensor_temperature_measured").count(), 18);
        assert!(lines.iter().all(|l| l["value"]["experiment"] == l["key"]));
        let docs =
            Command::new(bin).args(["tail", "exp_docs", "--brokers", &b.bootstrap(), "--exit"]).output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&docs.stdout).unwrap();
        assert_eq!(doc["value"]["measurements"].as_array().unwrap().len(), 6);
        assert_eq!(doc["headers"][0]["value"], "experiment_document");
    }

    #[test]
    fn a_bad_config_file_is_refused_with_its_reason() {
        let dir = std::env::temp_dir().join(format!("streamlab-exp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("load.json");
        std::fs::write(&file, config::LOAD_2.replace("\"num_sensors\": 8", "\"num_sensors\": 0")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
            .args(["experiment", "--brokers", "127.0.0.1:1", "--metrics-addr", "off", "--config-file"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("experiment 2 (counting from 1): num_sensors must be at least 1"), "{err}");
        let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
            .args(["experiment", "--secret-key", "too-short", "--metrics-addr", "off"])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("exactly 32 bytes"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
