//! Exercise 14, Kafka Streams (seed 002 §6.7–6.9), as a student does it, and exercise 10's
//! Kafka Streams route: the exercise's Maven
//! project with its `TopologyTestDriver` tests failing on the skeleton and passing with the
//! solution (`backend/tests/java/streams-solution`), then both applications run with `mvn
//! exec:java` against the lab's broker, and the checker passing them and failing what they
//! have not seen. On the embedded broker and on one Apache Kafka node; JVMs, so the suite
//! takes its heavy turn.

use crate::support::kafka::java_here;
use crate::support::{LabOptions, TestBroker, heavy, serve_lab_opts, start_kafka_broker};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamlab::exercises::check::{Checker, render};
use streamlab::exercises::{Catalog, Namespace};
use streamlab::kafka::KafkaConfig;
use streamlab::kafka::admin::ensure_topics;
use streamlab_wire::{CheckReport, ClusterInfo, Outcome};

mod the_streams_exercise_is_tested_run_and_checked {
    #[tokio::test(flavor = "multi_thread")]
    async fn embedded() {
        if super::java_here() {
            let _turn = super::heavy("streams");
            super::streams(None).await
        }
    }
    #[tokio::test(flavor = "multi_thread")]
    async fn kafka() {
        if let Some(b) = super::start_kafka_broker().await {
            super::streams(Some(b)).await
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The exercise's project copied as a student gets it, without what a build left there.
fn copy_project(to: &Path) {
    let from = root().join("exercises/14-kafka-streams/streams");
    let status = std::process::Command::new("cp").arg("-r").arg(&from).arg(to).status().unwrap();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(to.join("target"));
}

fn mvn(project: &Path, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new("mvn");
    c.arg("-q").arg("-B").args(args).current_dir(project);
    // Kafka Streams keeps its state under java.io.tmpdir: this test's own.
    c.env("MAVEN_OPTS", format!("-Djava.io.tmpdir={}", project.join("tmp").display()));
    c
}

/// SIGINT, what Ctrl-C sends; SIGKILL if the application has not ended 30 s later.
async fn interrupt(app: &mut tokio::process::Child) {
    if let Some(pid) = app.id() {
        let _ = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status();
    }
    if tokio::time::timeout(Duration::from_secs(30), app.wait()).await.is_err() {
        app.kill().await.unwrap();
    }
}

fn outcome(report: &CheckReport, id: &str) -> (Outcome, String) {
    let r = report.results.iter().find(|r| r.id == id).unwrap();
    (r.outcome, r.message.clone().unwrap_or_default())
}

async fn streams(on: Option<TestBroker>) {
    let dir = std::env::temp_dir().join(format!("streamlab-streams-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let project = dir.join("streams");
    copy_project(&project);
    std::fs::create_dir_all(project.join("tmp")).unwrap();
    if on.is_none() {
        // The skeleton's topology tests fail, as a student's first `mvn test` does.
        let out = mvn(&project, &["test"]).output().await.unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "the skeleton's tests pass:\n{said}");
        assert!(said.contains("Tests run: 4, Failures: 0, Errors: 4"), "{said}");
        assert!(said.contains("Unknown topic: rides"), "{said}");
    }
    for f in ["RidesCount.java", "RidesJoin.java", "SplitBySensor.java"] {
        let solution = root().join("backend/tests/java/streams-solution/org/example").join(f);
        std::fs::copy(solution, project.join("src/main/java/org/example").join(f)).unwrap();
    }
    let out = mvn(&project, &["test"]).output().await.unwrap();
    assert!(out.status.success(), "the solution's topology tests:\n{}", String::from_utf8_lossy(&out.stdout));

    let kafka = on.as_ref().map(|b| b.kafka.clone());
    let (addr, _lab) = serve_lab_opts(LabOptions { kafka, ..LabOptions::default() }).await;
    let cluster: ClusterInfo = reqwest::get(format!("http://{addr}/api/cluster")).await.unwrap().json().await.unwrap();
    let kafka = KafkaConfig::new(cluster.bootstrap.clone());
    ensure_topics(&kafka, &["rides", "pickup-locations"], 2).await.unwrap();
    let producer: FutureProducer = kafka.client().create().unwrap();
    let send = |topic: &'static str, key: &'static str, value: String| {
        let producer = producer.clone();
        async move {
            producer.send(FutureRecord::to(topic).key(key).payload(&value), Duration::from_secs(10)).await.unwrap();
        }
    };
    for (vendor, location) in [(1, "132"), (2, "132"), (1, "48"), (2, "132"), (1, "161"), (2, "48")] {
        send("rides", location, format!("{{\"VendorID\": {vendor}, \"PULocationID\": {location}}}")).await;
    }
    // Exercise 10's samples, half with the payload as a string holding JSON (as ksqlDB reads it).
    for i in 0..12 {
        let payload = format!("{{\"sensor_id\": {}, \"modality\": {}}}", i % 6 + 1, 400 + i);
        let payload = if i % 2 == 0 { payload } else { serde_json::Value::String(payload).to_string() };
        let sample = format!("{{\"payload\": {payload}, \"correlation_id\": \"c-{i}\", \"schema_version\": 1}}");
        send("INGESTION", "sample", sample).await;
    }
    let catalog = Arc::new(Catalog::embedded().unwrap());
    let exercise = catalog.find("14").unwrap().clone();
    let checker = Checker::new(kafka.clone(), catalog.clone());
    let check = || async { checker.check(&exercise, &Namespace::default()).await };

    // Nothing has run yet: the rides are there, the outputs are not.
    let report = check().await;
    assert_eq!(outcome(&report, "rides").0, Outcome::Pass, "{}", render(&report));
    assert_eq!(outcome(&report, "co-partitioned").0, Outcome::Pass, "{}", render(&report));
    assert!(
        outcome(&report, "counted").1.contains("topic rides-pulocation-count does not exist"),
        "{}",
        render(&report)
    );
    assert_eq!(outcome(&report, "joined").0, Outcome::Fail, "{}", render(&report));

    // The applications, as the README runs them, without its `compile`: `mvn test` above
    // compiled them, and three builds writing one target/ at once can leave one of them
    // without its classes. Each one's output goes to a file shown if the check never passes.
    let run = |main: &str| {
        let log = std::fs::File::create(dir.join(format!("{main}.log"))).unwrap();
        let mut c = mvn(&project, &["exec:java", &format!("-Dexec.mainClass=org.example.{main}")]);
        c.env("BOOTSTRAP_SERVERS", &cluster.bootstrap).stdout(log.try_clone().unwrap()).stderr(log).kill_on_drop(true);
        c.spawn().unwrap()
    };
    let logs = || {
        ["RidesCount", "RidesJoin", "SplitBySensor"]
            .map(|main| {
                let log = std::fs::read_to_string(dir.join(format!("{main}.log"))).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
                format!("--- {main}, its last lines:\n{}", tail.join("\n"))
            })
            .join("\n")
    };
    let mut apps = [run("RidesCount"), run("RidesJoin"), run("SplitBySensor")];
    send("pickup-locations", "132", "{\"LocationID\": 132, \"Zone\": \"JFK Airport\"}".into()).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    let report = loop {
        let report = check().await;
        if report.passed || Instant::now() > deadline {
            break report;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(report.passed, "{}\n{}", render(&report), logs());
    assert!(outcome(&report, "counted").1.contains("132: 3, 161: 1, 48: 2"), "{}", render(&report));
    assert!(outcome(&report, "joined").1.contains("each of the 3 pairs"), "{}", render(&report));
    // Exercise 10 by its Kafka Streams route: every sample in its sensor's topic, once.
    let split = loop {
        let split = checker.check(catalog.find("10").unwrap(), &Namespace::default()).await;
        if split.passed || Instant::now() > deadline {
            break split;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(split.passed, "{}\n{}", render(&split), logs());
    assert!(outcome(&split, "routed").1.contains("12"), "{}", render(&split));
    // Ctrl-C, as a student stops them: Kafka Streams closes and leaves its state on the disk.
    for app in &mut apps {
        interrupt(app).await;
    }

    // A ride the stopped applications did not see: its location's count and its join are
    // missing, and the checker says which.
    send("rides", "132", "{\"VendorID\": 3, \"PULocationID\": 132}".into()).await;
    let report = check().await;
    let shown = render(&report);
    assert!(outcome(&report, "counted").1.contains("key \"132\": counted 3, rides has 4"), "{shown}");
    assert!(outcome(&report, "joined").1.contains("key \"132\": 3 joined, 4 pairs within the window"), "{shown}");

    if on.is_none() {
        // The lab restarted without --data-dir starts empty, while the count's state stays on
        // this disk: the count starts again from what the new broker holds.
        drop(_lab);
        let (addr, _lab) = serve_lab_opts(LabOptions::default()).await;
        let cluster: ClusterInfo =
            reqwest::get(format!("http://{addr}/api/cluster")).await.unwrap().json().await.unwrap();
        let kafka = KafkaConfig::new(cluster.bootstrap.clone());
        ensure_topics(&kafka, &["rides", "pickup-locations"], 2).await.unwrap();
        let producer: FutureProducer = kafka.client().create().unwrap();
        for location in ["132", "48"] {
            let ride = format!("{{\"VendorID\": 1, \"PULocationID\": {location}}}");
            producer
                .send(FutureRecord::to("rides").key(location).payload(&ride), Duration::from_secs(10))
                .await
                .unwrap();
        }
        let mut c = mvn(&project, &["exec:java", "-Dexec.mainClass=org.example.RidesCount"]);
        c.env("BOOTSTRAP_SERVERS", &cluster.bootstrap).stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true);
        let mut app = c.spawn().unwrap();
        let checker = Checker::new(kafka.clone(), catalog.clone());
        let deadline = Instant::now() + Duration::from_secs(120);
        let report = loop {
            let report = checker.check(&exercise, &Namespace::default()).await;
            if outcome(&report, "counted").0 == Outcome::Pass || Instant::now() > deadline {
                break report;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        assert!(outcome(&report, "counted").1.contains("(132: 1, 48: 1)"), "{}", render(&report));
        interrupt(&mut app).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
