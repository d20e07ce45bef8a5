//! What the suites share: a real embedded broker on an ephemeral loopback port and clients
//! for it, the lab served on port 0 with a websocket to it, and the rule that a tool missing
//! in CI is a failure, not a skip. [`webdriver`] drives headless Chromium.

pub mod kafka;
pub mod webdriver;

use rdkafka::ClientConfig;
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::sync::Arc;
use std::time::Duration;
use streamlab::inference::{InferenceConfig, InferenceMetrics, InferenceService};
use streamlab::kafka::KafkaConfig;
use streamlab::kafka::admin::ensure_topics;
use streamlab::kafka::broker::{EmbeddedBroker, Storage};
use streamlab::kafka::metadata::wait_ready;
use streamlab::shutdown::Shutdown;
use streamlab_model::Artifact;

pub struct TestBroker {
    /// Held: the broker stops when the test drops its `TestBroker`.
    broker: Held,
    pub kafka: KafkaConfig,
}

enum Held {
    Embedded(#[allow(dead_code)] EmbeddedBroker),
    /// A node of Apache Kafka, and the suite's turn its JVM takes.
    Kafka(#[allow(dead_code)] kafka::Cluster, #[allow(dead_code)] Turn),
}

/// One Apache Kafka node (`./lab kafka start`) for a test of the broker matrix; `None` (the
/// test skips) when Java is missing outside CI. Holds the "kafka" heavy turn.
pub async fn start_kafka_broker() -> Option<TestBroker> {
    if !kafka::java_here() {
        return None;
    }
    let turn = heavy("kafka");
    let cluster = tokio::task::spawn_blocking(|| kafka::Cluster::start(1)).await.unwrap();
    let kafka = cluster.kafka();
    Some(TestBroker { broker: Held::Kafka(cluster, turn), kafka })
}

/// `#[tokio::test]`s of each named `async fn(TestBroker)`, on both brokers the lab runs on:
/// `NAME::embedded` and `NAME::kafka` (one Apache Kafka node).
/// `on_both_brokers!(turn = "SUITE"; NAME, ..)`: the embedded broker's test takes SUITE's
/// heavy turn (Kafka's takes Kafka's).
#[macro_export]
macro_rules! on_both_brokers {
    (turn = $suite:literal; $($name:ident),* $(,)?) => {
        $crate::on_both_brokers!(@turn Some($suite); $($name),*);
    };
    (@turn $turn:expr; $($name:ident),*) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn embedded() {
                let _turn = $turn.map($crate::support::heavy);
                super::$name($crate::support::start_broker().await).await
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn kafka() {
                if let Some(b) = $crate::support::start_kafka_broker().await {
                    super::$name(b).await
                }
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {
        $crate::on_both_brokers!(@turn None::<&'static str>; $($name),*);
    };
}

/// Starts an in-memory embedded broker on a free loopback port.
pub async fn start_broker() -> TestBroker {
    let broker = EmbeddedBroker::start("127.0.0.1:0".parse().unwrap(), None, Storage::Memory)
        .await
        .expect("embedded broker starts");
    let kafka = KafkaConfig::new(broker.bootstrap());
    let ready = kafka.clone();
    tokio::task::spawn_blocking(move || wait_ready(&ready, Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("broker answers metadata");
    TestBroker { broker: Held::Embedded(broker), kafka }
}

impl TestBroker {
    /// True on Apache Kafka, where some answers differ from the embedded broker's.
    pub fn is_kafka(&self) -> bool {
        matches!(self.broker, Held::Kafka(..))
    }

    pub fn bootstrap(&self) -> String {
        self.kafka.bootstrap.clone()
    }

    pub async fn create_topic(&self, name: &str, partitions: i32) {
        ensure_topics(&self.kafka, &[name], partitions).await.expect("topic created");
    }

    pub fn producer(&self) -> FutureProducer {
        self.kafka.client().set("message.timeout.ms", "10000").create().expect("producer")
    }

    pub fn consumer_config(&self, group: &str) -> ClientConfig {
        let mut c = self.kafka.client();
        c.set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "500");
        c
    }

    pub fn consumer(&self, group: &str) -> BaseConsumer {
        self.consumer_config(group).create().expect("consumer")
    }

    /// Produces `n` records `key-i` / `value-i` and waits for every acknowledgement.
    pub async fn produce(&self, topic: &str, n: usize) {
        let producer = self.producer();
        for i in 0..n {
            let (key, value) = (format!("key-{i}"), format!("value-{i}"));
            producer
                .send(FutureRecord::to(topic).key(&key).payload(&value), Duration::from_secs(10))
                .await
                .expect("record acknowledged");
        }
    }
}

/// Polls `consumer` until `n` records arrived or `timeout` passed.
pub fn poll_n(consumer: &BaseConsumer, n: usize, timeout: Duration) -> Vec<rdkafka::message::OwnedMessage> {
    let deadline = std::time::Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < n && std::time::Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            out.push(m.expect("no consumer error").detach());
        }
    }
    out
}

/// The first `n` records of `topic`, every partition from its start (waits up to 2 min).
pub fn read_from_start(kafka: &KafkaConfig, topic: &str, n: usize) -> Vec<rdkafka::message::OwnedMessage> {
    use rdkafka::consumer::Consumer;
    let c: BaseConsumer = kafka.client().set("group.id", format!("read-{}", uuid::Uuid::new_v4())).create().unwrap();
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), rdkafka::Offset::Beginning).unwrap();
    }
    c.assign(&tpl).unwrap();
    poll_n(&c, n, Duration::from_secs(120))
}

/// The heavy suite running now, and how many of its tests.
struct Gate {
    suite: Option<&'static str>,
    running: usize,
}

static GATE: std::sync::Mutex<Gate> = std::sync::Mutex::new(Gate { suite: None, running: 0 });
static GATE_FREED: std::sync::Condvar = std::sync::Condvar::new();

/// A heavy suite's turn (the module doc of `main.rs` says why): held by each of its tests
/// while it runs. Tests of one heavy suite run beside each other, as they did when each suite
/// was a binary of its own; tests of two heavy suites never do. A test that failed while
/// holding it must not fail the ones after it, so a poisoned lock is taken as it is.
pub fn heavy(suite: &'static str) -> Turn {
    let mut gate = GATE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    while gate.suite.is_some_and(|s| s != suite) {
        gate = GATE_FREED.wait(gate).unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    gate.suite = Some(suite);
    gate.running += 1;
    Turn(())
}

/// See [`heavy`]; its drop lets another heavy suite run.
pub struct Turn(());

impl Drop for Turn {
    fn drop(&mut self) {
        let mut gate = GATE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        gate.running -= 1;
        if gate.running == 0 {
            gate.suite = None;
            GATE_FREED.notify_all();
        }
    }
}

/// A loopback port free a moment ago, for a process that must be told its port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `curl -s -w STATUS` as a student types it: the answer's JSON and its status.
pub fn curl(args: &[&str]) -> (u16, serde_json::Value) {
    let out = std::process::Command::new("curl").args(["-s", "-w", "\n%{http_code}"]).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

/// True when this run is CI, where a missing tool is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (returns false) or, in CI, fails when `what` is missing.
pub fn require(available: bool, what: &str) -> bool {
    if !available {
        assert!(!in_ci(), "{what} is required in CI (.ci/run installs it)");
        eprintln!("SKIPPED: {what} is not available here");
    }
    available
}

/// Starts the lab (embedded broker on a free port, with or without inference) and serves
/// it on a free loopback port until the returned sender is dropped.
pub async fn serve_lab(inference: bool) -> (std::net::SocketAddr, StopOnDrop) {
    serve_lab_opts(LabOptions { inference, ..LabOptions::default() }).await
}

/// How a test's lab is set up; the defaults are the lab's own (an open lab, its own
/// topics protected), on loopback.
pub struct LabOptions {
    pub inference: bool,
    pub limits: streamlab::web::guard::Limits,
    pub access: streamlab::web::access::Access,
    /// Where the web app listens.
    pub web: std::net::SocketAddr,
    pub broker: std::net::SocketAddr,
    pub advertise: Option<String>,
    /// A cluster for the lab (`--brokers`) instead of its embedded broker.
    pub kafka: Option<KafkaConfig>,
    /// The Kafka Connect worker's REST API (`--connect-url`).
    pub connect_url: String,
    /// Where to serve the Schema Registry; most tests run without one.
    pub schema_registry: Option<std::net::SocketAddr>,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            inference: false,
            limits: Default::default(),
            access: lab_access(),
            web: "127.0.0.1:0".parse().unwrap(),
            broker: "127.0.0.1:0".parse().unwrap(),
            advertise: None,
            kafka: None,
            connect_url: streamlab::kafka::connect::DEFAULT_URL.to_owned(),
            schema_registry: None,
        }
    }
}

/// The access rules of a lab started without flags.
pub fn lab_access() -> streamlab::web::access::Access {
    let lab_topics = streamlab_wire::topics::ALL.iter().map(|t| t.to_string()).collect();
    streamlab::web::access::Access { lab_topics, ..Default::default() }
}

/// This machine's address on its network (not loopback), for tests of what a client on
/// another machine sees; `None` on a machine with no network interface but loopback.
pub fn non_loopback_ip() -> Option<std::net::IpAddr> {
    // Connecting a UDP socket sends nothing; it only picks the interface a packet would leave by.
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("10.255.255.255:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Starts a lab as `options` say; the address is where the web app listens.
pub async fn serve_lab_opts(options: LabOptions) -> (std::net::SocketAddr, StopOnDrop) {
    let (web, _, stop) = serve_lab_with_registry(options).await;
    (web, stop)
}

/// [`serve_lab_opts`], with where the Schema Registry listens if `options` asked for one.
pub async fn serve_lab_with_registry(
    options: LabOptions,
) -> (std::net::SocketAddr, Option<std::net::SocketAddr>, StopOnDrop) {
    let config = streamlab::lab::LabConfig {
        kafka: options.kafka,
        broker_addr: options.broker,
        advertise: options.advertise,
        data_dir: None,
        engine: Default::default(),
        lab_retention_bytes: 128 << 20,
        partitions: 3,
        inference: options.inference.then(Default::default),
        model: std::sync::Arc::new(streamlab_model::Artifact::shipped().unwrap()),
        limits: options.limits,
        access: options.access,
        exercises: std::sync::Arc::new(streamlab::exercises::Catalog::embedded().unwrap()),
        roster: vec!["alice".into(), "bob".into()],
        failure_details: Default::default(),
        connect_url: options.connect_url,
        schema_registry_addr: options.schema_registry,
    };
    let lab = streamlab::lab::Lab::start(&config).await.unwrap();
    let registry = lab.registry_addr();
    let listener = tokio::net::TcpListener::bind(options.web).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    tokio::spawn(lab.serve(listener, shutdown.clone()));
    (addr, registry, StopOnDrop(shutdown))
}

/// Stops a test's lab when the test is done with it.
pub struct StopOnDrop(Shutdown);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.trigger();
    }
}

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(addr: std::net::SocketAddr) -> Socket {
    connect_path(addr, streamlab_wire::WS_PATH).await
}

/// A websocket to `path` (with its query, such as `?token=`).
pub async fn connect_path(addr: std::net::SocketAddr, path: &str) -> Socket {
    tokio_tungstenite::connect_async(format!("ws://{addr}{path}")).await.expect("websocket opens").0
}

/// The next server message, within 15 s.
pub async fn next_message(ws: &mut Socket) -> streamlab_wire::ServerMessage {
    use futures::StreamExt;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("a message within 15 s")
            .expect("socket open")
            .expect("no socket error");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = m {
            return serde_json::from_str(&text).expect("server messages are wire types");
        }
    }
}

