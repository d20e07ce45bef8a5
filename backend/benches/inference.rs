//! `cargo bench -p streamlab --bench inference [-- --requests N] [-- --rounds N] [-- --no-peers]
//! [-- --no-kafka] [-- --no-embedded] [-- --broker-engine nisshi]`
//!
//! First a profile of the worker's stages without Kafka (read, predict, build outputs, hand
//! to librdkafka), per request. Then drains one backlog of N requests (default 100,000) on
//! the embedded broker, three times each (the table shows the median and the range), with:
//!   (a) a free-running rdkafka pass-through (poll, produce, never wait per batch; commit
//!       what is acknowledged): the ceiling, the best anything does on this broker;
//!   (e) the same in Python (confluent-kafka consume(1000) → produce), which (a) must match;
//!   (b) streamlab's inference service;
//!   (b0) the same with a one-leaf model: everything but the forest;
//!   (c) the naive Python peer: kafka-python, one message at a time, scikit-learn predict per
//!       message (on the first 2,000 requests: at ~100 msg/s the whole backlog takes too long);
//!   (d) the batched Python peer: confluent-kafka consume(500), one predict per batch;
//! then the latency floor (produce → consume of one record, no processing) and request →
//! prediction latency of (b) at a steady 1,000 and 10,000 requests/s, as the service stamps
//! it and as a subscriber of librdkafka's default settings receives it.
//!
//! Then the same on one Apache Kafka 4.4 node (`./lab kafka start`, stopped at the end),
//! unless `--no-kafka` or it cannot start: (a), (e), (b) at least once and (b) with
//! `--exactly-once`, the latency floor and the two latencies.
//!
//! The peers run when Python has scikit-learn, pandas, kafka-python and confluent-kafka and
//! the data set is at ../shared/data (or $STREAMLAB_DATA). Prints one table per broker.
//!
//! `--broker-engine nisshi` keeps the broker's records in nisshi's own engine instead of
//! streamlab's logs, to compare the drain on both. `--rounds N` drains N times instead of
//! three; `--no-embedded` leaves out the embedded broker's drains and latency (its worker
//! profile stays), for long runs on Kafka alone. On Kafka the ratios to the ceiling are also
//! given round by round: a round's pipelines run back to back, so a round's ratio moves less
//! with whatever else the machine does than the ratio of medians.

use futures::future::join_all;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, FutureProducer, FutureRecord, Producer, ProducerContext, ThreadedProducer,
};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamlab::inference::InferenceMetrics;
use streamlab::inference::{InferenceConfig, InferenceService};
use streamlab::kafka::KafkaConfig;
use streamlab::kafka::admin::ensure_topics;
use streamlab::kafka::broker::{EmbeddedBroker, Engine, Storage};
use streamlab::kafka::metadata::wait_ready;
use streamlab::shutdown::Shutdown;
use streamlab_model::forest::{LEAF, Node, RandomForest, Tree};
use streamlab_model::profile::{COMBINATION_KEY, DataProfile, MEASUREMENTS};
use streamlab_model::{Artifact, MushroomFeatures};
use streamlab_wire::PredictionValue;
use support::{KafkaNode, cpu_seconds, machine_busy_seconds};

mod support;

/// How many times each pipeline drains the backlog, unless `--rounds N`.
const ROUNDS: usize = 3;
// The pipelines, named as in the table (sorted by these names).
const A: &str = "(a) rdkafka pass-through, free-running";
const B: &str = "(b) streamlab infer";
const B0: &str = "(b0) streamlab infer, one-leaf model";
const BE: &str = "(b) streamlab infer --exactly-once";
const C: &str = "(c) kafka-python, 1 msg + sklearn predict";
const D: &str = "(d) confluent-kafka consume(500) + predict";
const E: &str = "(e) confluent-kafka pass-through";

/// The shipped model with its forest cut down to one leaf: (b0) is the service with
/// everything but the forest (reading, parsing, validating, writing the prediction, Kafka),
/// which says how much of the gap between (b) and the ceiling is the model's.
fn one_leaf_model() -> Artifact {
    let shipped = Artifact::shipped().unwrap();
    let leaf = Tree { nodes: vec![Node { feature: LEAF, value: 0.5, right: 0 }] };
    Artifact::new(shipped.card, RandomForest { n_features: shipped.forest.n_features, trees: vec![leaf] })
}

/// Realistic requests: the mean mushroom of each combination in the shipped profile.
fn requests(n: usize) -> Vec<Vec<u8>> {
    let profile = DataProfile::shipped();
    (0..n)
        .map(|i| {
            let c = &profile.combinations[i % profile.combinations.len()];
            let mut v = [0.0; 8];
            for (k, &j) in COMBINATION_KEY.iter().enumerate() {
                v[j] = c.key[k];
            }
            for (k, &j) in MEASUREMENTS.iter().enumerate() {
                v[j] = if j == 4 { c.deciles[k][5] } else { c.deciles[k][5].round() };
            }
            MushroomFeatures::new(v).unwrap().to_json().to_string().into_bytes()
        })
        .collect()
}

