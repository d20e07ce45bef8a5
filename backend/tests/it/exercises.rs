//! Every exercise, solved against the embedded broker: the correct solution passes every
//! condition, and for each condition a near-miss solution fails exactly that one, with its
//! failure message. Each attempt is its own student, so all share one broker as a class
//! would. Then a roster of three students graded by `streamlab check --roster --json`, and
//! the lab's live re-check over the websocket.

use crate::support::*;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use streamlab::exercises::check::{Checker, render};
use streamlab::exercises::{Catalog, Namespace};
use streamlab::kafka::KafkaConfig;
use streamlab::shutdown::Shutdown;
use streamlab_wire::{Outcome, ServerMessage};

/// One attempt at an exercise: a student's namespace on the shared broker.
#[derive(Clone)]
struct Student {
    kafka: KafkaConfig,
    name: String,
    producer: FutureProducer,
}

impl Student {
    fn new(kafka: &KafkaConfig, name: &str) -> Student {
        let producer = kafka.client().set("message.timeout.ms", "10000").create().unwrap();
        Student { kafka: kafka.clone(), name: name.to_owned(), producer }
    }

    /// A topic or group in this student's namespace.
    fn t(&self, name: &str) -> String {
        format!("{}.{name}", self.name)
    }

    /// Creates the topic unless an earlier exercise of this student did.
    async fn create(&self, topic: &str, partitions: i32) {
        streamlab::kafka::admin::ensure_topics(&self.kafka, &[&self.t(topic)], partitions).await.unwrap();
    }

    /// Records stored in a topic now.
    async fn count(&self, topic: &str) -> usize {
        let (kafka, topic) = (self.kafka.clone(), self.t(topic));
        tokio::task::spawn_blocking(move || {
            let probe = streamlab::exercises::probe::Probe::new(&kafka).unwrap();
            probe.watermarks(&topic).unwrap().iter().map(|p| (p.high - p.low) as usize).sum()
        })
        .await
        .unwrap()
    }

    /// Produces one record and returns its (partition, offset).
    async fn send(
        &self,
        topic: &str,
        key: Option<&str>,
        value: &str,
        headers: &[(&str, &str)],
        partition: Option<i32>,
    ) -> (i32, i64) {
        let topic = self.t(topic);
        let mut hs = OwnedHeaders::new();
        for (k, v) in headers {
            hs = hs.insert(Header { key: k, value: Some(*v) });
        }
        let mut r = FutureRecord::to(&topic).payload(value).headers(hs);
        if let Some(k) = key {
            r = r.key(k);
        }
        if let Some(p) = partition {
            r = r.partition(p);
        }
        let d = self.producer.send(r, Duration::from_secs(10)).await.expect("acknowledged");
        (d.partition, d.offset)
    }

    async fn answer(&self, answers: &str, key: &str, value: &str) {
        self.send(answers, Some(key), value, &[], None).await;
    }

    /// Joins `group`, reads `n` records of `topic` (from earliest for a new group), commits
    /// what it read unless told not to, and leaves. Returns the values.
    async fn read_in_group(&self, group: &str, topic: &str, n: usize, commit: bool) -> Vec<String> {
        let (kafka, group, topic) = (self.kafka.clone(), self.t(group), self.t(topic));
        tokio::task::spawn_blocking(move || {
            let c: BaseConsumer = group_consumer(&kafka, &group);
            c.subscribe(&[&topic]).unwrap();
            let got = poll_n(&c, n, Duration::from_secs(60));
            assert_eq!(got.len(), n, "{group} read {} of {n} records of {topic}", got.len());
            if commit {
                for m in &got {
                    self::commit(&c, m);
                }
            }
            got.iter().map(|m| String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned()).collect()
        })
        .await
        .unwrap()
    }

    /// Every record of a topic, from the start.
    async fn read_all(&self, topic: &str, n: usize) -> Vec<rdkafka::message::OwnedMessage> {
        let (kafka, topic) = (self.kafka.clone(), self.t(topic));
        tokio::task::spawn_blocking(move || read_from_start(&kafka, &topic, n)).await.unwrap()
    }
}

/// Commits the offset after `m`: the next read of the group starts behind it.
fn commit(c: &BaseConsumer, m: &rdkafka::message::OwnedMessage) {
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(m.topic(), m.partition(), rdkafka::Offset::Offset(m.offset() + 1)).unwrap();
    c.commit(&tpl, CommitMode::Sync).unwrap();
}

fn group_consumer(kafka: &KafkaConfig, group: &str) -> BaseConsumer {
    kafka
        .client()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "500")
        .create()
        .unwrap()
}

/// Something a solution keeps running while it is checked (consumers of a group).
type Running = Option<Box<dyn Send>>;

fn names(miss: &Option<String>) -> impl Fn(&str) -> bool + '_ {
    move |id| miss.as_deref() == Some(id)
}