/// The next server message for which `pick` returns something, skipping the rest (the
/// server pushes rates, groups and statuses between the answers a test waits for).
pub async fn next_matching<T>(ws: &mut Socket, mut pick: impl FnMut(streamlab_wire::ServerMessage) -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(std::time::Instant::now() < deadline, "the expected message did not come within 30 s");
        if let Some(t) = pick(next_message(ws).await) {
            return t;
        }
    }
}

pub async fn send_json(ws: &mut Socket, value: serde_json::Value) {
    use futures::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(value.to_string().into())).await.expect("sent");
}

/// A valid request drawn deterministically from plausible ranges.
pub fn valid_request(i: usize) -> Vec<u8> {
    let f = streamlab_model::MushroomFeatures::new([
        (i * 37 % 1500) as f64,
        (i % 7) as f64,
        (i / 7 % 7) as f64,
        (i % 12) as f64,
        (i % 300) as f64 / 100.0,
        (i * 53 % 3000) as f64,
        (i % 13) as f64,
        [0.027372133, 0.888450288, 0.943194554, 1.804272709][i % 4],
    ])
    .unwrap();
    f.to_json().to_string().into_bytes()
}

/// The inference service in this process, until the returned shutdown is triggered.
pub fn run_service(
    kafka: KafkaConfig,
    config: InferenceConfig,
) -> (Shutdown, Arc<InferenceMetrics>, std::thread::JoinHandle<()>) {
    let stop = Shutdown::new();
    let metrics = Arc::new(InferenceMetrics::default());
    let service = InferenceService {
        kafka,
        config,
        model: Arc::new(Artifact::shipped().unwrap()),
        metrics: metrics.clone(),
        arrivals: None,
    };
    let s = stop.clone();
    (stop, metrics, std::thread::spawn(move || service.run_until(&s)))
}