async fn produce(kafka: &KafkaConfig, topic: &str, values: &[Vec<u8>]) {
    let producer: FutureProducer =
        kafka.client().set("linger.ms", "5").set("queue.buffering.max.messages", "1000000").create().unwrap();
    for chunk in values.chunks(10_000) {
        let sends = chunk.iter().enumerate().map(|(i, v)| {
            let key = format!("k{i}");
            let p = producer.clone();
            let topic = topic.to_owned();
            let v = v.clone();
            async move {
                p.send(FutureRecord::to(&topic).key(&key).payload(&v), Duration::from_secs(60))
                    .await
                    .map(|_| ())
                    .map_err(|(e, _)| e)
            }
        });
        for r in join_all(sends).await {
            r.unwrap();
        }
    }
}

/// Counts acknowledgements and remembers, per partition, one past the highest acknowledged
/// source offset: with an idempotent producer a partition's outputs are acknowledged in order.
struct PassAcks {
    acked: AtomicU64,
    next: Mutex<BTreeMap<i32, i64>>,
}

impl ClientContext for PassAcks {}

impl ProducerContext for PassAcks {
    type DeliveryOpaque = Box<(i32, i64)>;

    fn delivery(&self, result: &DeliveryResult<'_>, source: Box<(i32, i64)>) {
        if result.is_ok() {
            self.acked.fetch_add(1, Ordering::Relaxed);
            let mut next = self.next.lock().unwrap();
            let e = next.entry(source.0).or_default();
            *e = (*e).max(source.1 + 1);
        }
    }
}

/// (a): poll, produce, never wait per batch; commit what is acknowledged every 200 ms.
fn passthrough(kafka: &KafkaConfig, from: &str, to: &str, n: usize) -> Duration {
    let consumer: BaseConsumer = kafka
        .client()
        .set("group.id", format!("bench-{to}"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // As the service does (InferenceConfig::consumer_config): with the default 1 s, a
        // pass-through with a full local queue waits for the broker most of each second.
        .set("fetch.queue.backoff.ms", "10")
        .create()
        .unwrap();
    consumer.subscribe(&[from]).unwrap();
    let acks = PassAcks { acked: AtomicU64::new(0), next: Mutex::new(BTreeMap::new()) };
    let producer: ThreadedProducer<PassAcks> = kafka
        .client()
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create_with_context(acks)
        .unwrap();
    let mut read = 0;
    let mut start = None;
    let mut last_commit = Instant::now();
    let commit = |consumer: &BaseConsumer| {
        let mut tpl = TopicPartitionList::new();
        for (&p, &o) in producer.context().next.lock().unwrap().iter() {
            tpl.add_partition_offset(from, p, Offset::Offset(o)).unwrap();
        }
        if tpl.count() > 0 {
            consumer.commit(&tpl, CommitMode::Async).unwrap();
        }
    };
    while read < n {
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) else { continue };
        start.get_or_insert_with(Instant::now);
        let mut record = BaseRecord::with_opaque_to(to, Box::new((m.partition(), m.offset())))
            .key(m.key().unwrap_or_default())
            .payload(m.payload().unwrap_or_default());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
        read += 1;
        if last_commit.elapsed() > Duration::from_millis(200) {
            commit(&consumer);
            last_commit = Instant::now();
        }
    }
    while producer.context().acked.load(Ordering::Relaxed) < n as u64 {
        std::thread::sleep(Duration::from_micros(200));
    }
    let elapsed = start.unwrap().elapsed();
    commit(&consumer);
    elapsed
}

/// The broker's own round trip: produce one record, wait until a consumer has it; `rounds`
/// times. `fetch_wait_ms` None is librdkafka's default (500 ms).
fn latency_floor(kafka: &KafkaConfig, topic: &str, rounds: usize, fetch_wait_ms: Option<u32>) -> (f64, f64) {
    let mut c = kafka.client();
    c.set("group.id", format!("bench-floor-{}", fetch_wait_ms.unwrap_or(0))).set("auto.offset.reset", "latest");
    if let Some(ms) = fetch_wait_ms {
        c.set("fetch.wait.max.ms", ms.to_string());
    }
    let consumer: BaseConsumer = c.create().unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let producer: BaseProducer = kafka.client().set("linger.ms", "0").create().unwrap();
    // Join the group and reach the end of the topic before the clock starts.
    let settle = Instant::now() + Duration::from_secs(5);
    while Instant::now() < settle {
        let _ = consumer.poll(Duration::from_millis(100));
    }
    let mut lat = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let key = format!("f{i}");
        let sent = Instant::now();
        producer.send(BaseRecord::<_, _, ()>::to(topic).key(&key).payload("x")).unwrap();
        // No flush: librdkafka's thread sends at once with linger.ms=0, while rust-rdkafka
        // 0.39's flush polls in 100 ms steps and its poll runs to the end of its timeout even
        // after the delivery report came, so a flush costs 100 ms whatever the broker does.
        let deadline = sent + Duration::from_secs(5);
        while Instant::now() < deadline {
            producer.poll(Duration::ZERO);
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(1))
                && m.key() == Some(key.as_bytes())
            {
                lat.push(sent.elapsed().as_secs_f64() * 1e3);
                break;
            }
        }
    }
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize];
    (q(0.5), q(0.99))
}

