//! The embedded broker's storage engine as users depend on it: an acknowledged record
//! survives `kill -9` with `--data-dir`, a producer's pipelined writes are answered in order,
//! retention keeps a long class within its limits, an old data directory is refused with what
//! to do, and the lab shows what it holds.

use crate::support::free_port;
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use streamlab::kafka::KafkaConfig;
use streamlab_wire::ServerMessage;

/// Every acknowledged record: partition, offset, key.
#[derive(Clone, Default)]
struct Acks(Arc<Mutex<Vec<(i32, i64, String)>>>);

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Ok(m) = result {
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            self.0.lock().unwrap().push((m.partition(), m.offset(), key));
        }
    }
}

/// A running `streamlab`, killed (and reaped) when dropped.
struct Running(Child);

impl Running {
    /// `kill -9`: no chance to flush or sync anything.
    fn kill_9(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `streamlab` with `args`, once its broker answers.
fn spawn_streamlab(args: &[&str], broker: &str) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .env_remove("KAFKA_BROKERS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let running = Running(child);
    streamlab::kafka::metadata::wait_ready(&KafkaConfig::new(broker), Duration::from_secs(60))
        .expect("the broker answers");
    running
}

async fn create_topic(kafka: &KafkaConfig, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let admin: AdminClient<DefaultClientContext> = kafka.client().create().unwrap();
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let created = admin.create_topics([&topic], &AdminOptions::new()).await.unwrap();
    assert!(created.iter().all(Result::is_ok), "{created:?}");
}

/// The low and high watermarks of each partition.
fn watermarks(kafka: &KafkaConfig, topic: &str, partitions: i32) -> Vec<(i64, i64)> {
    let c: BaseConsumer = kafka.client().create().unwrap();
    (0..partitions).map(|p| c.fetch_watermarks(topic, p, Duration::from_secs(10)).unwrap()).collect()
}

/// Sends one record, waiting while the producer's queue is full.
fn send_one<C: ProducerContext<DeliveryOpaque = ()>>(
    producer: &ThreadedProducer<C>,
    topic: &str,
    key: &str,
    value: &str,
) {
    let mut record = BaseRecord::to(topic).key(key).payload(value);
    while let Err((_, back)) = producer.send(record) {
        record = back;
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn read_all(kafka: &KafkaConfig, topic: &str, n: usize) -> Vec<OwnedMessage> {
    crate::support::read_from_start(kafka, topic, n)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_record_survives_kill_9_and_the_logs_reopen() {
    let dir = std::env::temp_dir().join(format!("streamlab-kill9-{}", uuid::Uuid::new_v4()));
    let broker = format!("127.0.0.1:{}", free_port());
    let args = ["--broker-addr", &broker, "--web-addr", "127.0.0.1:0", "--data-dir", dir.to_str().unwrap()];
    let kafka = KafkaConfig::new(broker.clone());
    let mut lab = spawn_streamlab(&args, &broker);
    create_topic(&kafka, "durable", 4, &[]).await;

    // A default producer (acks=all), one record per batch, killed with the broker mid-stream.
    let acks = Acks::default();
    let producer: ThreadedProducer<Acks> = kafka
        .client()
        .set("linger.ms", "0")
        .set("message.timeout.ms", "5000")
        .create_with_context(acks.clone())
        .unwrap();
    // Sends go on until 5,000 are acknowledged, however slowly the disk syncs (CI runs other
    // suites beside this one), with a few thousand always in flight so the kill lands mid-stream.
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut killed_after = None;
    let mut i = 0u64;
    while Instant::now() < deadline {
        if producer.in_flight_count() < 3_000 {
            send_one(&producer, "durable", &format!("k{i}"), &format!("record {i}"));
            i += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if acks.0.lock().unwrap().len() >= 5_000 {
            lab.kill_9();
            killed_after = Some(i);
            break;
        }
    }
    let acknowledged = acks.0.lock().unwrap().len();
    assert!(
        killed_after.is_some(),
        "5,000 acknowledgements never came in 3 minutes: {i} sent, {acknowledged} acknowledged"
    );
    // What was in flight fails after message.timeout.ms; nothing more is acknowledged.
    let _ = producer.flush(Duration::from_secs(10));
    drop(producer);
    let acked = acks.0.lock().unwrap().clone();
    assert!(acked.len() >= 5_000);

    let again = spawn_streamlab(&args, &broker);
    let highs: i64 = watermarks(&kafka, "durable", 4).iter().map(|(_, h)| h).sum();
    let stored = read_all(&kafka, "durable", highs as usize);
    let by_place: HashMap<(i32, i64), String> = stored
        .iter()
        .map(|m| ((m.partition(), m.offset()), String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned()))
        .collect();
    let lost: Vec<_> = acked.iter().filter(|(p, o, k)| by_place.get(&(*p, *o)) != Some(k)).take(5).collect();
    assert!(lost.is_empty(), "{} acknowledged, lost or moved after kill -9: {lost:?}", acked.len());
    // The log goes on where it stopped: a new record lands after the recovered ones.
    let producer: rdkafka::producer::FutureProducer = kafka.client().create().unwrap();
    let recovered_high = watermarks(&kafka, "durable", 1)[0].1;
    let after = producer
        .send(
            rdkafka::producer::FutureRecord::to("durable").key("after").payload("x").partition(0),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!((after.partition, after.offset), (0, recovered_high));
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}

/// With `--data-dir` the broker answers a produce only once its records are synced, but reads
/// and appends a connection's next requests meanwhile. What producers rely on still holds: the
/// answers come in the order of the requests (an idempotent librdkafka producer stops with a
/// fatal error otherwise, and each record's offset follows the order it was sent in), kafka-python
/// with its defaults gets its offsets in order, and `acks=0` requests stay unanswered without
/// upsetting the connection (it still answers the producer's next request).
#[tokio::test(flavor = "multi_thread")]
async fn with_data_dir_a_producers_pipelined_writes_are_answered_in_order() {
    let dir = std::env::temp_dir().join(format!("streamlab-pipelined-{}", uuid::Uuid::new_v4()));
    let broker = format!("127.0.0.1:{}", free_port());
    let args = ["--broker-addr", &broker, "--web-addr", "127.0.0.1:0", "--data-dir", dir.to_str().unwrap()];
    let kafka = KafkaConfig::new(broker.clone());
    let _lab = spawn_streamlab(&args, &broker);
    create_topic(&kafka, "ordered", 1, &[]).await;

    // Five one-record requests in flight at a time, each answered after its sync.
    let acks = Acks::default();
    let producer: ThreadedProducer<Acks> = kafka
        .client()
        .set("enable.idempotence", "true")
        .set("linger.ms", "0")
        .set("batch.num.messages", "1")
        .create_with_context(acks.clone())
        .unwrap();
    for i in 0..3_000 {
        send_one(&producer, "ordered", &format!("k{i}"), "in order");
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    assert_eq!(producer.client().fatal_error(), None);
    // Each record at the offset of its place in the sending order. (The delivery callbacks
    // themselves may come in another order: flush polls beside the producer's own thread.)
    let acked = acks.0.lock().unwrap().clone();
    assert_eq!(acked.len(), 3_000);
    let misplaced: Vec<_> = acked.iter().filter(|(_, o, k)| *k != format!("k{o}")).take(5).collect();
    assert!(misplaced.is_empty(), "records out of their sending order: {misplaced:?}");

    // acks=0: no answer at all, and the connection goes on answering what asks for one.
    let fire: ThreadedProducer<rdkafka::producer::DefaultProducerContext> =
        kafka.client().set("acks", "0").set("linger.ms", "0").set("batch.num.messages", "1").create().unwrap();
    for i in 0..500 {
        send_one(&fire, "ordered", &format!("z{i}"), "unanswered");
    }
    fire.flush(Duration::from_secs(30)).unwrap();
    let md = fire.client().fetch_metadata(Some("ordered"), Duration::from_secs(10)).unwrap();
    assert_eq!(md.topics()[0].partitions().len(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while watermarks(&kafka, "ordered", 1)[0].1 < 3_500 {
        assert!(Instant::now() < deadline, "acks=0 records missing: {:?}", watermarks(&kafka, "ordered", 1));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // kafka-python as a student's script uses it: defaults, futures waited for at the end.
    let script = r#"
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1])
futures = [p.send("ordered", key=b"p%d" % i, value=b"from python") for i in range(2000)]
p.flush()
offsets = [f.get(timeout=30).offset for f in futures]
print("in order" if offsets == list(range(offsets[0], offsets[0] + 2000)) else "out of order: %r" % offsets[:20])
"#;
    let out =
        tokio::process::Command::new("timeout").args(["60", "python3", "-c", script, &broker]).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("in order"), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(watermarks(&kafka, "ordered", 1)[0].1, 5_500);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_by_size_and_by_age_moves_the_start_of_the_log() {
    let broker = crate::support::start_broker().await;
    let kafka = broker.kafka.clone();
    // Small segments so retention, which drops whole segments as Kafka's does, has some to drop.
    create_topic(&kafka, "sized", 1, &[("segment.bytes", "10000"), ("retention.bytes", "50000")]).await;
    create_topic(&kafka, "aged", 1, &[("segment.bytes", "10000"), ("retention.ms", "3600000")]).await;
    let producer: rdkafka::producer::FutureProducer = kafka.client().set("linger.ms", "0").create().unwrap();
    let two_hours_ago = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64 - 2 * 3600 * 1000;
    let value = "v".repeat(300);
    for i in 0..1000 {
        let sized = rdkafka::producer::FutureRecord::<str, str>::to("sized").payload(&value);
        producer.send(sized, Duration::from_secs(10)).await.unwrap();
        // Written two hours ago: past the topic's hour.
        let aged = rdkafka::producer::FutureRecord::<str, str>::to("aged").payload(&value).timestamp(two_hours_ago + i);
        producer.send(aged, Duration::from_secs(10)).await.unwrap();
    }
    let now = rdkafka::producer::FutureRecord::<str, str>::to("aged").payload("fresh");
    producer.send(now, Duration::from_secs(10)).await.unwrap();

    // Retention runs every few seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (sized, aged) = loop {
        let (sized, aged) = (watermarks(&kafka, "sized", 1)[0], watermarks(&kafka, "aged", 1)[0]);
        if sized.0 > 0 && aged.0 > 0 {
            break (sized, aged);
        }
        assert!(Instant::now() < deadline, "retention did not run: sized {sized:?}, aged {aged:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(sized.1, 1000, "retention drops old records, never the end of the log");
    // 50,000 bytes kept of some 360,000: the start moved most of the way, in whole segments.
    assert!(sized.0 > 700 && sized.0 < 1000, "sized log starts at {}", sized.0);
    // Only the newest segment is left of the old records, and the fresh one.
    assert!(aged.0 > 900 && aged.1 == 1001, "aged log: {aged:?}");
    let first = read_all(&kafka, "sized", 1);
    assert_eq!(first[0].offset(), sized.0, "a reader from the beginning starts where the log now starts");
}

#[test]
fn a_data_dir_from_the_old_engine_is_refused_with_what_to_do() {
    let dir = std::env::temp_dir().join(format!("streamlab-old-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lab.db"), b"SQLite format 3\0").unwrap();
    let broker = format!("127.0.0.1:{}", free_port());
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["--broker-addr", &broker, "--web-addr", "127.0.0.1:0", "--data-dir", dir.to_str().unwrap()])
        .env_remove("KAFKA_BROKERS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("lab.db") && stderr.contains("new --data-dir"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lab_shows_what_its_broker_holds_and_keeps() {
    let (addr, _stop) = crate::support::serve_lab(false).await;
    let mut ws = crate::support::connect(addr).await;
    let brokers = match crate::support::next_message(&mut ws).await {
        ServerMessage::Hello { brokers, .. } => brokers,
        other => panic!("{other:?}"),
    };
    let kafka = KafkaConfig::new(brokers);
    create_topic(&kafka, "held", 1, &[]).await;
    let producer: rdkafka::producer::FutureProducer = kafka.client().create().unwrap();
    for i in 0..50 {
        let value = format!("value {i}");
        let record = rdkafka::producer::FutureRecord::<str, str>::to("held").payload(&value);
        producer.send(record, Duration::from_secs(10)).await.unwrap();
    }
    let storage = crate::support::next_matching(&mut ws, |m| match m {
        ServerMessage::Storage { storage } if storage.records >= 50 => Some(storage),
        _ => None,
    })
    .await;
    assert!(!storage.on_disk && storage.bytes > 50 * 10, "{storage:?}");
    assert!(
        storage.kept.contains("lab's topics 1 day, at most 128 MiB") && storage.kept.contains("others 7 days"),
        "{storage:?}"
    );
    let metrics = reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await.unwrap();
    let records = metrics
        .lines()
        .find_map(|l| l.strip_prefix("streamlab_broker_stored_records "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert!(records.is_some_and(|r| r >= 50.0), "{metrics}");
}
