//! `./lab connect start|stop`: a Kafka Connect worker from Maven Central beside the lab's
//! embedded broker, a sink connector posted with `curl` as the course posts it (seed 003
//! exercise 7, a file standing in for HDFS), its consumer group and lag seen by the lab, the
//! Connectors page (API and browser), exercise 13's checks passing and failing, and each bad
//! input with its message. A real JVM: the suite takes its heavy turn.

use crate::support::kafka::{Dir, java_here, lab, text};
use crate::support::{LabOptions, TestBroker, Turn, curl, free_port, heavy, serve_lab_opts, start_kafka_broker};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamlab::exercises::check::{Checker, render};
use streamlab::exercises::{Catalog, Namespace};
use streamlab::kafka::KafkaConfig;
use streamlab::kafka::admin::ensure_topics;
use streamlab::kafka::connect::Connect;
use streamlab_wire::{ClusterInfo, ConnectView, GroupInfo, Outcome};

fn lab_connect(args: &[&str]) -> Output {
    lab(&[&["connect"], args].concat())
}

/// The worker's warnings and errors, for a failure's message.
fn worker_log(dir: &Dir) -> String {
    let log = std::fs::read_to_string(dir.0.join("worker.log")).unwrap_or_default();
    let said: Vec<&str> =
        log.lines().filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("Exception")).collect();
    said[said.len().saturating_sub(30)..].join("\n")
}

/// `::embedded`: the worker on the lab's own broker, and the Connectors page in a browser;
/// `::kafka`: the lab and the worker on one Apache Kafka node.
mod a_file_sink_posted_with_curl_writes_the_topic_and_the_lab_shows_it_and_checks_exercise_13 {
    #[tokio::test(flavor = "multi_thread")]
    async fn embedded() {
        if super::java_here() {
            let turn = super::heavy("connect");
            super::file_sink(None, Some(turn)).await
        }
    }
    #[tokio::test(flavor = "multi_thread")]
    async fn kafka() {
        if let Some(b) = super::start_kafka_broker().await {
            super::file_sink(Some(b), None).await
        }
    }
}

/// Polls `what` every 300 ms for up to 60 s; its last answer.
async fn until<T, F: std::future::Future<Output = T>>(mut what: impl FnMut() -> F, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = what().await;
        if done(&got) || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A sample as the course's six sensors write it (exercise 10's shape).
fn sample(i: usize) -> String {
    json!({"payload": {"sensor_id": i % 6 + 1, "modality": 400 + i, "unit": "MW", "temporal_aspect": "real_time"},
           "correlation_id": format!("c-{i}"), "created_at": 1694902173.0 + i as f64, "schema_version": 1})
    .to_string()
}