fn service(
    kafka: &KafkaConfig,
    config: InferenceConfig,
    model: Artifact,
) -> (Shutdown, Arc<InferenceMetrics>, std::thread::JoinHandle<()>) {
    let stop = Shutdown::new();
    let metrics = Arc::new(InferenceMetrics::default());
    let s = InferenceService {
        kafka: kafka.clone(),
        config,
        model: Arc::new(model),
        metrics: metrics.clone(),
        arrivals: None,
    };
    let st = stop.clone();
    (stop, metrics, std::thread::spawn(move || s.run_until(&st)))
}

fn answered(m: &InferenceMetrics) -> u64 {
    m.edible.load(Ordering::Relaxed) + m.poisonous.load(Ordering::Relaxed) + m.dead_letters().values().sum::<u64>()
}

/// The service reading the backlog as a new group, writing to its own topic.
fn drain_config(predictions: String, group: String) -> InferenceConfig {
    InferenceConfig {
        requests: "bench_requests".into(),
        predictions,
        dead_letters: "bench_dead".into(),
        group,
        ..InferenceConfig::default()
    }
}

/// (b): time from the first request read to the last output acknowledged.
fn drain_with_service(kafka: &KafkaConfig, config: InferenceConfig, model: Artifact, n: usize) -> Duration {
    let (stop, metrics, handle) = service(kafka, config, model);
    let mut start = None;
    while answered(&metrics) < n as u64 {
        if start.is_none() && metrics.requests.load(Ordering::Relaxed) > 0 {
            start = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let elapsed = start.map_or(Duration::ZERO, |s| s.elapsed());
    stop.trigger();
    handle.join().unwrap();
    elapsed
}

fn python_peer(
    script: &str,
    kafka: &KafkaConfig,
    from: &str,
    to: &str,
    csv: Option<&std::path::Path>,
    count: usize,
) -> Option<(usize, f64)> {
    let path = format!("{}/benches/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut args = vec![path, kafka.bootstrap.clone(), from.to_owned(), to.to_owned()];
    if let Some(csv) = csv {
        args.push(csv.to_str()?.to_owned());
    }
    args.push(count.to_string());
    let out = std::process::Command::new("python3").args(&args).output().ok()?;
    if !out.status.success() {
        eprintln!("{script} failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// What [`latency_at`] measured.
struct Latency {
    /// p50, p99 of the prediction's `predicted_at_ms` minus its request's timestamp.
    stamped: (f64, f64),
    max: f64,
    measured: usize,
    /// p50, p99 of when a subscriber of librdkafka's defaults received the prediction, minus
    /// its request's timestamp: what a student's program sees.
    received: (f64, f64),
    received_count: usize,
    /// p50, p99 of the requests' own acknowledgement.
    ack: (f64, f64),
    warm_seconds: u64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// How long the first latency row on Kafka runs its load before the clock starts.
const KAFKA_WARM_SECONDS: u64 = 30;

/// Latency at a steady rate: requests are paced at `rate`/s for `seconds`.
async fn latency_at(kafka: &KafkaConfig, rate: u64, seconds: u64, warm_seconds: u64) -> Latency {
    let t = |name: &str| format!("bench_latency_{rate}_{name}");
    let config = InferenceConfig {
        requests: t("requests"),
        predictions: t("predictions"),
        dead_letters: t("dead"),
        group: t("group"),
        ..InferenceConfig::default()
    };
    ensure_topics(kafka, &[&t("requests"), &t("predictions"), &t("dead")], 3).await.unwrap();
    let (stop, metrics, handle) = service(kafka, config, Artifact::shipped().unwrap());
    let n = (rate * seconds) as usize;
    // A subscriber as a student writes one: librdkafka's defaults, reading from the end.
    let subscriber: BaseConsumer =
        kafka.client().set("group.id", t("subscriber")).set("auto.offset.reset", "latest").create().unwrap();
    subscriber.subscribe(&[&t("predictions")]).unwrap();
    let listening = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let heard = listening.clone();
    let receiver = std::thread::spawn(move || {
        let mut lat = Vec::with_capacity(n);
        let deadline = Instant::now() + Duration::from_secs(seconds + 60);
        while lat.len() < n && Instant::now() < deadline {
            if let Some(Ok(m)) = subscriber.poll(Duration::from_millis(100))
                && m.key() != Some(b"warm-up")
            {
                let v: PredictionValue = serde_json::from_slice(m.payload().unwrap()).unwrap();
                lat.push((now_ms() - v.request.timestamp_ms.unwrap()) as f64);
            }
            if subscriber.assignment().is_ok_and(|a| a.count() > 0) {
                heard.store(true, Ordering::Relaxed);
            }
        }
        lat
    });
    // Let the group and the subscriber settle before the clock starts.
    tokio::time::sleep(Duration::from_secs(5)).await;
    while !listening.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // linger.ms=1, as a generator at these rates would have it: with 0, every request is a
    // produce request of its own, and at 10,000/s the embedded broker acknowledges them
    // more than a second late (measured: p50 1.2 s), which is the producer's latency, not
    // the service's. The millisecond of lingering is inside what is measured.
    let producer: FutureProducer = kafka.client().set("linger.ms", "1").create().unwrap();
    let values = requests(1000);
    // Ticks of 1 ms carrying rate/1000 requests each: tokio's timer has no finer grain.
    let per_tick = (rate / 1000).max(1) as usize;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 * per_tick as u64 / rate));
    // `warm_seconds` of requests at the rate, answered before the clock starts: a class's
    // generator and broker have long been running. On a fresh topic Kafka acknowledges the
    // first few tenths of a second of writes up to 70 ms late (measured with confluent-kafka
    // alone), and a JVM started half a minute earlier is still compiling its hot paths.
    let (warm, requests_topic) = ((rate * warm_seconds) as usize, t("requests"));
    for i in 0..warm {
        if i % per_tick == 0 {
            ticker.tick().await;
        }
        let record = FutureRecord::to(&requests_topic).key("warm-up").payload(&values[i % values.len()]);
        // Its acknowledgement is not waited for: the answers below are.
        drop(producer.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    while answered(&metrics) < warm as u64 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        if i % per_tick == 0 {
            ticker.tick().await;
        }
        let key = format!("l{i}");
        let sent = Instant::now();
        let delivery = producer
            .send_result(FutureRecord::to(&t("requests")).key(&key).payload(&values[i % values.len()]))
            .map_err(|(e, _)| e)
            .unwrap();
        // How long the broker takes to acknowledge a request: the part of the latency below
        // that is the producer's and the broker's, not the service's.
        pending.push(tokio::spawn(async move {
            delivery.await.unwrap().unwrap();
            sent.elapsed().as_secs_f64() * 1e3
        }));
    }
    let mut acks: Vec<f64> = join_all(pending).await.into_iter().map(Result::unwrap).collect();
    acks.sort_by(f64::total_cmp);
    let ack = (acks[acks.len() / 2], acks[(acks.len() - 1) * 99 / 100]);
    while answered(&metrics) < (n + warm) as u64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.trigger();
    handle.join().unwrap();
    let mut received = tokio::task::spawn_blocking(move || receiver.join().unwrap()).await.unwrap();
    received.sort_by(f64::total_cmp);

    let consumer: BaseConsumer =
        kafka.client().set("group.id", "bench-latency-reader").set("auto.offset.reset", "earliest").create().unwrap();
    consumer.subscribe(&[&t("predictions")]).unwrap();
    let mut lat = Vec::with_capacity(n);
    let deadline = Instant::now() + Duration::from_secs(60);
    while lat.len() < n && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100))
            && m.key() != Some(b"warm-up")
        {
            let v: PredictionValue = serde_json::from_slice(m.payload().unwrap()).unwrap();
            lat.push((v.predicted_at_ms - v.request.timestamp_ms.unwrap()) as f64);
        }
    }
    lat.sort_by(f64::total_cmp);
    let q = |v: &[f64], p: f64| v.get(((v.len().max(1) - 1) as f64 * p) as usize).copied().unwrap_or(f64::NAN);
    Latency {
        stamped: (q(&lat, 0.5), q(&lat, 0.99)),
        max: lat.last().copied().unwrap_or(f64::NAN),
        measured: lat.len(),
        received: (q(&received, 0.5), q(&received, 0.99)),
        received_count: received.len(),
        ack,
        warm_seconds,
    }
}

/// Where one request's time goes on the worker, without Kafka: per-row cost of each stage of
/// `answer` over batches of `max_batch`, and of handing an output to librdkafka.
fn worker_profile(kafka: &KafkaConfig, n: usize) -> Vec<(&'static str, f64)> {
    use rdkafka::message::{OwnedHeaders, OwnedMessage, Timestamp};
    use streamlab::inference::answer::{answer, read_request};
    let model = Artifact::shipped().unwrap();
    let version = model.version();
    let config = InferenceConfig::default();
    let metrics = InferenceMetrics::default();
    let messages: Vec<OwnedMessage> = requests(n)
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let key = format!("k{i}").into_bytes();
            OwnedMessage::new(
                Some(v),
                Some(key),
                config.requests.clone(),
                Timestamp::CreateTime(1),
                (i % 3) as i32,
                i as i64,
                None::<OwnedHeaders>,
            )
        })
        .collect();
    let batches: Vec<&[OwnedMessage]> = messages.chunks(config.max_batch).collect();
    let per_row = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / n as f64;

    let t = Instant::now();
    let features: Vec<_> = messages.iter().map(|m| read_request(m.payload()).unwrap()).collect();
    let read = per_row(t);

    let rows: Vec<ndarray::Array2<f64>> = features
        .chunks(config.max_batch)
        .map(|c| ndarray::Array2::from_shape_fn((c.len(), 8), |(i, j)| c[i].0[j]))
        .collect();
    let t = Instant::now();
    let mut poisonous = 0.0;
    for r in &rows {
        poisonous += model.forest.predict_proba(r).sum();
    }
    let predict = per_row(t);
    std::hint::black_box(poisonous);

    let t = Instant::now();
    let outputs: Vec<_> = batches.iter().flat_map(|b| answer(b, &model, &version, &metrics)).collect();
    let whole = per_row(t);

    let t = Instant::now();
    let copies: Vec<OwnedHeaders> = outputs.iter().map(|o| o.headers.clone()).collect();
    let headers = per_row(t);
    drop(copies);

    let producer: ThreadedProducer<rdkafka::producer::DefaultProducerContext> =
        kafka.client().set("linger.ms", "5").set("queue.buffering.max.messages", "1000000").create().unwrap();
    let t = Instant::now();
    for (m, o) in messages.iter().zip(&outputs) {
        let mut record = BaseRecord::to("bench_profile").payload(o.payload.as_slice()).headers(o.headers.clone());
        if let Some(k) = m.key() {
            record = record.key(k);
        }
        producer.send(record).map_err(|(e, _)| e).unwrap();
    }
    let send = per_row(t) - headers;
    producer.flush(Duration::from_secs(30)).unwrap();

    vec![
        ("read: size, UTF-8, JSON parse, validation", read),
        ("predict: the forest, batches of 500", predict),
        ("outputs: prediction JSON, headers", whole - read - predict),
        ("answer() as a whole (the three above)", whole),
        ("copy of the headers for the producer", headers),
        ("producer.send into librdkafka's queue", send),
    ]
}

/// Every pipeline drains the backlog on `bench_requests` `rounds` times, in turn (a, e, b, then
/// again), each time as a new group writing to its own topic: a pass-through drains it in a
/// few tenths of a second, so one run is at the mercy of whatever else the machine does.
/// `peers` (the data set) adds the Python peers; `exactly_once` adds (b) in transactions.
async fn drain_rounds(
    kafka: &KafkaConfig,
    n: usize,
    rounds: usize,
    peers: Option<&std::path::Path>,
    exactly_once: bool,
    broker: Option<u32>,
) -> Runs {
    let mut runs = Runs::new();
    for round in 0..rounds {
        let out = |base: &str| format!("{base}_{round}");
        let created: Vec<String> = [
            "bench_passthrough",
            "bench_py_passthrough",
            "bench_predictions",
            "bench_predictions_leaf",
            "bench_predictions_eos",
            "bench_batched",
        ]
        .map(out)
        .into();
        ensure_topics(kafka, &created.iter().map(String::as_str).collect::<Vec<_>>(), 3).await.unwrap();
        eprintln!("round {} of {rounds}: (a) rdkafka pass-through ...", round + 1);
        let (k, to) = (kafka.clone(), out("bench_passthrough"));
        let busy = Clocks::read(broker);
        let a = tokio::task::spawn_blocking(move || passthrough(&k, "bench_requests", &to, n)).await.unwrap();
        runs.entry(A).or_default().push(Run::new(n, a, busy));
        eprintln!("round {} of {rounds}: (e) Python pass-through ...", round + 1);
        let busy = Clocks::read(broker);
        if let Some((count, secs)) =
            python_peer("peer_passthrough.py", kafka, "bench_requests", &out("bench_py_passthrough"), None, n)
        {
            runs.entry(E).or_default().push(Run::new(count, Duration::from_secs_f64(secs), busy));
        }
        eprintln!("round {} of {rounds}: (b) streamlab infer ...", round + 1);
        let config = drain_config(out("bench_predictions"), format!("bench-infer-{round}"));
        let k = kafka.clone();
        let busy = Clocks::read(broker);
        let b = tokio::task::spawn_blocking(move || drain_with_service(&k, config, Artifact::shipped().unwrap(), n))
            .await
            .unwrap();
        runs.entry(B).or_default().push(Run::new(n, b, busy));
        if exactly_once {
            eprintln!("round {} of {rounds}: (b) streamlab infer --exactly-once ...", round + 1);
            let config = InferenceConfig {
                exactly_once: true,
                transactional_id: Some(format!("bench-eos-{round}")),
                ..drain_config(out("bench_predictions_eos"), format!("bench-infer-eos-{round}"))
            };
            let k = kafka.clone();
            let busy = Clocks::read(broker);
            let b =
                tokio::task::spawn_blocking(move || drain_with_service(&k, config, Artifact::shipped().unwrap(), n))
                    .await
                    .unwrap();
            runs.entry(BE).or_default().push(Run::new(n, b, busy));
        }
        let Some(csv) = peers else { continue };
        eprintln!("round {} of {rounds}: (b0) streamlab infer with a one-leaf model ...", round + 1);
        let config = drain_config(out("bench_predictions_leaf"), format!("bench-infer-leaf-{round}"));
        let k = kafka.clone();
        let busy = Clocks::read(broker);
        let b0 =
            tokio::task::spawn_blocking(move || drain_with_service(&k, config, one_leaf_model(), n)).await.unwrap();
        runs.entry(B0).or_default().push(Run::new(n, b0, busy));
        eprintln!("round {} of {rounds}: (d) batched Python peer ...", round + 1);
        let busy = Clocks::read(broker);
        if let Some((count, secs)) =
            python_peer("peer_batched.py", kafka, "bench_requests", &out("bench_batched"), Some(csv), n)
        {
            runs.entry(D).or_default().push(Run::new(count, Duration::from_secs_f64(secs), busy));
        }
    }
    if let Some(csv) = peers {
        eprintln!("(c) naive Python peer (2,000 requests, once) ...");
        let busy = Clocks::read(broker);
        if let Some((count, secs)) =
            python_peer("peer_naive.py", kafka, "bench_requests", "bench_naive", Some(csv), n.min(2_000))
        {
            runs.entry(C).or_default().push(Run::new(count, Duration::from_secs_f64(secs), busy));
        }
    }
    runs
}

/// One drain of one pipeline.
struct Run {
    count: usize,
    secs: f64,
    /// The whole machine's busy CPU time over the drain (the broker's too) per request, in
    /// µs: what a request costs, which on two cores sets the pace more than any one thread.
    cpu_us: f64,
    /// Of it, the broker's process (NaN for the embedded broker, which is the bench's own).
    broker_us: f64,
}

/// The CPU clocks a drain is measured by, read before it starts.
#[derive(Clone, Copy)]
struct Clocks {
    machine: f64,
    broker: Option<(u32, f64)>,
}

impl Clocks {
    fn read(broker: Option<u32>) -> Clocks {
        Clocks { machine: machine_busy_seconds(), broker: broker.map(|pid| (pid, cpu_seconds(pid))) }
    }
}

impl Run {
    fn new(count: usize, took: Duration, since: Clocks) -> Run {
        let per_request = |seconds: f64| seconds * 1e6 / count as f64;
        Run {
            count,
            secs: took.as_secs_f64(),
            cpu_us: per_request(machine_busy_seconds() - since.machine),
            broker_us: since.broker.map_or(f64::NAN, |(pid, before)| per_request(cpu_seconds(pid) - before)),
        }
    }

    fn rate(&self) -> f64 {
        self.count as f64 / self.secs
    }
}

type Runs = BTreeMap<&'static str, Vec<Run>>;

/// A pipeline's figures over its runs (medians, and the range of its rate).
struct Rates {
    name: &'static str,
    median: f64,
    low: f64,
    high: f64,
    cpu_us: f64,
    broker_us: f64,
}

fn rates(runs: &Runs) -> Vec<Rates> {
    runs.iter()
        .map(|(name, runs)| {
            let mut r: Vec<f64> = runs.iter().map(Run::rate).collect();
            r.sort_by(f64::total_cmp);
            Rates {
                name,
                median: r[r.len() / 2],
                low: r[0],
                high: r[r.len() - 1],
                cpu_us: median_of(runs.iter().map(|r| r.cpu_us).collect()),
                broker_us: median_of(runs.iter().map(|r| r.broker_us).collect()),
            }
        })
        .collect()
}

fn find<'a>(rates: &'a [Rates], name: &str) -> Option<&'a Rates> {
    rates.iter().find(|r| r.name == name)
}

