//! The inference service against a real broker: one output per request, bad input to the
//! dead-letter topic, a crash that loses nothing, two instances sharing the work, and
//! exactly-once on librdkafka's mock cluster (the embedded broker has no transactions). The
//! outputs, the two instances and both kill tests run on the embedded broker and on one
//! Apache Kafka node; exactly once on three Kafka nodes is [`crate::on_kafka`]'s.

use crate::support::{TestBroker, run_service, valid_request};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use streamlab::inference::InferenceConfig;
use streamlab::kafka::KafkaConfig;
use streamlab_model::{Artifact, MushroomFeatures};
use streamlab_wire::PredictionValue;

pub(crate) fn config(prefix: &str) -> InferenceConfig {
    InferenceConfig {
        requests: format!("{prefix}_requests"),
        predictions: format!("{prefix}_predictions"),
        dead_letters: format!("{prefix}_dead_letters"),
        group: format!("{prefix}-inference"),
        ..InferenceConfig::default()
    }
}

async fn create_topics(b: &TestBroker, c: &InferenceConfig, partitions: i32) {
    for t in [&c.requests, &c.predictions, &c.dead_letters] {
        b.create_topic(t, partitions).await;
    }
}

/// The request mix of the test: a tenth malformed, in every way the service must catch.
fn request(i: usize) -> (Vec<u8>, Option<&'static str>) {
    let mut v: serde_json::Value = serde_json::from_slice(&valid_request(i)).unwrap();
    let edited = |v: &serde_json::Value| v.to_string().into_bytes();
    match i % 70 {
        0 => (b"this is not json".to_vec(), Some("not_json")),
        10 => (vec![0xff, 0xfe, 0x00, 0x81], Some("not_utf8")),
        20 => {
            v["colour"] = 1.into();
            (edited(&v), Some("unknown_field"))
        }
        30 => {
            v.as_object_mut().unwrap().remove("season");
            (edited(&v), Some("missing_field"))
        }
        40 => {
            v["cap-shape"] = "round".into();
            (edited(&v), Some("wrong_type"))
        }
        50 => {
            v["stem-color"] = 99.into();
            (edited(&v), Some("out_of_range"))
        }
        60 => {
            let mut big = edited(&v);
            big.extend(std::iter::repeat_n(b' ', 70 * 1024));
            (big, Some("too_large"))
        }
        _ => (edited(&v), None),
    }
}

async fn produce_requests(b: &TestBroker, topic: &str, n: usize) -> HashMap<String, (Vec<u8>, Option<&'static str>)> {
    let producer: FutureProducer =
        b.kafka.client().set("message.timeout.ms", "30000").set("message.max.bytes", "1000000").create().unwrap();
    let mut sent = HashMap::new();
    let mut pending = Vec::new();
    for i in 0..n {
        let key = format!("req-{i}");
        let (value, bad) = request(i);
        sent.insert(key.clone(), (value.clone(), bad));
        let producer = producer.clone();
        let topic = topic.to_owned();
        pending.push(async move {
            producer
                .send(FutureRecord::to(&topic).key(&key).payload(&value), Duration::from_secs(30))
                .await
                .map_err(|(e, _)| e)
        });
    }
    for r in futures::future::join_all(pending).await {
        r.expect("request acknowledged");
    }
    sent
}

/// Reads everything on `topic` from the start until `n` records arrived or `timeout` passed,
/// then a little longer to catch any extra.
pub(crate) fn read_all(
    kafka: &KafkaConfig,
    topic: &str,
    n: usize,
    timeout: Duration,
    read_committed: bool,
) -> Vec<OwnedMessage> {
    let consumer: BaseConsumer = kafka
        .client()
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .set("isolation.level", if read_committed { "read_committed" } else { "read_uncommitted" })
        .create()
        .unwrap();
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut settle: Option<Instant> = None;
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => out.push(m.detach()),
            // A broker lost on purpose (the tests on Kafka) is reported here, and is no record.
            Some(Err(e)) => eprintln!("reading {topic}: {e}"),
            None => {}
        }
        if out.len() >= n && settle.is_none() {
            settle = Some(Instant::now() + Duration::from_secs(2));
        }
        if settle.is_some_and(|s| Instant::now() > s) || Instant::now() > deadline {
            return out;
        }
    }
}

fn header<'a>(m: &'a OwnedMessage, key: &str) -> Option<&'a str> {
    m.headers()?.iter().find(|h| h.key == key).and_then(|h| std::str::from_utf8(h.value?).ok())
}