/// `POST /connectors` with curl: a FileStream sink of `topic` to `file`, named `name`.
fn post_sink(connectors: &str, name: &str, topic: &str, file: &std::path::Path) -> (u16, Value) {
    let config = json!({"name": name, "config": {
        "connector.class": "FileStreamSink", "tasks.max": "1", "topics": topic, "file": file.to_str().unwrap(),
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false"}});
    curl(&["-X", "POST", "-H", "Content-Type: application/json", "--data", &config.to_string(), connectors])
}

async fn file_sink(on: Option<TestBroker>, turn: Option<Turn>) {
    let kafka = on.as_ref().map(|b| b.kafka.clone());
    let port = free_port().to_string();
    let url = format!("http://127.0.0.1:{port}");
    let (addr, _lab) = serve_lab_opts(LabOptions { kafka, connect_url: url.clone(), ..LabOptions::default() }).await;
    let http = reqwest::Client::new();
    let cluster: ClusterInfo =
        http.get(format!("http://{addr}/api/cluster")).send().await.unwrap().json().await.unwrap();
    let kafka = KafkaConfig::new(cluster.bootstrap.clone());
    ensure_topics(
        &kafka,
        &["INGESTION", "broken.INGESTION", "paused.INGESTION", "connect_answers", "paused.connect_answers"],
        1,
    )
    .await
    .unwrap();
    let producer: FutureProducer = kafka.client().create().unwrap();
    let send = |topic: &'static str, key: &'static str, value: String| {
        let producer = producer.clone();
        async move {
            producer.send(FutureRecord::to(topic).key(key).payload(&value), Duration::from_secs(10)).await.unwrap();
        }
    };
    let view = || async {
        http.get(format!("http://{addr}/api/connect")).send().await.unwrap().json::<ConnectView>().await.unwrap()
    };
    let catalog = Arc::new(Catalog::embedded().unwrap());
    let exercise = catalog.find("13").unwrap().clone();
    let checker = Checker::new(kafka.clone(), catalog.clone()).with_connect(Connect::new(&url));
    let check = |student: Option<&'static str>| {
        let (checker, exercise) = (checker.clone(), exercise.clone());
        async move { checker.check(&exercise, &Namespace::student(student).unwrap()).await }
    };

    // No worker yet: the Connectors page and the checker say so, and how to start one.
    let none = view().await;
    assert!(
        none.error.as_deref().unwrap_or_default().contains(&format!("no Kafka Connect worker answers at {url}")),
        "{none:?}"
    );
    assert!(none.error.as_deref().unwrap_or_default().contains("./lab connect start"), "{none:?}");
    let report = check(None).await;
    assert_eq!(outcome(&report, "sink-running").0, Outcome::Fail, "{}", render(&report));
    assert!(outcome(&report, "sink-running").1.contains("no Kafka Connect worker answers"), "{}", render(&report));

    // Nothing answers at the brokers: said at once, no worker left behind.
    let dir = Dir::new();
    let nowhere = lab_connect(&["start", "--brokers", "127.0.0.1:1", "--dir", dir.arg()]);
    assert!(!nowhere.status.success());
    assert!(text(&nowhere).contains("no broker answers at 127.0.0.1:1"), "{}", text(&nowhere));
    assert!(dir.running().is_empty());

    let started = lab_connect(&["start", "--brokers", &cluster.bootstrap, "--port", &port, "--dir", dir.arg()]);
    let out = text(&started);
    assert!(started.status.success(), "{out}");
    let last = String::from_utf8_lossy(&started.stdout).lines().last().unwrap_or_default().to_owned();
    assert_eq!(last, format!("CONNECT_URL={url}"), "{out}");
    let again = lab_connect(&["start", "--brokers", &cluster.bootstrap, "--port", &port, "--dir", dir.arg()]);
    assert!(!again.status.success() && text(&again).contains("already running"), "{}", text(&again));
    let empty = view().await;
    assert_eq!((empty.error.as_deref(), empty.connectors.len()), (None, 0), "{empty:?}");
    assert!(empty.version.as_deref().unwrap_or_default().starts_with("4."), "{empty:?}");
    let report = check(None).await;
    let (_, said) = outcome(&report, "sink-running");
    assert!(said.contains("has no connector named hdfs-sink (its connectors: none)"), "{said}");

    // The seed's request: a sink named hdfs-sink on INGESTION, here to a file.
    let connectors = format!("{url}/connectors");
    let file = dir.0.join("hdfs-sink.txt");
    let (status, body) = post_sink(&connectors, "hdfs-sink", "INGESTION", &file);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "hdfs-sink");

    // A configuration that misses its topics is refused with Connect's own words.
    let missing = json!({"name": "no-topics", "config": {"connector.class": "FileStreamSink", "file": "/tmp/x"}});
    let (status, body) =
        curl(&["-X", "POST", "-H", "Content-Type: application/json", "--data", &missing.to_string(), &connectors]);
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap_or_default().contains("Must configure one of topics"), "{body}");

    for i in 0..10 {
        send("INGESTION", "sensor", sample(i)).await;
        send("paused.INGESTION", "sensor", sample(i)).await;
    }
    let lines =
        until(|| async { std::fs::read_to_string(&file).unwrap_or_default() }, |w| w.lines().count() >= 10).await;
    // The JSON converter without schemas hands the sink a map, which it writes as Java prints it.
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 10, "{lines:?}; the worker's log:\n{}", worker_log(&dir));
    assert!(lines[0].contains("sensor_id=1") && lines[0].contains("correlation_id=c-0"), "{lines:?}");
    let (status, body) = curl(&[&format!("{connectors}/hdfs-sink/status")]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["connector"]["state"], "RUNNING", "{body}");
    assert_eq!(body["tasks"][0]["state"], "RUNNING", "{body}");

    // The connector's group, as the course watches it in its console: committed to the end.
    let committed = |group: &'static str| {
        let http = http.clone();
        async move {
            let g: Option<GroupInfo> =
                http.get(format!("http://{addr}/api/groups/{group}")).send().await.unwrap().json().await.ok();
            g.and_then(|g| g.offsets.into_iter().find(|o| o.topic.ends_with("INGESTION")))
        }
    };
    let offsets =
        until(|| committed("connect-hdfs-sink"), |o| o.as_ref().is_some_and(|o| o.committed == Some(10))).await;
    let offsets = offsets.expect("the lab lists the connector's group connect-hdfs-sink");
    assert_eq!((offsets.committed, offsets.lag), (Some(10), Some(0)), "{offsets:?}");

    // Exercise 13 passes with the lag answered; a wrong lag is said to be wrong.
    send("connect_answers", "total_lag", "3".into()).await;
    let report = check(None).await;
    assert_eq!(outcome(&report, "total-lag").0, Outcome::Fail, "{}", render(&report));
    assert!(outcome(&report, "total-lag").1.contains("answered \"3\", expected 0"), "{}", render(&report));
    send("connect_answers", "total_lag", "0".into()).await;
    let report = check(None).await;
    assert!(report.passed, "{}", render(&report));
    assert!(outcome(&report, "sink-running").1.contains("hdfs-sink (FileStreamSink) runs 1 task on INGESTION"));

    // A sink whose file cannot be made: its task FAILED with Java's trace, on the page and in
    // the check.
    let (status, body) = post_sink(&connectors, "broken.hdfs-sink", "broken.INGESTION", &dir.0.join("no/such/dir.txt"));
    assert_eq!(status, 201, "{body}");
    let failed = |v: &ConnectView| {
        v.connectors
            .iter()
            .find(|c| c.name == "broken.hdfs-sink")
            .is_some_and(|c| c.tasks.iter().any(|t| t.state == "FAILED"))
    };
    let seen = until(view, failed).await;
    let broken = seen.connectors.iter().find(|c| c.name == "broken.hdfs-sink").expect("listed");
    assert_eq!(
        (broken.state.as_str(), broken.group.as_deref()),
        ("RUNNING", Some("connect-broken.hdfs-sink")),
        "{broken:?}"
    );
    let trace = broken.tasks[0].trace.clone().unwrap_or_default();
    assert!(trace.contains("Couldn't find or create file") && trace.contains("no/such/dir.txt"), "{broken:?}");
    let report = check(Some("broken")).await;
    let (o, said) = outcome(&report, "sink-running");
    assert_eq!(o, Outcome::Fail);
    assert!(
        said.contains("task 0 of broken.hdfs-sink is FAILED: org.apache.kafka.connect.errors.ConnectException"),
        "{said}"
    );

    // A sink that caught up and was paused: new records leave it behind by exactly them.
    let (status, body) = post_sink(&connectors, "paused.hdfs-sink", "paused.INGESTION", &dir.0.join("paused.txt"));
    assert_eq!(status, 201, "{body}");
    until(|| committed("connect-paused.hdfs-sink"), |o| o.as_ref().is_some_and(|o| o.committed == Some(10))).await;
    let (status, _) = curl(&["-X", "PUT", &format!("{connectors}/paused.hdfs-sink/pause")]);
    assert_eq!(status, 202);
    let paused = |v: &ConnectView| v.connectors.iter().any(|c| c.name == "paused.hdfs-sink" && c.state == "PAUSED");
    assert!(paused(&until(view, paused).await));
    for i in 10..15 {
        send("paused.INGESTION", "sensor", sample(i)).await;
    }
    send("paused.connect_answers", "total_lag", "5".into()).await;
    let report = check(Some("paused")).await;
    let shown = render(&report);
    assert_eq!(outcome(&report, "samples").0, Outcome::Pass, "{shown}");
    assert!(outcome(&report, "sink-running").1.contains("paused.hdfs-sink is PAUSED"), "{shown}");
    assert_eq!(outcome(&report, "sink-caught-up").0, Outcome::Fail, "{shown}");
    assert!(outcome(&report, "sink-caught-up").1.contains("partition 0 at 10 of 15"), "{shown}");
    assert_eq!(outcome(&report, "total-lag").0, Outcome::Pass, "{shown}");

    if let Some(turn) = turn {
        // The browser suite's turn, not this one's, while the page is looked at.
        drop(turn);
        connectors_page(addr).await;
    }

    let stopped = lab_connect(&["stop", "--dir", dir.arg()]);
    assert!(stopped.status.success(), "{}", text(&stopped));
    assert!(dir.running().is_empty(), "the worker still runs");
    let nothing = lab_connect(&["stop", "--dir", dir.arg()]);
    assert!(!nothing.status.success());
    assert!(text(&nothing).contains("no Connect worker is running"), "{}", text(&nothing));
}