/// `of`'s rate as a share of `to`'s, round by round, in per cent. A round's pipelines run
/// back to back, so their ratio moves less with the rest of the machine than their medians.
fn round_ratios(runs: &Runs, of: &str, to: &str) -> Vec<f64> {
    match (runs.get(of), runs.get(to)) {
        (Some(of), Some(to)) => of.iter().zip(to).map(|(x, y)| 100.0 * x.rate() / y.rate()).collect(),
        _ => Vec::new(),
    }
}

fn median_of(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percents(v: &[f64]) -> String {
    v.iter().map(|r| format!("{r:.0} %")).collect::<Vec<_>>().join(", ")
}

fn print_drain(broker: &str, n: usize, rounds: usize, rates: &[Rates]) {
    let rb = find(rates, B).map_or(f64::NAN, |r| r.median);
    println!(
        "\nbacklog drain on {broker}, {n} requests, this machine ({} cores), median of {rounds} rounds; CPU time of the whole machine per request, and of it the broker's process\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<44} {:>12} {:>22} {:>10} {:>14} {:>10}",
        "pipeline", "msg/s", "range", "(b) is ×", "CPU µs/req", "broker"
    );
    for r in rates {
        println!(
            "{:<44} {:>12.0} {:>22} {:>10.2} {:>14.2} {:>10.2}",
            r.name,
            r.median,
            format!("{:.0}–{:.0}", r.low, r.high),
            rb / r.median,
            r.cpu_us,
            r.broker_us
        );
    }
}

fn print_latency(broker: &str, rows: &[(u64, Latency)]) {
    for (rate, l) in rows {
        println!(
            "(b) on {broker}, request → prediction at {rate} requests/s ({} requests, after {} s of warm-up): stamped by the service p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; received by a subscriber of librdkafka's defaults p50 {:.0} ms, p99 {:.0} ms ({} received); the requests' own acknowledgement p50 {:.0} ms, p99 {:.0} ms",
            l.measured,
            l.warm_seconds,
            l.stamped.0,
            l.stamped.1,
            l.max,
            l.received.0,
            l.received.1,
            l.received_count,
            l.ack.0,
            l.ack.1
        );
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .iter()
        .position(|a| a == "--requests")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(ROUNDS)
        .max(1);
    let peers = !args.iter().any(|a| a == "--no-peers");
    let with_kafka = !args.iter().any(|a| a == "--no-kafka");
    // Only the worker's profile and the Kafka rows: the embedded broker's drains and latency
    // take most of a long run, and the Kafka goals are ratios within Kafka's own rows.
    let with_embedded = !args.iter().any(|a| a == "--no-embedded");
    let csv = std::env::var_os("STREAMLAB_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mushroom_cleaned.csv"));

    let engine = match args.iter().position(|a| a == "--broker-engine").and_then(|i| args.get(i + 1)) {
        Some(e) if e == "nisshi" => Engine::Nisshi,
        _ => Engine::Logs,
    };
    eprintln!("the embedded broker keeps its records with {engine:?}");
    let broker =
        EmbeddedBroker::start_with("127.0.0.1:0".parse().unwrap(), None, Storage::Memory, engine).await.unwrap();
    let kafka = KafkaConfig::new(broker.bootstrap());
    wait_ready(&kafka, Duration::from_secs(30)).unwrap();
    let topics = ["bench_requests", "bench_dead", "bench_naive", "bench_batched", "bench_floor", "bench_profile"];
    ensure_topics(&kafka, &topics, 3).await.unwrap();
    eprintln!("profile of the worker's stages ...");
    let k = kafka.clone();
    // Its outputs all wait in one producer's queue (a million at most).
    let profiled = n.min(500_000);
    let profile = tokio::task::spawn_blocking(move || worker_profile(&k, profiled)).await.unwrap();

    let python_ok = std::process::Command::new("python3")
        .args(["-c", "import sklearn, pandas, kafka, confluent_kafka"])
        .status()
        .is_ok_and(|s| s.success());
    let with_peers = peers && python_ok && csv.exists();
    if peers && !with_peers {
        eprintln!(
            "Python peers skipped: need python3 with scikit-learn, pandas, kafka-python, confluent-kafka and the data set"
        );
    }
    let embedded_rows = if with_embedded {
        eprintln!("producing a backlog of {n} requests on the embedded broker ...");
        produce(&kafka, "bench_requests", &requests(n)).await;
        let runs = drain_rounds(&kafka, n, rounds, with_peers.then_some(csv.as_path()), false, None).await;
        eprintln!("latency floor: 500 single-record round trips ...");
        let k = kafka.clone();
        let floors = tokio::task::spawn_blocking(move || {
            (latency_floor(&k, "bench_floor", 500, Some(10)), latency_floor(&k, "bench_floor", 100, None))
        })
        .await
        .unwrap();
        eprintln!("latency at 1,000 requests/s for 10 s ...");
        let latency =
            vec![(1000, latency_at(&kafka, 1000, 10, 1).await), (10_000, latency_at(&kafka, 10_000, 5, 1).await)];
        Some((runs, floors, latency))
    } else {
        None
    };
    drop(broker);

    // The same on one Apache Kafka node, in the same run (./lab kafka start).
    let on_kafka = if with_kafka { KafkaNode::start() } else { None };
    let kafka_rows = match &on_kafka {
        Some(node) => {
            let kafka = KafkaConfig::new(node.bootstrap.clone());
            ensure_topics(&kafka, &["bench_requests", "bench_dead", "bench_floor"], 3).await.unwrap();
            eprintln!("producing a backlog of {n} requests on Kafka ...");
            produce(&kafka, "bench_requests", &requests(n)).await;
            let runs = drain_rounds(&kafka, n, rounds, None, true, node.pid()).await;
            let k = kafka.clone();
            let floor = tokio::task::spawn_blocking(move || latency_floor(&k, "bench_floor", 100, None)).await.unwrap();
            eprintln!("latency on Kafka at 1,000 and 10,000 requests/s ...");
            // The node is some 30 s old here and its JVM still compiling (C2 at half a core,
            // measured): acknowledgements' p99 at 1,000/s was 0.27-0.88 s after a second of
            // warm-up. A class's broker has run for hours, so the first row warms it for 30 s.
            let latency = vec![
                (1000, latency_at(&kafka, 1000, 10, KAFKA_WARM_SECONDS).await),
                (10_000, latency_at(&kafka, 10_000, 5, 1).await),
            ];
            Some((runs, floor, latency))
        }
        None => None,
    };
    drop(on_kafka);

    println!("\nthe worker's share, per request, one core, {profiled} requests\n");
    println!("{:<44} {:>9} {:>12}", "stage", "µs", "rows/s");
    for (stage, us) in &profile {
        println!("{stage:<44} {us:>9.2} {:>12.0}", 1e6 / us);
    }
    let median = |rates: &[Rates], name: &str| find(rates, name).map_or(f64::NAN, |r| r.median);
    if let Some((runs, _, _)) = &embedded_rows {
        let embedded = rates(runs);
        print_drain("the embedded broker", n, rounds, &embedded);
        let (ra, rb, rb0) = (median(&embedded, A), median(&embedded, B), median(&embedded, B0));
        println!(
            "\n(b) reaches {:.0} % of the ceiling (a); without the forest (b0), {:.0} %",
            100.0 * rb / ra,
            100.0 * rb0 / ra
        );
        println!("(a) is {:.2} × the Python pass-through (e)", ra / median(&embedded, E));
    }
    if let Some((runs, kafka_floor, latency)) = &kafka_rows {
        let rates = rates(runs);
        print_drain("one Apache Kafka 4.4 node", n, rounds, &rates);
        let (ka, kb, ke) = (median(&rates, A), median(&rates, B), median(&rates, BE));
        println!(
            "\non Kafka, (b) at least once reaches {:.0} % of the ceiling (a) (goal ≥ 50 %), --exactly-once {:.0} % (goal ≥ 25 %)",
            100.0 * kb / ka,
            100.0 * ke / ka
        );
        let (at_least, exactly) = (round_ratios(runs, B, A), round_ratios(runs, BE, A));
        println!(
            "round by round, (b) at least once / (a): {} (median {:.0} %); --exactly-once / (a): {} (median {:.0} %); (b) / (e): {}",
            percents(&at_least),
            median_of(at_least.clone()),
            percents(&exactly),
            median_of(exactly.clone()),
            percents(&round_ratios(runs, B, E)),
        );
        // What the machine allows at best: (b) does what (a) does and answers too, and
        // answer() alone costs `whole` µs a request on one core.
        let cpu = |name: &str| find(&rates, name).map_or(f64::NAN, |r| r.cpu_us);
        let broker = |name: &str| find(&rates, name).map_or(f64::NAN, |r| r.broker_us);
        let whole = profile.iter().find(|p| p.0.starts_with("answer()")).map_or(f64::NAN, |p| p.1);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let bound = cores * 1e6 / (cpu(A) + whole);
        println!(
            "CPU per request: (a) {:.2} µs (the broker {:.2}), (b) {:.2} µs (the broker {:.2}); (a)'s plus answer()'s {whole:.2} µs on {cores} cores allow at most {bound:.0} msg/s, {:.0} % of (a)",
            cpu(A),
            broker(A),
            cpu(B),
            broker(B),
            100.0 * bound / ka
        );
        println!(
            "\nlatency floor on Kafka, produce → consume of one record, librdkafka default: p50 {:.1} ms, p99 {:.1} ms",
            kafka_floor.0, kafka_floor.1
        );
        print_latency("Kafka", latency);
    } else {
        println!("\n(no Kafka rows: --no-kafka, or ./lab kafka start could not start a node)");
    }
    if let Some((_, (floor, floor_default), latency)) = &embedded_rows {
        println!(
            "\nlatency floor on the embedded broker, produce → consume of one record: fetch.wait.max.ms=10: p50 {:.1} ms, p99 {:.1} ms; librdkafka default: p50 {:.1} ms, p99 {:.1} ms",
            floor.0, floor.1, floor_default.0, floor_default.1
        );
        print_latency("the embedded broker", latency);
    }
}