fn key(m: &OwnedMessage) -> String {
    String::from_utf8(m.key().unwrap().to_vec()).unwrap()
}

async fn every_request_gets_exactly_one_prediction_or_dead_letter(b: TestBroker) {
    let c = config("once");
    create_topics(&b, &c, 3).await;
    let n = 700;
    let sent = produce_requests(&b, &c.requests, n).await;
    let (stop, metrics, handle) = run_service(b.kafka.clone(), c.clone());

    let kafka = b.kafka.clone();
    let (p, d) = (c.predictions.clone(), c.dead_letters.clone());
    let bad = sent.values().filter(|(_, bad)| bad.is_some()).count();
    let (predictions, dead) = tokio::task::spawn_blocking(move || {
        (
            read_all(&kafka, &p, n - bad, Duration::from_secs(60), false),
            read_all(&kafka, &d, bad, Duration::from_secs(30), false),
        )
    })
    .await
    .unwrap();
    stop.trigger();
    handle.join().unwrap();

    assert_eq!(bad, 70, "a tenth of the requests are malformed");
    assert_eq!(predictions.len() + dead.len(), n, "exactly one output per request");
    let model = Artifact::shipped().unwrap();
    let mut answered = BTreeMap::new();
    for m in &predictions {
        let k = key(m);
        let (value, bad) = &sent[&k];
        assert!(bad.is_none(), "{k} was malformed but got a prediction");
        let v: PredictionValue = serde_json::from_slice(m.payload().unwrap()).unwrap();
        let expected = model.predict(&MushroomFeatures::from_json(value).unwrap());
        assert_eq!(v.class, expected.class.name(), "{k}");
        assert_eq!(v.probability_poisonous, expected.probability_poisonous, "{k}");
        assert_eq!(v.model_version, model.version());
        assert_eq!(header(m, "content-type"), Some("application/json"));
        assert_eq!(header(m, "model-version"), Some(model.version().as_str()));
        assert_eq!(v.request.topic, c.requests);
        *answered.entry(k).or_insert(0) += 1;
    }
    for m in &dead {
        let k = key(m);
        let (value, bad) = &sent[&k];
        let expected = bad.unwrap_or_else(|| panic!("{k} was valid but dead-lettered"));
        assert_eq!(header(m, "dlq-reason"), Some(expected), "{k}");
        assert_eq!(m.payload().unwrap_or_default(), value.as_slice(), "the original bytes are kept");
        assert!(header(m, "dlq-error").is_some_and(|e| !e.is_empty()));
        assert_eq!(header(m, "dlq-source-topic"), Some(c.requests.as_str()));
        assert!(header(m, "dlq-source-offset").is_some());
        *answered.entry(k).or_insert(0) += 1;
    }
    assert_eq!(answered.len(), n);
    assert!(answered.values().all(|&c| c == 1));
    assert_eq!(metrics.requests.load(Ordering::Relaxed), n as u64);
    assert_eq!(metrics.dead_letters().values().sum::<u64>(), 70);
    let text = metrics.render();
    assert!(text.contains("streamlab_inference_dead_letters_total{reason=\"too_large\"} 10"), "{text}");
}

