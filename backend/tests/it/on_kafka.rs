//! The guarantees on Apache Kafka, the engine a class moves to (`./lab kafka start`), where
//! the embedded broker cannot show them: transactions, replication, a broker lost.
//!
//! Exactly once, proven: on three nodes, topics created the way the lab creates its own (the
//! cluster's default of three replicas, two in sync), a backlog of 20,000 requests, the
//! service killed with SIGKILL three times mid-backlog and one broker killed while it runs.
//! A `read_committed` subscriber then sees each request answered once. The same with the
//! default (at least once): nothing missing, the duplicates counted.

use crate::inference::{config, outputs_per_request, produce_valid, spawn_infer_logged};
use crate::support::heavy;
use crate::support::kafka::{Cluster, java_here};
use rdkafka::admin::{AdminOptions, ResourceSpecifier};
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use streamlab::inference::InferenceConfig;
use streamlab::kafka::KafkaConfig;
use streamlab::kafka::admin::ensure_topics;

const REQUESTS: i64 = 20_000;

/// Records on the service's output topics so far (aborted ones and markers included: this
/// only says how far along the backlog is). 0 while a lost broker's partitions move.
fn outputs_so_far(kafka: &KafkaConfig, c: &InferenceConfig) -> i64 {
    let consumer: BaseConsumer = kafka.client().create().unwrap();
    let mut total = 0;
    for topic in [&c.predictions, &c.dead_letters] {
        let Ok(md) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) else { return 0 };
        for p in md.topics()[0].partitions() {
            match consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(5)) {
                Ok((_, high)) => total += high,
                Err(_) => return 0,
            }
        }
    }
    total
}

/// Waits until `at_least` outputs; a stall fails with the end of the running instance's log.
fn wait_for_outputs(kafka: &KafkaConfig, c: &InferenceConfig, at_least: i64, service: &Service) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while outputs_so_far(kafka, c) < at_least {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(&service.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!(
                "fewer than {at_least} outputs after 180 s; the end of {}:\n{}",
                service.log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The lab's way of creating its topics, on three nodes: three replicas, two in sync.
async fn create_like_the_lab(kafka: &KafkaConfig, c: &InferenceConfig) {
    let topics = [c.requests.as_str(), c.predictions.as_str(), c.dead_letters.as_str()];
    ensure_topics(kafka, &topics, 4).await.unwrap();
    let consumer: BaseConsumer = kafka.client().create().unwrap();
    let admin = kafka.admin().unwrap();
    for t in topics {
        let md = consumer.fetch_metadata(Some(t), Duration::from_secs(10)).unwrap();
        let replicas: Vec<usize> = md.topics()[0].partitions().iter().map(|p| p.replicas().len()).collect();
        assert_eq!(replicas, [3; 4], "{t}: the cluster's default.replication.factor, not 1");
        let configs = admin.describe_configs(&[ResourceSpecifier::Topic(t)], &AdminOptions::new()).await.unwrap();
        let resource = configs.into_iter().next().unwrap().unwrap();
        let isr = resource.get("min.insync.replicas").and_then(|e| e.value.clone());
        assert_eq!(isr.as_deref(), Some("2"), "{t}: min.insync.replicas");
    }
}

/// Runs `streamlab infer EXTRA` over the backlog: killed (SIGKILL) at 15 %, 40 % and 65 % of
/// it, broker 3 killed at 25 % while the second instance runs, then a last instance until
/// every request has its output. Returns the outputs per request (partition, offset).
fn through_three_kills_and_a_lost_broker(
    cluster: &Cluster,
    c: &InferenceConfig,
    extra: &[&str],
    read_committed: bool,
) -> HashMap<(i32, i64), usize> {
    let kafka = cluster.kafka();
    for (i, percent) in [15, 40, 65].into_iter().enumerate() {
        let service = Service::spawn(cluster, c, extra);
        if i == 1 {
            wait_for_outputs(&kafka, c, REQUESTS * 25 / 100, &service);
            cluster.kill_node(3);
        }
        wait_for_outputs(&kafka, c, REQUESTS * percent / 100, &service);
        drop(service);
        // Outputs of transactions aborted by the kill count too, so this only shows that the
        // kill came before the end.
        let outputs = outputs_so_far(&kafka, c);
        assert!(outputs < REQUESTS, "the backlog was done before kill {} ({outputs} outputs)", i + 1);
    }
    let _last = Service::spawn(cluster, c, extra);
    outputs_per_request(&kafka, c, REQUESTS as usize, read_committed)
}

/// An instance of the service, killed with SIGKILL when dropped (a failed test included).
struct Service {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Service {
    fn spawn(cluster: &Cluster, c: &InferenceConfig, extra: &[&str]) -> Service {
        let log = std::env::temp_dir().join(format!("streamlab-{}-{}.log", c.group, uuid::Uuid::new_v4()));
        Service { child: spawn_infer_logged(&cluster.brokers, c, extra, &log), log }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A short session lets the group drop a killed member quickly; in exactly-once mode the same
/// transactional id fences the killed instance and aborts its open transaction. Small
/// batches and at most 400 outputs on their way (a transaction of a few batches): the backlog
/// then lasts long enough on two cores to be killed three times in its middle.
const KILLED_OFTEN: [&str; 6] = ["--max-batch", "100", "--max-in-flight", "400", "-X", "session.timeout.ms=6000"];

/// Three fresh nodes, the service's topics created as the lab creates them, the backlog, then
/// [`through_three_kills_and_a_lost_broker`] with `streamlab infer EXTRA`.
async fn on_a_fresh_cluster(prefix: &str, extra: &[&'static str], read_committed: bool) -> HashMap<(i32, i64), usize> {
    let cluster = Cluster::start(3);
    let kafka = cluster.kafka();
    let c = config(prefix);
    create_like_the_lab(&kafka, &c).await;
    produce_valid(&kafka, &c.requests, REQUESTS as usize).await;
    let extra = extra.to_vec();
    tokio::task::spawn_blocking(move || through_three_kills_and_a_lost_broker(&cluster, &c, &extra, read_committed))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn exactly_once_holds_through_three_kills_and_a_lost_broker_and_at_least_once_loses_nothing() {
    if !java_here() {
        return;
    }
    // Three JVMs and kills: not beside the one-node Kafka tests, whose JVMs would take the
    // cores the brokers' own timeouts count on.
    let _turn = heavy("kafka-cluster");

    let mut eos = vec!["--exactly-once", "--transactional-id", "eos3-kills"];
    eos.extend(KILLED_OFTEN);
    let per_request = on_a_fresh_cluster("eos3", &eos, true).await;
    let twice = per_request.values().filter(|&&n| n > 1).count();
    assert_eq!(per_request.len() as i64, REQUESTS, "every request answered (read_committed)");
    assert_eq!(twice, 0, "exactly once: no request answered twice");

    // At least once, the default, through the same: nothing lost; duplicates reported.
    let per_request = on_a_fresh_cluster("alo3", &KILLED_OFTEN, false).await;
    let twice = per_request.values().filter(|&&n| n > 1).count();
    assert_eq!(per_request.len() as i64, REQUESTS, "at least once: every request answered");
    eprintln!("at least once through three kills and a lost broker: {twice} of {REQUESTS} requests answered twice");
}
