//! `./lab kafka start|stop`: Apache Kafka assembled from Maven Central, run as a teacher runs
//! it, and each of its bad inputs with its message. Real JVMs: the suite takes its heavy turn.

use crate::support::heavy;
use crate::support::kafka::{Dir, free_base, java_here, lab_kafka, text};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use streamlab::kafka::KafkaConfig;

#[tokio::test(flavor = "multi_thread")]
async fn kafka_starts_serves_clients_and_stops() {
    if !java_here() {
        return;
    }
    let _turn = heavy("kafka");
    let (dir, port) = (Dir::new(), free_base(1));
    let started = lab_kafka(&["start", "--dir", dir.arg(), "--port", &port.to_string()]);
    let out = text(&started);
    assert!(started.status.success(), "{out}");
    // The last line is what a script evaluates.
    let last = String::from_utf8_lossy(&started.stdout).lines().last().unwrap_or_default().to_owned();
    assert_eq!(last, format!("KAFKA_BROKERS=127.0.0.1:{port}"), "{out}");

    // Ready means in the metadata: a client sees the broker and writes and reads at once.
    let kafka = KafkaConfig::new(format!("127.0.0.1:{port}"));
    let consumer: BaseConsumer = kafka.client().set("group.id", "kafka-suite").create().unwrap();
    let md = consumer.fetch_metadata(None, Duration::from_secs(10)).unwrap();
    assert_eq!(md.brokers().len(), 1);
    let producer: FutureProducer = kafka.client().create().unwrap();
    let delivered =
        producer.send(FutureRecord::to("hello").key("k").payload("v"), Duration::from_secs(30)).await.unwrap();
    assert_eq!(
        (delivered.partition, delivered.offset),
        (0, 0),
        "a topic created on first write, one partition (num.partitions=1)"
    );
    let read = crate::support::read_from_start(&kafka, "hello", 1);
    assert_eq!(read.len(), 1);
    for f in ["node-1/server.log", "node-1/server.properties", "node-1.pid", "cluster.id"] {
        assert!(dir.0.join(f).exists(), "{f} in the cluster's directory");
    }

    // A second start of the same directory is refused while it runs.
    let again = lab_kafka(&["start", "--dir", dir.arg(), "--port", &port.to_string()]);
    assert!(!again.status.success());
    assert!(text(&again).contains("already running"), "{}", text(&again));
    // A node the cluster does not have, or one not running, cannot be taken away.
    let no_node = lab_kafka(&["stop", "--dir", dir.arg(), "--node", "2"]);
    assert!(!no_node.status.success());
    assert!(text(&no_node).contains("node 2 of") && text(&no_node).contains("is not running"), "{}", text(&no_node));

    let stopped = lab_kafka(&["stop", "--dir", dir.arg()]);
    assert!(stopped.status.success(), "{}", text(&stopped));
    assert!(dir.running().is_empty(), "every node stopped");
    assert!(consumer.fetch_metadata(None, Duration::from_secs(2)).is_err(), "nothing answers on {port}");

    // Stopping what is not running says so.
    let nothing = lab_kafka(&["stop", "--dir", dir.arg()]);
    assert!(!nothing.status.success());
    assert!(text(&nothing).contains("no Kafka is running"), "{}", text(&nothing));
}

#[test]
fn a_taken_port_or_a_node_that_cannot_start_is_reported_and_nothing_is_left_running() {
    if !java_here() {
        return;
    }
    let _turn = heavy("kafka");
    // The broker's port taken by another program.
    let dir = Dir::new();
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let refused = lab_kafka(&["start", "--dir", dir.arg(), "--port", &port.to_string()]);
    assert!(!refused.status.success());
    let out = text(&refused);
    assert!(out.contains(&format!("port {port} already in use")) && out.contains("--port"), "{out}");
    assert!(dir.running().is_empty());

    // A node whose JVM cannot start (a heap too small for it): its log's last lines, and
    // nothing left running.
    let dir = Dir::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let failed = Command::new(root.join("lab"))
        .args(["kafka", "start", "--dir", dir.arg(), "--port", &free_base(1).to_string()])
        .env("KAFKA_HEAP_MB", "1")
        .current_dir(root)
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let out = text(&failed);
    assert!(out.contains("node 1 stopped while starting") && out.contains("server.log"), "{out}");
    assert!(out.to_lowercase().contains("heap"), "the JVM's own reason is shown: {out}");
    assert!(dir.running().is_empty());

    // No Java and no apt-get to install it: what to do, before anything starts. The PATH
    // holds every program of this machine except those three.
    let bin = std::env::temp_dir().join(format!("streamlab-nojava-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&bin).unwrap();
    for dir in ["/usr/local/bin", "/usr/bin", "/bin"] {
        for e in std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok) {
            let name = e.file_name();
            if !["java", "mvn", "apt-get"].contains(&name.to_str().unwrap_or_default()) {
                let _ = std::os::unix::fs::symlink(e.path(), bin.join(&name));
            }
        }
    }
    let dir = Dir::new();
    let no_java = Command::new(root.join("lab"))
        .args(["kafka", "start", "--dir", dir.arg(), "--port", &free_base(1).to_string()])
        .env("PATH", &bin)
        .current_dir(root)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&bin);
    assert!(!no_java.status.success());
    assert!(text(&no_java).contains("needs Java 17 or newer and Maven"), "{}", text(&no_java));
    assert!(dir.running().is_empty());

    // Flags checked before anything starts.
    let bad = lab_kafka(&["start", "--nodes", "zero"]);
    assert!(!bad.status.success() && text(&bad).contains("--nodes must be a number"), "{}", text(&bad));
}
