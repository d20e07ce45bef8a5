//! `./lab connect start|stop`: a Kafka Connect worker from Maven Central beside the lab's
//! embedded broker, a sink connector posted with `curl` as the course posts it (seed 003
//! exercise 7, a file standing in for HDFS), its consumer group and lag seen by the lab, and
//! each bad input with its message. A real JVM: the suite takes its heavy turn.

use crate::support::kafka::{Dir, java_here, lab, text};
use crate::support::{LabOptions, TestBroker, free_port, heavy, serve_lab_opts, start_kafka_broker};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use streamlab::kafka::KafkaConfig;
use streamlab::kafka::admin::ensure_topics;
use streamlab_wire::{ClusterInfo, GroupInfo};

fn lab_connect(args: &[&str]) -> Output {
    lab(&[&["connect"], args].concat())
}

/// `curl -s -w STATUS` as a student types it: the answer's JSON and its status.
fn curl(args: &[&str]) -> (u16, Value) {
    let out = Command::new("curl").args(["-s", "-w", "\n%{http_code}"]).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The worker's warnings and errors, for a failure's message.
fn worker_log(dir: &Dir) -> String {
    let log = std::fs::read_to_string(dir.0.join("worker.log")).unwrap_or_default();
    let said: Vec<&str> =
        log.lines().filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("Exception")).collect();
    said[said.len().saturating_sub(30)..].join("\n")
}

/// `::embedded`: the worker on the lab's own broker; `::kafka`: the lab and the worker on one
/// Apache Kafka node.
mod a_file_sink_posted_with_curl_writes_the_topic_and_the_lab_shows_its_group {
    #[tokio::test(flavor = "multi_thread")]
    async fn embedded() {
        if super::java_here() {
            let _turn = super::heavy("connect");
            super::file_sink(None).await
        }
    }
    #[tokio::test(flavor = "multi_thread")]
    async fn kafka() {
        if let Some(b) = super::start_kafka_broker().await {
            super::file_sink(Some(b)).await
        }
    }
}

async fn file_sink(on: Option<TestBroker>) {
    let kafka = on.as_ref().map(|b| b.kafka.clone());
    let (addr, _lab) = serve_lab_opts(LabOptions { kafka, ..LabOptions::default() }).await;
    let http = reqwest::Client::new();
    let cluster: ClusterInfo =
        http.get(format!("http://{addr}/api/cluster")).send().await.unwrap().json().await.unwrap();
    let kafka = KafkaConfig::new(cluster.bootstrap.clone());
    ensure_topics(&kafka, &["INGESTION"], 1).await.unwrap();

    // Nothing answers at the brokers: said at once, no worker left behind.
    let dir = Dir::new();
    let nowhere = lab_connect(&["start", "--brokers", "127.0.0.1:1", "--dir", dir.arg()]);
    assert!(!nowhere.status.success());
    assert!(text(&nowhere).contains("no broker answers at 127.0.0.1:1"), "{}", text(&nowhere));
    assert!(dir.running().is_empty());

    let port = free_port().to_string();
    let started = lab_connect(&["start", "--brokers", &cluster.bootstrap, "--port", &port, "--dir", dir.arg()]);
    let out = text(&started);
    assert!(started.status.success(), "{out}");
    let last = String::from_utf8_lossy(&started.stdout).lines().last().unwrap_or_default().to_owned();
    let url = format!("http://127.0.0.1:{port}");
    assert_eq!(last, format!("CONNECT_URL={url}"), "{out}");
    let again = lab_connect(&["start", "--brokers", &cluster.bootstrap, "--port", &port, "--dir", dir.arg()]);
    assert!(!again.status.success() && text(&again).contains("already running"), "{}", text(&again));

    // The seed's request: a sink named hdfs-sink on INGESTION, here to a file.
    let file = dir.0.join("hdfs-sink.txt");
    let config = json!({"name": "hdfs-sink", "config": {
        "connector.class": "FileStreamSink", "tasks.max": "1", "topics": "INGESTION",
        "file": file.to_str().unwrap()}});
    let posted = config.to_string();
    let connectors = format!("{url}/connectors");
    let (status, body) = curl(&["-X", "POST", "-H", "Content-Type: application/json", "--data", &posted, &connectors]);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "hdfs-sink");

    // A configuration that misses its topics is refused with Connect's own words.
    let missing = json!({"name": "no-topics", "config": {"connector.class": "FileStreamSink", "file": "/tmp/x"}});
    let (status, body) =
        curl(&["-X", "POST", "-H", "Content-Type: application/json", "--data", &missing.to_string(), &connectors]);
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap_or_default().contains("Must configure one of topics"), "{body}");

    let producer: FutureProducer = kafka.client().create().unwrap();
    for id in 1..=3 {
        let value = json!({"sensor_id": id, "temperature": 20 + id}).to_string();
        producer.send(FutureRecord::to("INGESTION").key("k").payload(&value), Duration::from_secs(10)).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let lines = loop {
        let written = std::fs::read_to_string(&file).unwrap_or_default();
        if written.lines().count() >= 3 || Instant::now() > deadline {
            break written;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The JSON converter without schemas hands the sink a map, which it writes as Java prints it.
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}; the worker's log:\n{}", worker_log(&dir));
    assert!(lines[0].contains("sensor_id=1") && lines[2].contains("sensor_id=3"), "{lines:?}");
    let (status, body) = curl(&[&format!("{connectors}/hdfs-sink/status")]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["connector"]["state"], "RUNNING", "{body}");
    assert_eq!(body["tasks"][0]["state"], "RUNNING", "{body}");

    // The connector's group, as the course watches it in its console: committed to the end.
    let deadline = Instant::now() + Duration::from_secs(60);
    let group = loop {
        let groups: Vec<GroupInfo> =
            http.get(format!("http://{addr}/api/groups")).send().await.unwrap().json().await.unwrap();
        let group = groups.into_iter().find(|g| g.group == "connect-hdfs-sink");
        if group.as_ref().is_some_and(|g| g.offsets.iter().any(|o| o.committed == Some(3))) || Instant::now() > deadline
        {
            break group;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let group = group.expect("the lab lists the connector's group connect-hdfs-sink");
    let ingestion: Vec<_> = group.offsets.iter().filter(|o| o.topic == "INGESTION").collect();
    assert_eq!(ingestion.len(), 1, "{group:?}");
    assert_eq!((ingestion[0].committed, ingestion[0].lag), (Some(3), Some(0)), "{group:?}");

    let stopped = lab_connect(&["stop", "--dir", dir.arg()]);
    assert!(stopped.status.success(), "{}", text(&stopped));
    assert!(dir.running().is_empty(), "the worker still runs");
    let nothing = lab_connect(&["stop", "--dir", dir.arg()]);
    assert!(!nothing.status.success());
    assert!(text(&nothing).contains("no Connect worker is running"), "{}", text(&nothing));
}