/// A condition's outcome and what it said.
fn outcome(report: &streamlab_wire::CheckReport, id: &str) -> (Outcome, String) {
    let r = report.results.iter().find(|r| r.id == id).unwrap();
    (r.outcome, r.message.clone().unwrap_or_default())
}

/// The Connectors page in Chromium: the three sinks with their states, the failed task's
/// trace folded under its first line, and the running sink's group with its lag.
async fn connectors_page(addr: std::net::SocketAddr) {
    let Some(browser) = crate::browser::browser().await else { return };
    browser.goto(&format!("http://{addr}/#/connectors")).await;
    let long = Duration::from_secs(30);
    for (name, state) in [("hdfs-sink", "RUNNING"), ("broken.hdfs-sink", "RUNNING"), ("paused.hdfs-sink", "PAUSED")] {
        let selector = format!("article.connector[data-connector=\"{name}\"][data-state=\"{state}\"]");
        browser.wait_for(&format!("return !!document.querySelector('{selector}')"), long, name).await;
    }
    let task = "article[data-connector=\"broken.hdfs-sink\"] tr[data-task=\"0\"]";
    browser
        .wait_for(
            &format!("return document.querySelector('{task}')?.dataset.state === 'FAILED'"),
            long,
            "the failed task",
        )
        .await;
    let summary =
        browser.eval(&format!("return document.querySelector('{task} details.trace summary').textContent")).await;
    assert!(
        summary
            .as_str()
            .unwrap_or_default()
            .contains("task 0 failed: org.apache.kafka.connect.errors.ConnectException"),
        "{summary}"
    );
    let group = "article[data-connector=\"hdfs-sink\"] dd.group";
    browser
        .wait_for(
            &format!("return (document.querySelector('{group}')?.textContent || '').includes('connect-hdfs-sink, total lag 0')"),
            long,
            "the sink's group and its lag",
        )
        .await;
    browser.screenshot(&crate::browser::shot("connectors")).await;
}