async fn solve(n: u32, s: Student, miss: Option<String>) -> Running {
    let m = names(&miss);
    match n {
        1 => {
            // One partition, as the course's console creates it; the near-miss has two.
            s.create("dev_sandbox", if m("topic") { 2 } else { 1 }).await;
            s.send("dev_sandbox", None, "first", &[], Some(0)).await;
            if !m("messages") {
                s.send("dev_sandbox", None, "second", &[], Some(0)).await;
            }
            let read = if m("messages") {
                json!({"offset": 0, "value": "first"})
            } else {
                json!({"offset": 1, "value": if m("read-by-offset") { "first" } else { "second" }})
            };
            s.answer("dev_sandbox_answers", "read_by_offset", &read.to_string()).await;
        }
        2 => {
            s.create("dev_sandbox", 1).await;
            for v in ["a", "b", "c"] {
                s.send("dev_sandbox", None, v, &[], None).await;
            }
            // Whatever exercise 1 left there counts too.
            let stored = s.count("dev_sandbox").await;
            // The near-miss stops reading (and committing) one record short.
            let read = s
                .read_in_group(
                    "sandbox-group",
                    "dev_sandbox",
                    if m("group-committed") { stored - 1 } else { stored },
                    true,
                )
                .await;
            let starts_at = if m("second-read") { 0 } else { read.len() };
            s.answer("dev_sandbox_answers", "second_read_starts_at", &starts_at.to_string()).await;
            if !m("earliest-group") {
                s.read_in_group("sandbox-earliest", "dev_sandbox", stored, true).await;
            }
            let earliest = if m("earliest-count") { stored - 1 } else { stored };
            s.answer("dev_sandbox_answers", "earliest", &earliest.to_string()).await;
            s.answer("dev_sandbox_answers", "latest", if m("latest-count") { "3" } else { "0" }).await;
        }
        3 => {
            s.create("dev_callbacks", 1).await;
            let mut acked = 0;
            for i in 1..=3 {
                if m("three-messages") && i == 2 {
                    continue;
                }
                acked = s.send("dev_callbacks", None, &format!("Message with id #{i}"), &[], None).await.1;
            }
            let reported = if m("acknowledged") { acked + 1 } else { acked };
            s.answer("dev_sandbox_answers", "offset_3", &reported.to_string()).await;
        }
        4 => {
            s.create("mushroom_inference_request", 3).await;
            let rate = if m("rate") { 20.0 } else { 10.0 };
            let bad = m("valid-requests").then(|| s.clone());
            let invalid = tokio::spawn(async move {
                if let Some(s) = bad {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    s.send("mushroom_inference_request", Some("bad"), r#"{"cap-diameter": -1}"#, &[], None).await;
                }
            });
            generate(&s, rate, (rate * 11.0) as u64, m("own-keys")).await;
            invalid.await.unwrap();
        }
        5 => {
            for t in ["mushroom_inference_request", "mushroom_prediction", "mushroom_inference_dead_letter"] {
                s.create(t, 3).await;
            }
            // The requests of exercise 4's generator, if the student did it; else new ones.
            if s.count("mushroom_inference_request").await == 0 {
                generate(&s, 500.0, 40, false).await;
            }
            let requests = s.count("mushroom_inference_request").await;
            answer_requests(&s, requests).await;
            if m("every-request-answered") {
                generate(&s, 500.0, 5, false).await;
            }
            if m("predictions") {
                s.send("mushroom_prediction", Some("x"), r#"{"class": "maybe"}"#, &[], None).await;
            }
        }
        6 => {
            s.create("work_items", 1).await;
            s.create("work_done", 1).await;
            for i in 1..=4 {
                s.send("work_items", None, &format!("item {i}"), &[], None).await;
            }
            let crash_at = if m("read-again") { None } else { Some(2) };
            let skip_store = if m("nothing-lost") { Some(3) } else { None };
            let last_commit = !m("finished");
            let (kafka, st) = (s.kafka.clone(), s.clone());
            tokio::task::spawn_blocking(move || worker(&kafka, &st, crash_at, skip_store, last_commit)).await.unwrap();
        }
        7 => {
            s.create("partitioned", if m("sixteen-partitions") { 8 } else { 16 }).await;
            for i in 0..40 {
                let key = if m("keys") { "same".to_owned() } else { i.to_string() };
                s.send("partitioned", Some(&key), &format!("message {i}"), &[], None).await;
            }
            let consumers = if m("two-members") { 1 } else { 2 };
            return Some(Box::new(
                Group::start(&s, "partitioned-group", "partitioned", consumers, !m("all-read"), 40).await,
            ));
        }
        8 => {
            s.create("experiment", 3).await;
            // Three overlapping experiments at 100 ms rounds: 40, +20, +30 events/s, so the
            // graph's peak is 90/s between seconds 2 and 4. The near-miss runs two (peak 60).
            let mut specs = vec![spec(0.0, 4, 40), spec(1.0, 2, 30), spec(2.0, 3, 20)];
            if m("three-experiments") {
                specs.pop();
            }
            let peak: u32 = specs.iter().map(|e| e.num_sensors * 10).sum();
            run_experiment(&s, specs).await;
            s.answer("experiment_answers", "peak_rate", &if m("peak-rate") { peak / 2 } else { peak }.to_string())
                .await;
        }
        9 => {
            s.create("experiment", 3).await;
            s.create("experiment_json", 3).await;
            run_experiment(&s, vec![spec(0.0, 2, 10)]).await;
            // Every record on the topic, exercise 8's included.
            let records = s.read_all("experiment", s.count("experiment").await).await;
            for (i, r) in records.iter().enumerate() {
                if m("republished") && i == 5 {
                    continue;
                }
                let name = r
                    .headers()
                    .and_then(|h| h.iter().find(|h| h.key == "record_name"))
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned());
                let record = streamlab::kafka::avro::decode(r.payload().unwrap()).unwrap().record().clone();
                let key = r.key().map(|k| String::from_utf8_lossy(k).into_owned());
                s.send(
                    "experiment_json",
                    key.as_deref(),
                    &json!({"record_name": name, "record": record}).to_string(),
                    &[],
                    None,
                )
                .await;
            }
            if m("json-only") {
                s.send("experiment_json", None, "decoded 24 records", &[], None).await;
            }
        }
        10 => {
            s.create("INGESTION", 3).await;
            let samples = if m("samples") { 11 } else { 18 };
            for i in 0..samples {
                let sensor = i % 6 + 1;
                let payload =
                    json!({"sensor_id": sensor, "modality": 400 + i, "unit": "MW", "temporal_aspect": "real_time"});
                // Half the producers send payload as a JSON string, as ksqlDB's STRING column reads it.
                let payload = if i % 2 == 0 { payload } else { Value::String(payload.to_string()) };
                let sample = json!({"payload": payload, "correlation_id": uuid::Uuid::new_v4().to_string(), "created_at": 1694902173.1 + i as f64, "schema_version": 1});
                s.send("INGESTION", Some(&sensor.to_string()), &sample.to_string(), &[], None).await;
            }
            // The router, written as ksqlDB writes its output: upper-case column names.
            for (i, r) in s.read_all("INGESTION", samples).await.iter().enumerate() {
                let v: Value = serde_json::from_slice(r.payload().unwrap()).unwrap();
                let payload = match &v["payload"] {
                    Value::String(text) => serde_json::from_str(text).unwrap(),
                    other => other.clone(),
                };
                let sensor = payload["sensor_id"].as_i64().unwrap();
                let target = if m("routed") && i == 4 { sensor % 6 + 1 } else { sensor };
                let out = json!({"PAYLOAD": payload.to_string(), "CORRELATION_ID": v["correlation_id"], "CREATED_AT": v["created_at"], "SCHEMA_VERSION": 1});
                s.send(&format!("SENSOR_ID_{target}"), None, &out.to_string(), &[], None).await;
            }
        }
        11 => {
            s.create("numbers", 1).await;
            s.create("rolling_means", 1).await;
            s.create("sentences", 1).await;
            s.create("long_messages", 1).await;
            let numbers = [1.0, 2.0, 3.0, 4.0, 10.0, -2.5];
            for x in numbers {
                s.send("numbers", None, &x.to_string(), &[], None).await;
            }
            for (i, w) in numbers.windows(3).enumerate() {
                let mean = w.iter().sum::<f64>() / 3.0;
                let mean = if m("rolling-mean") && i == 2 { mean + 1.0 } else { mean };
                s.send("rolling_means", None, &mean.to_string(), &[], None).await;
            }
            let sentences = [
                "short one",
                "this sentence has clearly more than six words",
                "hi there",
                "one two three four five six",
            ];
            for text in sentences {
                s.send("sentences", None, text, &[], None).await;
            }
            for text in sentences {
                let words = text.split_whitespace().count();
                // The near-miss alerts at six words too (>= instead of >).
                if words > 6 || (m("long-message-alerts") && words == 6) {
                    s.send("long_messages", None, &json!({"message": text, "words": words}).to_string(), &[], None)
                        .await;
                }
            }
        }
        12 => {
            // Three copies, two needed in sync, an hour's retention; the near-miss leaves
            // min.insync.replicas at 1. Needs a cluster of three brokers (`on_kafka`).
            let isr = if m("replicated-topic") { "1" } else { "2" };
            let settings =
                [("min.insync.replicas".to_owned(), isr.to_owned()), ("retention.ms".into(), "3600000".into())];
            streamlab::kafka::admin::create_replicated_topic(&s.kafka, &s.t("replicated"), 1, 3, &settings)
                .await
                .unwrap();
            for i in 0..if m("written") { 15 } else { 20 } {
                s.send("replicated", None, &format!("reading {i}"), &[], None).await;
            }
            // What kafka-python prints; the near-miss is what it prints with its default
            // retries, which wait for the brokers until the delivery timeout.
            let error = if m("two-brokers-down") { "KafkaTimeoutError" } else { "NotEnoughReplicasError" };
            s.answer("replicated_answers", "two_brokers_down", error).await;
        }
        _ => unreachable!("no exercise {n}"),
    }
    None
}

/// A student's request generator (exercise 4): features drawn as the model's data profile
/// says, a key per request (or the seed's one key for all), at a steady rate. Her own
/// producer: the lab's `streamlab datagen` would not count.
async fn generate(s: &Student, rate: f64, count: u64, same_key: bool) {
    use rand::SeedableRng;
    use streamlab_model::profile::{Categoricals, DataProfile, Sampler};
    let sampler = Sampler::new(DataProfile::shipped());
    let mut rng = rand::rngs::SmallRng::from_entropy();
    let start = tokio::time::Instant::now();
    for i in 0..count {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
        let request = sampler.sample(Categoricals::Uniform, &mut rng).to_json().to_string();
        let key = if same_key { "key".to_owned() } else { uuid::Uuid::new_v4().to_string() };
        s.send("mushroom_inference_request", Some(&key), &request, &[], None).await;
    }
}

/// A student's inference service (exercise 5): reads `n` requests in her group, answers
/// each under its key with a class, and commits.
async fn answer_requests(s: &Student, n: usize) {
    let (kafka, group, requests) = (s.kafka.clone(), s.t("my-inference"), s.t("mushroom_inference_request"));
    let read = tokio::task::spawn_blocking(move || {
        let c: BaseConsumer = group_consumer(&kafka, &group);
        c.subscribe(&[&requests]).unwrap();
        let got = poll_n(&c, n, Duration::from_secs(60));
        assert_eq!(got.len(), n, "{group} read {} of {n} requests", got.len());
        (c, got)
    });
    let (consumer, got) = read.await.unwrap();
    for m in &got {
        let features: Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        let class = if features["stem-width"].as_f64().unwrap() > 1000.0 { "poisonous" } else { "edible" };
        let key = std::str::from_utf8(m.key().unwrap()).unwrap();
        s.send("mushroom_prediction", Some(key), &json!({ "class": class }).to_string(), &[], None).await;
    }
    tokio::task::spawn_blocking(move || got.iter().for_each(|m| commit(&consumer, m))).await.unwrap();
}

fn spec(start_time: f64, num_sensors: u32, rounds: u32) -> streamlab::load::experiment::config::ExperimentSpec {
    streamlab::load::experiment::config::ExperimentSpec {
        start_time,
        researcher: "d.landau@uu.nl".into(),
        num_sensors,
        sample_rate: 100,
        start_temperature: 16.0,
        stabilization_samples: 2,
        carry_out_samples: rounds - 2,
        temp_range: streamlab::load::experiment::config::TempRange { lower_threshold: 25.5, upper_threshold: 26.5 },
    }
}

/// `streamlab experiment` with these experiments; returns the events delivered.
async fn run_experiment(s: &Student, experiments: Vec<streamlab::load::experiment::config::ExperimentSpec>) -> u64 {
    let config = streamlab::load::experiment::ExperimentConfig {
        topic: s.t("experiment"),
        document_topic: None,
        experiments,
        secret_key: streamlab::load::experiment::hash::LAB_SECRET_KEY.into(),
        seed: None,
        schema_ids: None,
    };
    let kafka = s.kafka.clone();
    tokio::task::spawn_blocking(move || {
        let report = streamlab::load::experiment::run(&kafka, &config, &Default::default(), &Shutdown::new()).unwrap();
        report.deliveries.acked.load(Ordering::Relaxed)
    })
    .await
    .unwrap()
}

/// The course's slow worker: store each item on work_done, then commit it. It "crashes"
/// (leaves without committing) after storing item `crash_at`, and is started again.
fn worker(kafka: &KafkaConfig, s: &Student, crash_at: Option<usize>, skip_store: Option<usize>, last_commit: bool) {
    let store: rdkafka::producer::BaseProducer = kafka.client().create().unwrap();
    let (group, topic) = (s.t("workers"), s.t("work_items"));
    let mut stored = 0;
    let mut run = |stop_after_storing: Option<usize>| -> bool {
        let c = group_consumer(kafka, &group);
        c.subscribe(&[&topic]).unwrap();
        loop {
            let Some(m) = poll_n(&c, 1, Duration::from_secs(30)).pop() else { return true };
            let item: usize =
                String::from_utf8_lossy(m.payload().unwrap()).trim_start_matches("item ").parse().unwrap();
            if skip_store != Some(item) {
                store
                    .send(
                        rdkafka::producer::BaseRecord::<(), [u8]>::to(&s.t("work_done")).payload(m.payload().unwrap()),
                    )
                    .unwrap();
                store.flush(Duration::from_secs(10)).unwrap();
                stored += 1;
            }
            if stop_after_storing == Some(item) {
                return false; // dies before the commit; dropping the consumer leaves the group
            }
            if item < 4 || last_commit {
                commit(&c, &m);
            }
            if item == 4 {
                return true;
            }
        }
    };
    if !run(crash_at) {
        assert!(run(None), "the restarted worker finishes");
    }
    assert!(stored >= 3);
}

/// Consumers of one group, polling (and committing) in threads until dropped.
struct Group {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Group {
    async fn start(s: &Student, group: &str, topic: &str, consumers: usize, commit: bool, records: usize) -> Group {
        let stop = Arc::new(AtomicBool::new(false));
        let read = Arc::new(AtomicUsize::new(0));
        let assigned = Arc::new(AtomicUsize::new(0));
        let threads = (0..consumers)
            .map(|_| {
                let (kafka, group, topic, stop, read, assigned) =
                    (s.kafka.clone(), s.t(group), s.t(topic), stop.clone(), read.clone(), assigned.clone());
                std::thread::spawn(move || {
                    let c = group_consumer(&kafka, &group);
                    c.subscribe(&[&topic]).unwrap();
                    let mut counted = false;
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                            read.fetch_add(1, Ordering::Relaxed);
                            if commit {
                                c.commit_message(&m, CommitMode::Sync).unwrap();
                            }
                        }
                        if !counted && c.assignment().is_ok_and(|a| a.count() > 0) {
                            counted = true;
                            assigned.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        // Ready when every consumer holds partitions and everything was read at least once.
        for _ in 0..600 {
            if assigned.load(Ordering::Relaxed) >= consumers && read.load(Ordering::Relaxed) >= records {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            read.load(Ordering::Relaxed) >= records,
            "the group read {} of {records}",
            read.load(Ordering::Relaxed)
        );
        // A rebalance after the last read may still be moving partitions; let it settle.
        tokio::time::sleep(Duration::from_secs(3)).await;
        Group { stop, threads }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Solves exercise `n` correctly and once per condition with that condition's near-miss,
/// each as its own student, all at once; then checks each.
async fn exercise_holds(n: u32) {
    exercise_holds_on(n, &start_broker().await.kafka).await
}

/// [`exercise_holds`] on the cluster of `kafka` (exercise 12 needs three brokers).
pub async fn exercise_holds_on(n: u32, kafka: &KafkaConfig) {
    let catalog = Arc::new(Catalog::embedded().unwrap());
    let exercise = catalog.find(&n.to_string()).unwrap().clone();
    let checker = Checker::new(kafka.clone(), catalog.clone());
    let attempts: Vec<Option<String>> =
        std::iter::once(None).chain(exercise.conditions.iter().map(|c| Some(c.id.clone()))).collect();
    let runs = attempts.iter().enumerate().map(|(i, miss)| {
        let (student, miss) = (Student::new(kafka, &format!("s{i}")), miss.clone());
        let (checker, exercise) = (checker.clone(), exercise.clone());
        async move {
            let running = solve(n, student.clone(), miss.clone()).await;
            let report = checker.check(&exercise, &Namespace::student(Some(&student.name)).unwrap()).await;
            drop(running);
            (miss, report)
        }
    });
    for (miss, report) in futures::future::join_all(runs).await {
        let shown = render(&report);
        let not_passed: Vec<&str> =
            report.results.iter().filter(|r| r.outcome != Outcome::Pass).map(|r| r.id.as_str()).collect();
        match &miss {
            None => assert!(
                report.passed && not_passed.is_empty(),
                "the correct solution of {} passes:\n{shown}",
                exercise.info.id
            ),
            Some(id) => {
                assert_eq!(not_passed, [id.as_str()], "the near-miss for {id} fails exactly {id}:\n{shown}");
                let result = report.results.iter().find(|r| &r.id == id).unwrap();
                let condition = exercise.conditions.iter().find(|c| &c.id == id).unwrap();
                assert_eq!(result.outcome, Outcome::Fail, "{shown}");
                assert!(result.message.as_deref().unwrap().starts_with(&condition.failure), "{shown}");
                assert_eq!(result.hint.as_deref(), Some(condition.hint.as_str()));
                eprintln!("near-miss {} / {id}: {}", exercise.info.id, result.message.as_deref().unwrap());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_01_sandbox_topic() {
    exercise_holds(1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_02_offsets_and_groups() {
    exercise_holds(2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_03_delivery_callbacks() {
    exercise_holds(3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_04_request_generator() {
    exercise_holds(4).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_05_real_time_inference() {
    exercise_holds(5).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_06_commit_after_work() {
    exercise_holds(6).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_07_partitions_and_groups() {
    exercise_holds(7).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_08_load_variability() {
    exercise_holds(8).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_09_avro() {
    exercise_holds(9).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_10_split_a_stream() {
    exercise_holds(10).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exercise_11_rolling_mean_and_alerts() {
    exercise_holds(11).await;
}

/// Exercise 12 on the embedded broker, a single node: the topic condition says the exercise
/// needs three brokers and how to start them; the other conditions check what they can
/// (`on_kafka` has the passing run on three nodes).
#[tokio::test(flavor = "multi_thread")]
async fn exercise_12_says_it_needs_three_brokers_on_the_embedded_one() {
    let broker = start_broker().await;
    let catalog = Arc::new(Catalog::embedded().unwrap());
    let checker = Checker::new(broker.kafka.clone(), catalog.clone());
    let s = Student::new(&broker.kafka, "single");
    let refused =
        streamlab::kafka::admin::create_replicated_topic(&s.kafka, &s.t("replicated"), 1, 3, &[]).await.unwrap_err();
    assert!(refused.to_string().contains("this cluster has 1"), "{refused}");
    s.create("replicated", 1).await;
    for i in 0..20 {
        s.send("replicated", None, &format!("reading {i}"), &[], None).await;
    }
    s.answer("replicated_answers", "two_brokers_down", "KafkaError{code=NOT_ENOUGH_REPLICAS,val=19}").await;
    let report = checker.check(catalog.find("12").unwrap(), &Namespace::student(Some("single")).unwrap()).await;
    let shown = render(&report);
    let outcome = |id: &str| report.results.iter().find(|r| r.id == id).unwrap();
    assert_eq!(outcome("replicated-topic").outcome, Outcome::Fail, "{shown}");
    let said = outcome("replicated-topic").message.clone().unwrap();
    assert!(
        said.contains(
            "need a cluster of at least 3 brokers, and this one has 1 (the lab's embedded broker is a single node)"
        ) && said.contains("./lab kafka start --nodes 3 --dedicated-controller"),
        "{said}"
    );
    assert_eq!(outcome("written").outcome, Outcome::Pass, "{shown}");
    assert_eq!(outcome("two-brokers-down").outcome, Outcome::Pass, "{shown}");
}

/// A condition that cannot be answered in time says so, and the checker goes on.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_broker_is_an_error_not_a_failure() {
    // Nothing listens on port 9 of loopback: metadata requests go unanswered.
    let kafka = KafkaConfig::new("127.0.0.1:9");
    let catalog = Arc::new(Catalog::embedded().unwrap());
    let checker = Checker::new(kafka, catalog.clone());
    let report = checker.check(catalog.find("1").unwrap(), &Namespace::default()).await;
    assert!(!report.passed);
    for r in &report.results {
        assert!(matches!(r.outcome, Outcome::Error | Outcome::Timeout), "{}", render(&report));
        assert!(r.message.as_deref().unwrap().starts_with("could not check"), "{}", render(&report));
    }
}

/// `streamlab check --roster FILE --json`: one student has done everything, one the first
/// six exercises, one nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_roster_is_graded_as_json() {
    let broker = start_broker().await;
    let complete = Student::new(&broker.kafka, "complete");
    let half = Student::new(&broker.kafka, "half");
    let mut running = Vec::new();
    for n in 1..=11 {
        running.push(solve(n, complete.clone(), None).await);
    }
    for n in 1..=6 {
        solve(n, half.clone(), None).await;
    }
    let dir = tempdir();
    let roster = dir.join("class.txt");
    std::fs::write(&roster, "# period 2\ncomplete\nhalf\nabsent   # ill\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_streamlab");
    let out = tokio::process::Command::new(bin)
        .args(["check", "--roster", roster.to_str().unwrap(), "--json", "--brokers", &broker.bootstrap()])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "not everyone passed: exit 1\n{}", String::from_utf8_lossy(&out.stderr));
    let class: streamlab_wire::ClassReport = serde_json::from_str(&stdout).unwrap();
    let by_name: Vec<(&str, usize)> =
        class.students.iter().map(|s| (s.student.as_deref().unwrap(), s.exercises_passed)).collect();
    let undone: Vec<String> = class
        .students
        .iter()
        .flat_map(|s| {
            s.exercises
                .iter()
                .filter(|e| !e.passed)
                .map(move |e| format!("{}: {}", s.student.as_deref().unwrap_or("-"), render(e)))
        })
        .collect();
    assert_eq!(by_name, [("complete", 11), ("half", 6), ("absent", 0)], "not passed:\n{}", undone.join(""));
    for s in &class.students {
        assert_eq!(s.exercises.len(), 15);
        for (i, e) in s.exercises.iter().enumerate() {
            // Exercise 12 needs three brokers, 13 a Connect worker, 14 Kafka Streams and 15
            // a Schema Registry: here they fail for everyone.
            let done = match s.student.as_deref() {
                Some("complete") => i < 11,
                Some("half") => i < 6,
                _ => false,
            };
            assert_eq!(e.passed, done, "{:?} {}", s.student, e.exercise);
            for r in &e.results {
                // Undone work fails with a reason; nothing errs or times out.
                assert!(
                    if done {
                        r.outcome == Outcome::Pass
                    } else {
                        r.outcome != Outcome::Error && r.outcome != Outcome::Timeout
                    },
                    "{:?} {} {r:?}",
                    s.student,
                    e.exercise
                );
            }
            assert!(done || e.results.iter().any(|r| r.outcome == Outcome::Fail && r.hint.is_some()));
        }
    }
    // The raw JSON is the documented shape.
    let raw: Value = serde_json::from_str(&stdout).unwrap();
    let first = &raw["students"][2]["exercises"][0];
    assert_eq!(raw["students"][2]["student"], "absent");
    assert_eq!(first["exercise"], "01-sandbox-topic");
    assert_eq!(first["results"][0]["outcome"], "fail");
    assert!(first["results"][0]["message"].as_str().unwrap().contains("does not exist"), "{first}");

    // One student, one exercise, as text: exit 0 when it all passes.
    let out = tokio::process::Command::new(bin)
        .args(["check", "3", "--student", "half", "--brokers", &broker.bootstrap()])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("03-delivery-callbacks") && text.contains("2/2 passed"), "{text}");
    let out = tokio::process::Command::new(bin)
        .args(["check", "9", "--student", "half", "--brokers", &broker.bootstrap()])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL") && text.contains("hint:"), "{text}");
    // In German, as seed 000 was: the exercise's texts, and what the checker saw as it said it.
    let out = tokio::process::Command::new(bin)
        .args(["check", "3", "--student", "nobody", "--lang", "de", "--brokers", &broker.bootstrap()])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Ein Producer mit Delivery-Callbacks"), "{text}");
    assert!(
        text.contains(
            "nicht alle drei Nachrichten sind in dev_callbacks angekommen (topic nobody.dev_callbacks does not exist)"
        ),
        "{text}"
    );
    assert!(text.contains("hint: Sende die drei Werte genau wie angegeben"), "{text}");
    // The grade book: a row per student, points per exercise (partial credit), the total.
    let out = tokio::process::Command::new(bin)
        .args(["check", "--roster", roster.to_str().unwrap(), "--csv", "--brokers", &broker.bootstrap()])
        .output()
        .await
        .unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    let catalog = Catalog::embedded().unwrap();
    let possible: Vec<u32> = catalog.exercises.iter().map(|e| e.conditions.iter().map(|c| c.points).sum()).collect();
    let total: u32 = possible.iter().sum();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let ids: Vec<&str> = catalog.exercises.iter().map(|e| e.info.id.as_str()).collect();
    assert_eq!(rows[0], [&["student"][..], &ids, &["total", "possible"]].concat(), "{csv}");
    // complete did exercises 1 to 11; 12 (three brokers), 14 (Streams) and 15 (the Schema
    // Registry) earn nothing here, and 13 (Connect) only its samples on INGESTION, which
    // exercise 10 wrote: the course's one sensor topic.
    let complete: Vec<String> = possible[..11].iter().map(u32::to_string).collect();
    let samples = catalog.exercises[12].conditions.iter().find(|c| c.id == "samples").unwrap().points;
    let earned: u32 = possible[..11].iter().sum::<u32>() + samples;
    assert_eq!(rows[1][1..12], complete, "{csv}");
    assert_eq!(
        rows[1][12..],
        ["0".to_owned(), samples.to_string(), "0".to_owned(), "0".to_owned(), earned.to_string(), total.to_string()],
        "{csv}"
    );
    // half did exercises 1 to 6: their points, nothing of 7 to 15.
    let half: u32 = possible[..6].iter().sum();
    let half_row = [&["half"][..], &complete[..6].iter().map(String::as_str).collect::<Vec<_>>(), &["0"; 9]].concat();
    assert_eq!(rows[2][..16], half_row, "{csv}");
    assert_eq!(rows[2][16..], [half.to_string(), total.to_string()], "{csv}");
    assert_eq!(rows[3], [&["absent"][..], &["0"; 15], &["0", &total.to_string()]].concat(), "{csv}");
    assert!(total > 30 && possible.iter().any(|p| *p > 3), "some conditions are worth more than one point");
    // Exercise 7's consumers ran while the class was checked, as a student's do.
    drop(running);

    let out = tokio::process::Command::new(bin)
        .args(["check", "99", "--brokers", &broker.bootstrap()])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no exercise `99`"));
}

/// What a failed comparison shows in each `--failure-details` mode: `full` the expected
/// value beside the seen one, `actual-only` never the expected value, `none` only the
/// condition's failure message. An exercise's own setting holds under a laxer checker.
#[tokio::test(flavor = "multi_thread")]
async fn failure_details_full_actual_only_and_none() {
    use streamlab::exercises::conditions::FailureDetails;
    let broker = start_broker().await;
    let s = Student::new(&broker.kafka, "d");
    // Offsets 0, 1, 2 acknowledged; the answer says 3. And a rolling mean one too high.
    solve(3, s.clone(), Some("acknowledged".into())).await;
    solve(11, s.clone(), Some("rolling-mean".into())).await;
    let catalog = Arc::new(Catalog::embedded().unwrap());
    let ns = Namespace::student(Some("d")).unwrap();
    let message = |report: &streamlab_wire::CheckReport, id: &str| {
        let r = report.results.iter().find(|r| r.id == id).unwrap();
        assert_eq!(r.outcome, Outcome::Fail, "{}", render(report));
        r.message.clone().unwrap()
    };
    let failure =
        |n: &str, id: &str| catalog.find(n).unwrap().conditions.iter().find(|c| c.id == id).unwrap().failure.clone();
    for details in [FailureDetails::Full, FailureDetails::ActualOnly, FailureDetails::None] {
        let checker = Checker::new(broker.kafka.clone(), catalog.clone()).with_details(details);
        let ack = message(&checker.check(catalog.find("3").unwrap(), &ns).await, "acknowledged");
        let mean = message(&checker.check(catalog.find("11").unwrap(), &ns).await, "rolling-mean");
        eprintln!("{details:?}:\n  {ack}\n  {mean}");
        match details {
            FailureDetails::Full => {
                assert!(ack.contains(r#"answered "3", expected 2 — 1 apart (50 %)"#), "{ack}");
                assert!(mean.contains("is 6.666666666666667, expected 5.666666666666667 — 1 apart"), "{mean}");
            }
            FailureDetails::ActualOnly => {
                assert!(ack.contains(r#"answered "3""#) && !ack.contains("expected") && !ack.contains('2'), "{ack}");
                assert!(mean.contains("is 6.666666666666667") && !mean.contains("5.666"), "{mean}");
            }
            FailureDetails::None => {
                assert_eq!(ack, failure("3", "acknowledged"));
                assert_eq!(mean, failure("11", "rolling-mean"));
            }
        }
    }
    // An exercise set to `none` in its exercise.toml says no more under a `full` checker.
    let dir = tempdir();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../exercises");
    for entry in walk(&source) {
        let to = dir.join(entry.strip_prefix(&source).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &to).unwrap();
    }
    let toml = dir.join("03-delivery-callbacks/exercise.toml");
    std::fs::write(&toml, format!("failure_details = \"none\"\n{}", std::fs::read_to_string(&toml).unwrap())).unwrap();
    let strict = Arc::new(Catalog::from_dir(&dir).unwrap());
    let checker = Checker::new(broker.kafka.clone(), strict.clone());
    let report = checker.check(strict.find("3").unwrap(), &ns).await;
    assert_eq!(message(&report, "acknowledged"), failure("3", "acknowledged"));
    // The command line's flag.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["check", "11", "--student", "d", "--failure-details", "actual-only", "--brokers", &broker.bootstrap()])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("is 6.666666666666667") && !text.contains("expected"), "{text}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("streamlab-roster-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The lab re-checks the exercise a student has open and pushes what changed: pending
/// first, then failures, then passes as the student works. The classroom lists the roster.
#[tokio::test(flavor = "multi_thread")]
async fn the_lab_rechecks_a_watched_exercise_live() {
    let (addr, _stop) = serve_lab(false).await;
    let http = reqwest::Client::new();
    let list: Vec<streamlab_wire::ExerciseInfo> =
        http.get(format!("http://{addr}/api/exercises")).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.len(), 15);
    assert!(list[0].instructions_html.contains("<code>dev_sandbox</code>"));
    let unknown = http.get(format!("http://{addr}/api/exercises/nope/check")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);

    let mut ws = connect(addr).await;
    send_json(&mut ws, json!({"type": "watch_exercise", "exercise": "01-sandbox-topic", "student": "alice"})).await;
    let report = next_matching(&mut ws, check).await;
    assert!(report.results.iter().all(|r| r.outcome == Outcome::Pending));
    let report = next_matching(&mut ws, check).await;
    assert!(report.results.iter().all(|r| r.outcome == Outcome::Fail), "{}", render(&report));

    // Alice does the exercise against the lab's broker; the next pushes turn to passes.
    let cluster: streamlab_wire::ClusterInfo =
        http.get(format!("http://{addr}/api/cluster")).send().await.unwrap().json().await.unwrap();
    let alice = Student::new(&KafkaConfig::new(cluster.bootstrap.clone()), "alice");
    solve(1, alice, None).await;
    let passed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let report = next_matching(&mut ws, check).await;
            if report.passed {
                return report;
            }
        }
    })
    .await
    .expect("the watched exercise passes within 30 s");
    assert_eq!(passed.student.as_deref(), Some("alice"));

    send_json(&mut ws, json!({"type": "watch_exercise", "exercise": "nope"})).await;
    let message = next_matching(&mut ws, error).await;
    assert!(message.contains("no exercise"), "{message}");
    send_json(&mut ws, json!({"type": "watch_exercise", "exercise": "1", "student": "bad name"})).await;
    let message = next_matching(&mut ws, error).await;
    assert!(message.contains("student names"), "{message}");
    send_json(&mut ws, json!({"type": "unwatch_exercise"})).await;
    next_matching(&mut ws, |m| matches!(m, ServerMessage::Unwatched).then_some(())).await;

    let progress: streamlab_wire::StudentReport =
        http.get(format!("http://{addr}/api/progress?student=alice")).send().await.unwrap().json().await.unwrap();
    assert_eq!(progress.exercises_passed, 1);
    assert!(progress.exercises[0].passed);
    let class: streamlab_wire::ClassReport =
        http.get(format!("http://{addr}/api/classroom")).send().await.unwrap().json().await.unwrap();
    let students: Vec<_> = class.students.iter().map(|s| (s.student.clone().unwrap(), s.exercises_passed)).collect();
    assert_eq!(students, [("alice".to_owned(), 1), ("bob".to_owned(), 0)]);
}

/// The teacher's classroom, live: the grade book comes over the websocket and again when a
/// result changes; a student is checked again only when her own topics or groups changed, so
/// the other students' reports are the ones already made (their check times stay).
#[tokio::test(flavor = "multi_thread")]
async fn the_classroom_is_pushed_live_and_rechecks_only_who_changed() {
    let (addr, _stop) = serve_lab(false).await;
    let http = reqwest::Client::new();
    let mut ws = connect(addr).await;
    send_json(&mut ws, json!({"type": "watch_classroom"})).await;
    let first = next_matching(&mut ws, graded).await;
    let checked_at = |c: &streamlab_wire::ClassReport, who: &str| -> Vec<i64> {
        c.students
            .iter()
            .filter(|s| s.student.as_deref() == Some(who))
            .flat_map(|s| &s.exercises)
            .map(|e| e.checked_at_ms)
            .collect()
    };
    let names: Vec<_> = first.students.iter().map(|s| s.student.clone().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(first.students.iter().all(|s| s.exercises_passed == 0));

    // Nothing changed: the grade book is the one already made, not checked again.
    let again: streamlab_wire::ClassReport =
        http.get(format!("http://{addr}/api/classroom")).send().await.unwrap().json().await.unwrap();
    assert_eq!(checked_at(&again, "alice"), checked_at(&first, "alice"));
    assert_eq!(checked_at(&again, "bob"), checked_at(&first, "bob"));

    // Alice does exercise 1: a new grade book arrives by itself, with her exercise passed;
    // bob's reports are the ones from before.
    let cluster: streamlab_wire::ClusterInfo =
        http.get(format!("http://{addr}/api/cluster")).send().await.unwrap().json().await.unwrap();
    solve(1, Student::new(&KafkaConfig::new(cluster.bootstrap.clone()), "alice"), None).await;
    let after = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let class = next_matching(&mut ws, graded).await;
            if class.students[0].exercises_passed == 1 {
                return class;
            }
        }
    })
    .await
    .expect("the classroom shows alice's exercise within 30 s");
    assert!(after.students[0].exercises[0].passed);
    assert_eq!(checked_at(&after, "bob"), checked_at(&first, "bob"), "bob did nothing: not checked again");
    assert_ne!(checked_at(&after, "alice"), checked_at(&first, "alice"));
    send_json(&mut ws, json!({"type": "unwatch_classroom"})).await;
    next_matching(&mut ws, |m| matches!(m, ServerMessage::Classroom { report: None }).then_some(())).await;
}

/// A grade book pushed to the classroom page.
fn graded(m: ServerMessage) -> Option<streamlab_wire::ClassReport> {
    match m {
        ServerMessage::Classroom { report } => report,
        _ => None,
    }
}

fn check(m: ServerMessage) -> Option<streamlab_wire::CheckReport> {
    match m {
        ServerMessage::Check { report } => Some(report),
        _ => None,
    }
}

fn error(m: ServerMessage) -> Option<String> {
    match m {
        ServerMessage::Error { message } => Some(message),
        _ => None,
    }
}
