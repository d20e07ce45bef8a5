//! `./lab kafka start|stop`: Apache Kafka assembled from Maven Central, run as a teacher runs
//! it, and each of its bad inputs with its message. Real JVMs: the suite takes its heavy turn.

use crate::support::{heavy, in_ci, require};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use streamlab::kafka::KafkaConfig;

fn java_here() -> bool {
    let found = Command::new("java").arg("-version").output().is_ok_and(|o| o.status.success());
    // In CI `./lab kafka start` installs Java itself.
    require(found || in_ci(), "Java (for Apache Kafka)")
}

/// `./lab kafka ARGS` from the repository's root.
fn lab_kafka(args: &[&str]) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Command::new(root.join("lab")).arg("kafka").args(args).current_dir(root).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A base port P with P and P+100 (a node's broker and controller) free.
fn free_base() -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p < 65000 && std::net::TcpListener::bind(("127.0.0.1", p + 100)).is_ok() {
            return p;
        }
    }
}

/// A cluster directory, stopped and removed when the test ends (whatever it asserted).
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        Dir(std::env::temp_dir().join(format!("streamlab-kafka-{}", uuid::Uuid::new_v4())))
    }
    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
    /// Processes started from this directory that still run.
    fn running(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.0) else { return Vec::new() };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".pid"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|pid| pid.trim().to_owned())
            .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
            .collect()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = lab_kafka(&["stop", "--dir", self.arg()]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_starts_serves_clients_and_stops() {
    if !java_here() {
        return;
    }
    let _turn = heavy("kafka");
    let (dir, port) = (Dir::new(), free_base());
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
        .args(["kafka", "start", "--dir", dir.arg(), "--port", &free_base().to_string()])
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
        .args(["kafka", "start", "--dir", dir.arg(), "--port", &free_base().to_string()])
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
