//! The course's own Python clients (seed 000's kafka-python snippets, and confluent-kafka)
//! against the embedded broker, and the two round trips on one Apache Kafka node too.

use crate::support::{TestBroker, require, start_broker};

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

async fn kafka_python_producer_with_callbacks_and_group_consumer(b: TestBroker) {
    if !require(python_has("kafka"), "python3 with kafka-python") {
        return;
    }
    b.create_topic("py_kafka_python", 3).await;
    let out = run_script("kafka_python_roundtrip.py", &b.bootstrap(), "py_kafka_python").await;
    assert!(out.contains("acknowledged 3"), "{out}");
    assert!(out.contains("consumed 3"), "{out}");
    assert!(out.contains("committed 3"), "{out}");
}

async fn confluent_kafka_producer_and_group_consumer(b: TestBroker) {
    if !require(python_has("confluent_kafka"), "python3 with confluent-kafka") {
        return;
    }
    b.create_topic("py_confluent", 3).await;
    let out = run_script("confluent_roundtrip.py", &b.bootstrap(), "py_confluent").await;
    assert!(out.contains("delivered 10"), "{out}");
    assert!(out.contains("consumed 10"), "{out}");
}

/// A class on the network: the broker listens on every interface and advertises this
/// machine's network address (`--public HOST`), and the course's Python clients with default
/// settings, bootstrapping from that address as a student's laptop would, produce, consume
/// and commit through it.
#[tokio::test(flavor = "multi_thread")]
async fn python_clients_reach_a_broker_that_advertises_the_network_address() {
    use streamlab::kafka::broker::{EmbeddedBroker, Storage};
    if !require(python_has("kafka") && python_has("confluent_kafka"), "python3 with kafka-python and confluent-kafka") {
        return;
    }
    let Some(ip) = crate::support::non_loopback_ip() else {
        require(false, "a network interface besides loopback");
        return;
    };
    let broker =
        EmbeddedBroker::start("0.0.0.0:0".parse().unwrap(), Some(&ip.to_string()), Storage::Memory).await.unwrap();
    let bootstrap = broker.bootstrap();
    assert!(bootstrap.starts_with(&ip.to_string()), "{bootstrap}");
    let kafka = streamlab::kafka::KafkaConfig::new(bootstrap.clone());
    streamlab::kafka::admin::ensure_topics(&kafka, &["py_public_a", "py_public_b"], 3).await.unwrap();
    let out = run_script("kafka_python_roundtrip.py", &bootstrap, "py_public_a").await;
    assert!(out.contains("acknowledged 3") && out.contains("consumed 3") && out.contains("committed 3"), "{out}");
    let out = run_script("confluent_roundtrip.py", &bootstrap, "py_public_b").await;
    assert!(out.contains("delivered 10") && out.contains("consumed 10"), "{out}");
    broker.stop().await;
}

/// A subscriber that knows nothing of streamlab: the "Connect a client" snippet in
/// kafka-python, installed as `pip install kafka-python` (no compression codecs), reads the
/// inference service's predictions.
#[tokio::test(flavor = "multi_thread")]
async fn kafka_python_as_installed_reads_the_services_predictions() {
    use streamlab::inference::InferenceConfig;
    if !require(python_has("kafka"), "python3 with kafka-python") {
        return;
    }
    let b = start_broker().await;
    let config = InferenceConfig {
        requests: "py_sub_requests".into(),
        predictions: "py_sub_predictions".into(),
        dead_letters: "py_sub_dead".into(),
        group: "py-sub-inference".into(),
        ..InferenceConfig::default()
    };
    for t in [&config.requests, &config.predictions, &config.dead_letters] {
        b.create_topic(t, 3).await;
    }
    let (stop, _metrics, handle) = crate::support::run_service(b.kafka.clone(), config.clone());
    let producer = b.producer();
    for i in 0..50 {
        let value = crate::support::valid_request(i);
        let key = format!("k{i}");
        producer
            .send(
                rdkafka::producer::FutureRecord::to(&config.requests).key(&key).payload(&value),
                std::time::Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    let path = format!("{}/tests/python/prediction_subscriber.py", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new("timeout")
        .args(["60", "python3", &path, &b.bootstrap(), &config.predictions, "50"])
        .output()
        .await
        .unwrap();
    stop.trigger();
    handle.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("predictions 50 "), "{stdout}");
}

crate::on_both_brokers!(
    kafka_python_producer_with_callbacks_and_group_consumer,
    confluent_kafka_producer_and_group_consumer
);
