//! The course's own Python clients (seed 000's kafka-python snippets, and confluent-kafka)
//! against the embedded broker.

mod common;

use common::{require, start_broker};

fn python_has(module: &str) -> bool {
    std::process::Command::new("python3").args(["-c", &format!("import {module}")]).status().is_ok_and(|s| s.success())
}

async fn run_script(script: &str, bootstrap: &str, topic: &str) -> String {
    let path = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new("timeout")
        .args(["60", "python3", &path, bootstrap, topic])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_python_producer_with_callbacks_and_group_consumer() {
    if !require(python_has("kafka"), "python3 with kafka-python") {
        return;
    }
    let b = start_broker().await;
    b.create_topic("py_kafka_python", 3).await;
    let out = run_script("kafka_python_roundtrip.py", &b.bootstrap(), "py_kafka_python").await;
    assert!(out.contains("acknowledged 3"), "{out}");
    assert!(out.contains("consumed 3"), "{out}");
    assert!(out.contains("committed 3"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn confluent_kafka_producer_and_group_consumer() {
    if !require(python_has("confluent_kafka"), "python3 with confluent-kafka") {
        return;
    }
    let b = start_broker().await;
    b.create_topic("py_confluent", 3).await;
    let out = run_script("confluent_roundtrip.py", &b.bootstrap(), "py_confluent").await;
    assert!(out.contains("delivered 10"), "{out}");
    assert!(out.contains("consumed 10"), "{out}");
}