async fn two_instances_split_the_partitions_and_answer_every_request_once(b: TestBroker) {
    let c = config("pair");
    create_topics(&b, &c, 4).await;
    let (stop1, m1, h1) = run_service(b.kafka.clone(), c.clone());
    let (stop2, m2, h2) = run_service(b.kafka.clone(), c.clone());
    // Wait until the group is stable with both members before producing.
    let probe = b.consumer("probe");
    let group = c.group.clone();
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // Before the first member joins, the group is not listed at all; a fresh Kafka
            // answers "coordinator not available" until its offsets topic is ready.
            let (state, members) = match probe.fetch_group_list(Some(&group), Duration::from_secs(5)) {
                Ok(list) => list
                    .groups()
                    .first()
                    .map_or(("absent".to_owned(), 0), |g| (g.state().to_owned(), g.members().len())),
                Err(e) => (format!("unknown ({e})"), 0),
            };
            if state == "Stable" && members == 2 {
                return;
            }
            assert!(Instant::now() < deadline, "group never had two stable members: {state} {members}");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();

    let n = 420;
    let sent = produce_requests(&b, &c.requests, n).await;
    let kafka = b.kafka.clone();
    let (p, d) = (c.predictions.clone(), c.dead_letters.clone());
    let outputs = tokio::task::spawn_blocking(move || {
        let mut all = read_all(&kafka, &p, n - 42, Duration::from_secs(60), false);
        all.extend(read_all(&kafka, &d, 42, Duration::from_secs(30), false));
        all
    })
    .await
    .unwrap();
    stop1.trigger();
    stop2.trigger();
    h1.join().unwrap();
    h2.join().unwrap();

    let (r1, r2) = (m1.requests.load(Ordering::Relaxed), m2.requests.load(Ordering::Relaxed));
    assert!(r1 > 0 && r2 > 0, "both instances worked: {r1} and {r2}");
    assert_eq!(r1 + r2, n as u64, "no request was read twice");
    let mut keys: Vec<String> = outputs.iter().map(key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(outputs.len(), n);
    assert_eq!(keys.len(), sent.len());
}

// ---- Crashes: the real binary, killed with SIGKILL in the middle of a backlog.

pub(crate) fn spawn_infer(brokers: &str, c: &InferenceConfig, extra: &[&str]) -> Child {
    let log = std::env::temp_dir().join(format!("streamlab-{}-{}.log", c.group, uuid::Uuid::new_v4()));
    spawn_infer_logged(brokers, c, extra, &log)
}

/// [`spawn_infer`], its stderr in `log`.
pub(crate) fn spawn_infer_logged(brokers: &str, c: &InferenceConfig, extra: &[&str], log: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["infer", "--brokers", brokers, "--metrics-addr", "127.0.0.1:0"])
        .args([
            "--requests-topic",
            &c.requests,
            "--predictions-topic",
            &c.predictions,
            "--dead-letter-topic",
            &c.dead_letters,
            "--group",
            &c.group,
        ])
        .args(extra)
        .env("STREAMLAB_LOG", "info,librdkafka=warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn count_records(kafka: &KafkaConfig, topic: &str) -> i64 {
    count_records_with(&kafka.client().create().unwrap(), topic)
}

/// [`count_records`] with a client already connected: a new one costs some 50 ms to connect.
fn count_records_with(c: &BaseConsumer, topic: &str) -> i64 {
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    md.topics()[0]
        .partitions()
        .iter()
        .map(|p| c.fetch_watermarks(topic, p.id(), Duration::from_secs(10)).unwrap().1)
        .sum()
}

/// Kills `child` once at least `at_least` but not all requests have outputs.
fn kill_mid_backlog(mut child: Child, kafka: &KafkaConfig, c: &InferenceConfig, n: i64, at_least: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    // One client for every count: with a new one per count, each look took long enough for
    // a fast service to finish the whole backlog between two looks.
    let counter: BaseConsumer = kafka.client().create().unwrap();
    loop {
        let done = count_records_with(&counter, &c.predictions) + count_records_with(&counter, &c.dead_letters);
        if done >= at_least {
            child.kill().unwrap();
            child.wait().unwrap();
            assert!(done < n, "the backlog was done before the kill; make it larger");
            return done;
        }
        assert!(Instant::now() < deadline, "no outputs within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Request offsets per output, keyed by (partition, offset) of the request.
pub(crate) fn outputs_per_request(
    kafka: &KafkaConfig,
    c: &InferenceConfig,
    n: usize,
    read_committed: bool,
) -> HashMap<(i32, i64), usize> {
    let mut per_request = HashMap::new();
    for m in read_all(kafka, &c.predictions, n, Duration::from_secs(90), read_committed) {
        let v: PredictionValue = serde_json::from_slice(m.payload().unwrap()).unwrap();
        *per_request.entry((v.request.partition, v.request.offset)).or_insert(0) += 1;
    }
    for m in read_all(kafka, &c.dead_letters, 0, Duration::from_secs(3), read_committed) {
        let p: i32 = header(&m, "dlq-source-partition").unwrap().parse().unwrap();
        let o: i64 = header(&m, "dlq-source-offset").unwrap().parse().unwrap();
        *per_request.entry((p, o)).or_insert(0) += 1;
    }
    per_request
}

pub(crate) async fn produce_valid(kafka: &KafkaConfig, topic: &str, n: usize) {
    let producer: FutureProducer =
        kafka.client().set("message.timeout.ms", "30000").set("linger.ms", "20").create().unwrap();
    let mut pending = Vec::new();
    for i in 0..n {
        let p = producer.clone();
        let topic = topic.to_owned();
        pending.push(async move {
            let value = valid_request(i);
            p.send(FutureRecord::to(&topic).key(&format!("k{i}")).payload(&value), Duration::from_secs(30))
                .await
                .map_err(|(e, _)| e)
        });
    }
    for r in futures::future::join_all(pending).await {
        r.unwrap();
    }
}

async fn a_killed_service_loses_nothing_after_restart(b: TestBroker) {
    let c = config("crash");
    create_topics(&b, &c, 3).await;
    let n = 20_000;
    produce_valid(&b.kafka, &c.requests, n).await;
    let (kafka, c2) = (b.kafka.clone(), c.clone());
    let per_request = tokio::task::spawn_blocking(move || {
        // Small batches and a small in-flight window (the backpressure path) keep the first
        // instance slow enough that the kill lands mid-backlog; the second has the defaults.
        let slow = ["--max-batch", "50", "--max-in-flight", "200"];
        let first = spawn_infer(&kafka.bootstrap, &c2, &slow);
        let at_kill = kill_mid_backlog(first, &kafka, &c2, n as i64, 1);
        eprintln!("killed after {at_kill} of {n} outputs");
        let mut second = spawn_infer(&kafka.bootstrap, &c2, &[]);
        let per_request = outputs_per_request(&kafka, &c2, n, false);
        let _ = second.kill();
        let _ = second.wait();
        per_request
    })
    .await
    .unwrap();
    assert_eq!(per_request.len(), n, "every request has an output");
    let duplicates = per_request.values().filter(|&&c| c > 1).count();
    eprintln!(
        "{duplicates} requests answered twice (allowed at least once; subscribers drop them by partition and offset)"
    );
}

/// `streamlab infer` with its metrics on a free port; returns it and the metrics address it
/// printed.
fn spawn_infer_with_metrics(brokers: &str, c: &InferenceConfig) -> (Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["infer", "--brokers", brokers, "--metrics-addr", "127.0.0.1:0"])
        .args(["--requests-topic", &c.requests, "--predictions-topic", &c.predictions])
        .args(["--dead-letter-topic", &c.dead_letters, "--group", &c.group])
        .env("STREAMLAB_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let banner = lines.by_ref().map_while(Result::ok).find(|l| l.contains("/metrics")).expect("the banner");
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let addr = banner.split("http://").nth(1).and_then(|s| s.strip_suffix("/metrics")).expect(&banner).to_owned();
    (child, addr)
}

/// One metric's value from the service's `/metrics` (summed over its labels).
fn scrape(addr: &str, name: &str) -> u64 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// The pipelined service (its default settings) killed with SIGKILL while thousands of
/// requests are read but not yet answered: after a restart every request has an output,
/// and within each output partition the requests of each source partition are answered in
/// order the first time (a replay after the kill may repeat a run, never reorder one).
async fn a_kill_mid_pipeline_loses_nothing_and_keeps_each_partitions_order(b: TestBroker) {
    let c = config("pipekill");
    create_topics(&b, &c, 3).await;
    let n = 100_000;
    produce_valid(&b.kafka, &c.requests, n).await;
    let (kafka, c2) = (b.kafka.clone(), c.clone());
    let (first_outputs, committed_at_kill, in_flight, outputs) = tokio::task::spawn_blocking(move || {
        let (mut first, metrics) = spawn_infer_with_metrics(&kafka.bootstrap, &c2);
        let deadline = Instant::now() + Duration::from_secs(60);
        // The kill comes after the service has committed (it does every 200 ms), so the
        // restart shows that it resumes there, and while thousands are read but unanswered.
        let group: BaseConsumer = kafka.client().set("group.id", &c2.group).create().unwrap();
        let partitions = {
            let mut tpl = TopicPartitionList::new();
            for p in 0..3 {
                tpl.add_partition(&c2.requests, p);
            }
            tpl
        };
        let committed = || -> i64 {
            let offsets = group.committed_offsets(partitions.clone(), Duration::from_secs(5)).unwrap();
            offsets.elements().iter().filter_map(|e| e.offset().to_raw()).filter(|o| *o > 0).sum()
        };
        let (committed_at_kill, in_flight) = loop {
            let read = scrape(&metrics, "streamlab_inference_requests_total");
            let answered = scrape(&metrics, "streamlab_inference_predictions_total");
            let done = if answered >= 5_000 && read - answered >= 1_000 { committed() } else { 0 };
            if done > 0 {
                first.kill().unwrap();
                first.wait().unwrap();
                eprintln!("killed with {answered} answered, {} in flight, {done} committed", read - answered);
                break (done, read - answered);
            }
            if Instant::now() > deadline {
                let _ = first.kill();
                panic!("never a commit with 1,000 in flight (read {read}, answered {answered})");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let first_outputs = count_records(&kafka, &c2.predictions);
        assert!(first_outputs < n as i64, "the backlog was done before the kill; make it larger");
        let mut second = spawn_infer(&kafka.bootstrap, &c2, &[]);
        let outputs = read_all(&kafka, &c2.predictions, n, Duration::from_secs(120), false);
        let _ = second.kill();
        let _ = second.wait();
        (first_outputs, committed_at_kill, in_flight, outputs)
    })
    .await
    .unwrap();
    assert!(in_flight >= 1_000);

    let mut answered = std::collections::HashSet::new();
    // (output partition, source partition) → the last source offset answered for the first time.
    let mut last_first: HashMap<(i32, i32), i64> = HashMap::new();
    for m in &outputs {
        let v: PredictionValue = serde_json::from_slice(m.payload().unwrap()).unwrap();
        let source = (v.request.partition, v.request.offset);
        if answered.insert(source) {
            let last = last_first.entry((m.partition(), source.0)).or_insert(-1);
            assert!(
                source.1 > *last,
                "request {source:?} answered for the first time after offset {last} of its partition"
            );
            *last = source.1;
        }
    }
    assert_eq!(answered.len(), n, "every request has a prediction after the restart");
    let twice = outputs.len() - n;
    eprintln!("{} outputs for {n} requests ({twice} answered twice)", outputs.len());
    // Commits only grow, so what is answered again is at most what the first instance
    // answered beyond the offsets committed when it was checked.
    assert!(
        twice as i64 <= first_outputs - committed_at_kill,
        "the restart began at the committed offsets ({committed_at_kill}), not before: {twice} of {first_outputs} answered again"
    );
}

/// librdkafka's mock cluster with the service's topics and a backlog of `n` valid requests.
async fn mock_with_backlog(
    prefix: &str,
    n: usize,
) -> (rdkafka::mocking::MockCluster<'static, rdkafka::producer::DefaultProducerContext>, KafkaConfig, InferenceConfig) {
    let mock = rdkafka::mocking::MockCluster::new(3).unwrap();
    let c = config(prefix);
    for t in [&c.requests, &c.predictions, &c.dead_letters] {
        mock.create_topic(t, 3, 3).unwrap();
    }
    let kafka = KafkaConfig::new(mock.bootstrap_servers());
    produce_valid(&kafka, &c.requests, n).await;
    (mock, kafka, c)
}

/// Exactly-once mode on librdkafka's mock cluster, the one transactional broker available
/// here: consume → predict → produce with the offsets sent in each transaction. Every
/// request is answered exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn exactly_once_mode_answers_every_request_once_on_the_mock_cluster() {
    let n = 5_000;
    let (_mock, kafka, c) = mock_with_backlog("eos", n).await;
    let c2 = c.clone();
    let per_request = tokio::task::spawn_blocking(move || {
        let mut service = spawn_infer(&kafka.bootstrap, &c2, &["--exactly-once", "--max-batch", "200"]);
        let per_request = outputs_per_request(&kafka, &c2, n, true);
        let _ = service.kill();
        let _ = service.wait();
        per_request
    })
    .await
    .unwrap();
    assert_eq!(per_request.len(), n, "every request has an output");
    assert!(per_request.values().all(|&c| c == 1), "a request answered twice");
}

/// A kill in exactly-once mode on the mock cluster loses nothing. Whether it also
/// duplicates nothing cannot be judged here: the mock of librdkafka 2.12 acknowledges
/// TxnOffsetCommit without storing the offsets and ends transactions without abort
/// markers, so the restarted instance starts from the beginning and a read_committed
/// reader still sees aborted records. README says which brokers give exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn a_kill_in_exactly_once_mode_loses_nothing() {
    // Rates and a killed service's deadlines need the cores (see main.rs).
    let _turn = crate::support::heavy("inference");
    let n = 20_000;
    let (_mock, kafka, c) = mock_with_backlog("eoskill", n).await;
    let c2 = c.clone();
    let per_request = tokio::task::spawn_blocking(move || {
        // A short session lets the group drop the killed member quickly; the same
        // transactional id fences the dead instance.
        let eos =
            ["--exactly-once", "--transactional-id", "eos-kill", "--max-batch", "500", "-X", "session.timeout.ms=6000"];
        let first = spawn_infer(&kafka.bootstrap, &c2, &eos);
        kill_mid_backlog(first, &kafka, &c2, n as i64, 1000);
        let mut second = spawn_infer(&kafka.bootstrap, &c2, &eos);
        let per_request = outputs_per_request(&kafka, &c2, n, true);
        let _ = second.kill();
        let _ = second.wait();
        per_request
    })
    .await
    .unwrap();
    assert_eq!(per_request.len(), n, "every request has an output");
}

// ---- SIGTERM: what `docker stop`, systemd and Kubernetes send.

/// The whole lab (embedded broker on SQLite, the inference service beside it), started from
/// the binary; returns it once its ready banner is out, and its stderr so far and to come.
fn spawn_lab(args: &[&str]) -> (Child, Arc<std::sync::Mutex<String>>) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .env_remove("KAFKA_BROKERS")
        .env_remove("STREAMLAB_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(std::sync::Mutex::new(String::new()));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stderr, kept) = (child.stderr.take().unwrap(), log.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("is ready") {
                let _ = ready_tx.send(());
            }
            kept.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    ready_rx.recv_timeout(Duration::from_secs(60)).expect("the lab printed its ready banner");
    (child, log)
}

/// Sends SIGTERM and waits up to `within` for the exit status.
fn terminate(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running {within:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_backlog_exits_0_and_a_restart_answers_every_acknowledged_request() {
    // Rates and a killed service's deadlines need the cores (see main.rs).
    let _turn = crate::support::heavy("inference");
    let dir = std::env::temp_dir().join(format!("streamlab-sigterm-{}", uuid::Uuid::new_v4()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let broker = format!("127.0.0.1:{port}");
    let args = ["--broker-addr", &broker, "--web-addr", "127.0.0.1:0", "--data-dir", dir.to_str().unwrap()];
    let lab_args: Vec<&str> = args.iter().copied().chain(["--max-batch", "20"]).collect();
    let kafka = KafkaConfig::new(broker.clone());
    let c = InferenceConfig::default();
    let n = 20_000;

    let (mut lab, log) = spawn_lab(&lab_args);
    // Every request is acknowledged by the broker before the signal.
    produce_valid(&kafka, &c.requests, n).await;
    let (k, c2) = (kafka.clone(), c.clone());
    let (at_signal, status) = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        // One connected client for every look, as in `kill_mid_backlog`: a new client per
        // look let the service finish the whole backlog between the first prediction and
        // the signal in a CI run.
        let counter: BaseConsumer = k.client().create().unwrap();
        let at_signal = loop {
            let done = count_records_with(&counter, &c2.predictions);
            if done > 0 {
                break done;
            }
            assert!(Instant::now() < deadline, "no prediction within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        };
        (at_signal, terminate(&mut lab, Duration::from_secs(10)))
    })
    .await
    .unwrap();
    let log = log.lock().unwrap().clone();
    eprintln!("SIGTERM after {at_signal} of {n} predictions\n{log}");
    assert!(at_signal < n as i64, "the backlog was done before the signal; make it larger");
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop: {log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(!log.contains("Connection refused"), "the broker stopped last, after every client: {log}");

    // Same data directory, same port: the broker's SQLite file opens, the service resumes at
    // what was committed, and every acknowledged request has its prediction.
    let (mut again, _log) = spawn_lab(&args);
    let (k, c2) = (kafka.clone(), c.clone());
    let (per_request, status) = tokio::task::spawn_blocking(move || {
        let per_request = outputs_per_request(&k, &c2, n, false);
        (per_request, terminate(&mut again, Duration::from_secs(10)))
    })
    .await
    .unwrap();
    assert_eq!(per_request.len(), n, "every acknowledged request answered after the restart");
    assert_eq!(status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

crate::on_both_brokers!(
    every_request_gets_exactly_one_prediction_or_dead_letter,
    two_instances_split_the_partitions_and_answer_every_request_once
);
// Rates and a killed service's deadlines need the cores (see main.rs).
crate::on_both_brokers!(turn = "inference";
    a_killed_service_loses_nothing_after_restart,
    a_kill_mid_pipeline_loses_nothing_and_keeps_each_partitions_order
);
