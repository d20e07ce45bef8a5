//! The lab as a user meets it: the server's HTTP API and websocket (in-process, on port 0),
//! and the `streamlab` binary itself.

use crate::support::free_port;
use futures::SinkExt;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use streamlab_wire::{ServerMessage, topics};
use tokio_tungstenite::tungstenite::Message;

async fn serve_lab() -> (std::net::SocketAddr, crate::support::StopOnDrop) {
    crate::support::serve_lab(true).await
}

fn names(message: ServerMessage) -> Option<Vec<String>> {
    match message {
        ServerMessage::Topics { topics } => Some(topics.iter().map(|t| t.name.clone()).collect()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_and_topics_api() {
    let (addr, _stop) = serve_lab().await;
    let health = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    // The poller fills the listing within a second or two.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let listed: Vec<streamlab_wire::TopicInfo> =
            reqwest::get(format!("http://{addr}/api/topics")).await.unwrap().json().await.unwrap();
        if topics::ALL.iter().all(|t| listed.iter().any(|l| l.name == *t && l.partitions.len() == 3)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "lab topics not listed: {listed:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_says_hello_lists_topics_and_answers_bad_input_with_an_error() {
    let (addr, _stop) = serve_lab().await;
    let mut ws = crate::support::connect(addr).await;
    match crate::support::next_message(&mut ws).await {
        ServerMessage::Hello { embedded_broker, .. } => assert!(embedded_broker),
        other => panic!("expected hello, got {other:?}"),
    }
    // The first listing may be empty if the poller has not run yet; updates follow.
    let mut listed = crate::support::next_matching(&mut ws, names).await;
    while !topics::ALL.iter().all(|t| listed.iter().any(|l| l == t)) {
        listed = crate::support::next_matching(&mut ws, names).await;
    }

    ws.send(Message::Text("{not json".into())).await.unwrap();
    let message = crate::support::next_matching(&mut ws, |m| match m {
        ServerMessage::Error { message } => Some(message),
        _ => None,
    })
    .await;
    assert!(message.contains("cannot read"), "{message}");
    ws.send(Message::Text(r#"{"type":"list_topics"}"#.into())).await.unwrap();
    assert!(crate::support::next_matching(&mut ws, names).await.contains(&topics::REQUESTS.to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_created_by_any_client_is_pushed_to_the_browser() {
    let (addr, _stop) = serve_lab().await;
    let mut ws = crate::support::connect(addr).await;
    let brokers = match crate::support::next_message(&mut ws).await {
        ServerMessage::Hello { brokers, .. } => brokers,
        other => panic!("{other:?}"),
    };
    streamlab::kafka::admin::ensure_topics(&streamlab::kafka::KafkaConfig::new(brokers), &["pushed_topic"], 2)
        .await
        .unwrap();
    while !crate::support::next_matching(&mut ws, names).await.contains(&"pushed_topic".to_owned()) {}
}

// ---- The binary.

struct Running {
    child: Child,
    web: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `streamlab ARGS` and waits for its "ready" banner; returns the web address.
fn spawn_streamlab(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .env_remove("KAFKA_BROKERS")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.trim().strip_prefix("lab     ") {
                let _ = tx.send(url.trim_end_matches('/').to_owned());
            }
        }
    });
    let web = rx.recv_timeout(Duration::from_secs(60)).expect("streamlab printed its ready banner");
    Running { child, web }
}

fn broker_topics(bootstrap: &str) -> Vec<String> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = streamlab::kafka::KafkaConfig::new(bootstrap).client().create().unwrap();
    c.fetch_metadata(None, Duration::from_secs(10)).unwrap().topics().iter().map(|t| t.name().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_runs_the_lab_and_a_second_instance_uses_its_broker() {
    let broker = format!("127.0.0.1:{}", free_port());
    let first = spawn_streamlab(&["--broker-addr", &broker, "--web-addr", "127.0.0.1:0"]);
    let listed = broker_topics(&broker);
    for t in topics::ALL {
        assert!(listed.contains(&t.to_owned()), "{t} missing from {listed:?}");
    }
    assert_eq!(reqwest::get(format!("{}/healthz", first.web)).await.unwrap().text().await.unwrap(), "ok");

    let second = spawn_streamlab(&["--brokers", &broker, "--web-addr", "127.0.0.1:0"]);
    assert_ne!(first.web, second.web);
    let mut ws = crate::support::connect(second.web.trim_start_matches("http://").parse().unwrap()).await;
    match crate::support::next_message(&mut ws).await {
        ServerMessage::Hello { brokers, embedded_broker, .. } => {
            assert_eq!(brokers, broker);
            assert!(!embedded_broker, "the second instance started no broker of its own");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_taken_broker_port_is_reported_with_the_fix() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["--broker-addr", &addr, "--web-addr", "127.0.0.1:0"])
        .env_remove("KAFKA_BROKERS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("{addr} is already in use")), "{stderr}");
    assert!(stderr.contains("--broker-addr") && stderr.contains("--brokers"), "{stderr}");
}

#[test]
fn a_bad_x_property_is_refused_with_its_form() {
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab")).args(["-X", "nonsense", "model", "info"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("key=value"));
}

#[tokio::test(flavor = "multi_thread")]
async fn data_dir_keeps_topics_across_restarts() {
    let dir = std::env::temp_dir().join(format!("streamlab-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let broker = format!("127.0.0.1:{}", free_port());
    let args = ["--broker-addr", &broker, "--web-addr", "127.0.0.1:0", "--data-dir", dir.to_str().unwrap()];
    {
        let _lab = spawn_streamlab(&args);
        streamlab::kafka::admin::ensure_topics(&streamlab::kafka::KafkaConfig::new(broker.clone()), &["kept_topic"], 1)
            .await
            .unwrap();
    }
    assert!(dir.join("metadata.db").exists(), "topics, groups and offsets are in --data-dir");
    assert!(dir.join("logs").is_dir(), "the partitions' logs are in --data-dir");
    let _again = spawn_streamlab(&args);
    assert!(broker_topics(&broker).contains(&"kept_topic".to_owned()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn model_info_prints_the_card() {
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab")).args(["model", "info"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("accuracy") && stdout.contains("rf-"), "{stdout}");
}

#[test]
fn a_foreign_model_file_is_refused_clearly() {
    let path = std::env::temp_dir().join(format!("streamlab-foreign-{}.bin", std::process::id()));
    std::fs::write(&path, b"this is not a model").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["model", "info", "--model", path.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a streamlab model file"));
}
