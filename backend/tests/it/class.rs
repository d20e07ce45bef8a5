//! A lab a whole class shares: what a client on another machine may do by default, class
//! mode's namespaces over HTTP and the websocket, bad tokens and names, and a broker that
//! clients on other machines can reach (`--advertise`), with `streamlab doctor` on it.

use crate::support::{LabOptions, lab_access, next_matching, send_json, serve_lab_opts};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use streamlab::exercises::class::Class;
use streamlab::web::access::Access;
use streamlab_wire::{ClusterInfo, DoctorCheck, ServerMessage, TopicInfo, Whoami};

const SECRET: &str = "the class secret of this test";

/// An HTTP client of the lab, signed in with `token` if given.
struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    fn new(addr: SocketAddr, token: Option<&str>) -> Self {
        Client { base: format!("http://{addr}"), token: token.map(str::to_owned), http: reqwest::Client::new() }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            r = r.json(&b);
        }
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    async fn topics(&self) -> Vec<String> {
        let (status, body) = self.get("/api/topics").await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_value::<Vec<TopicInfo>>(body).unwrap().into_iter().map(|t| t.name).collect()
    }

    /// Waits until the sampler lists `topic` for this client.
    async fn wait_topic(&self, topic: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.topics().await.iter().any(|t| t == topic) {
            assert!(Instant::now() < deadline, "{topic} never listed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn error_of(body: &Value) -> String {
    body["error"].as_str().unwrap_or_default().to_owned()
}

/// Asserts a refusal: its status, and a message that says `says`.
fn refused((status, body): (StatusCode, Value), expected: StatusCode, says: &str) {
    assert_eq!(status, expected, "{body}");
    assert!(error_of(&body).contains(says), "expected the error to say {says:?}: {body}");
}

/// The address to reach the lab at from "another machine": this machine's own network
/// address, so the server sees a client that is not loopback.
fn remote(addr: SocketAddr) -> Option<SocketAddr> {
    let ip = crate::support::non_loopback_ip();
    crate::support::require(ip.is_some(), "a network interface besides loopback");
    ip.map(|ip| SocketAddr::new(ip, addr.port()))
}

#[tokio::test(flavor = "multi_thread")]
async fn by_default_only_the_lab_machine_may_delete_reset_or_switch_the_generator() {
    let (addr, _stop) = serve_lab_opts(LabOptions { web: "0.0.0.0:0".parse().unwrap(), ..LabOptions::default() }).await;
    let Some(remote) = remote(addr) else { return };
    let local = Client::new(SocketAddr::from(([127, 0, 0, 1], addr.port())), None);
    let student = Client::new(remote, None);

    // What a course does stays open: creating a topic, writing to and reading it.
    assert_eq!(student.post("/api/topics", json!({"name": "sandbox", "partitions": 1})).await.0, StatusCode::CREATED);
    student.wait_topic("sandbox").await;
    assert_eq!(student.post("/api/topics/sandbox/records", json!({"value": "hi"})).await.0, StatusCode::CREATED);
    assert_eq!(student.get("/api/topics/sandbox/records?from=earliest").await.0, StatusCode::OK);
    assert_eq!(student.get("/api/whoami").await.1["role"], "guest");
    assert_eq!(local.get("/api/whoami").await.1["role"], "teacher");

    // What changes what everyone else sees is refused, saying how to allow it.
    refused(student.delete("/api/topics/sandbox").await, StatusCode::UNAUTHORIZED, "--admin-token");
    refused(
        student.post("/api/groups/anyone/reset", json!({"to": "earliest"})).await,
        StatusCode::UNAUTHORIZED,
        "only the machine the lab runs on",
    );
    refused(student.post("/api/generator", json!({"running": true})).await, StatusCode::UNAUTHORIZED, "generator");
    refused(student.get("/api/classroom").await, StatusCode::UNAUTHORIZED, "grades");
    refused(student.delete("/api/topics/mushroom_prediction").await, StatusCode::FORBIDDEN, "lab's own topics");
    assert!(student.topics().await.contains(&"sandbox".to_owned()), "nothing was deleted");

    // The lab's machine may, except the lab's own topics, which need --allow-lab-topic-delete.
    refused(local.delete("/api/topics/mushroom_prediction").await, StatusCode::FORBIDDEN, "--allow-lab-topic-delete");
    assert!(local.topics().await.contains(&"mushroom_prediction".to_owned()));
    assert_eq!(local.delete("/api/topics/sandbox").await.0, StatusCode::NO_CONTENT);
    assert_eq!(local.get("/api/classroom").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_teacher_may_delete_lab_topics_with_the_flag() {
    let access = Access { admin_token: Some("teach-token".into()), allow_lab_topic_delete: true, ..lab_access() };
    let (addr, _stop) = serve_lab_opts(LabOptions { access, ..LabOptions::default() }).await;
    let teacher = Client::new(addr, Some("teach-token"));
    refused(
        Client::new(addr, None).delete("/api/topics/mushroom_prediction").await,
        StatusCode::UNAUTHORIZED,
        "admin token",
    );
    assert_eq!(teacher.delete("/api/topics/mushroom_prediction").await.0, StatusCode::NO_CONTENT);
}

fn class_lab() -> (LabOptions, Class) {
    let class = Class::new(SECRET, vec!["alice".into(), "bob".into()]);
    let access = Access { admin_token: Some("teach-token".into()), class: Some(class.clone()), ..lab_access() };
    (LabOptions { access, ..LabOptions::default() }, class)
}

#[tokio::test(flavor = "multi_thread")]
async fn in_class_mode_a_student_keeps_to_her_namespace_and_the_teacher_may_do_everything() {
    let (options, class) = class_lab();
    let (addr, _stop) = serve_lab_opts(options).await;
    let alice = Client::new(addr, Some(&class.token("alice", None).unwrap()));
    let bob = Client::new(addr, Some(&class.token("bob", None).unwrap()));
    let teacher = Client::new(addr, Some("teach-token"));
    let guest = Client::new(addr, None);
    assert_eq!(
        serde_json::from_value::<Whoami>(alice.get("/api/whoami").await.1).unwrap(),
        Whoami { role: "student".into(), student: Some("alice".into()), class_mode: true }
    );

    // Bob works in his namespace: a topic, records, a group that committed.
    assert_eq!(bob.post("/api/topics", json!({"name": "bob.numbers", "partitions": 1})).await.0, StatusCode::CREATED);
    bob.wait_topic("bob.numbers").await;
    for n in 0..3 {
        assert_eq!(
            bob.post("/api/topics/bob.numbers/records", json!({"value": n.to_string()})).await.0,
            StatusCode::CREATED
        );
    }
    let cluster: ClusterInfo = serde_json::from_value(teacher.get("/api/cluster").await.1).unwrap();
    commit_group(&cluster.bootstrap, "bob.readers", "bob.numbers");
    wait_group(&teacher, "bob.readers").await;

    // Alice can neither see, read, write, delete nor reset any of it.
    assert!(!alice.topics().await.iter().any(|t| t.starts_with("bob.")), "{:?}", alice.topics().await);
    let (_, groups) = alice.get("/api/groups").await;
    assert!(!groups.to_string().contains("bob.readers"), "{groups}");
    let forbidden = StatusCode::FORBIDDEN;
    refused(
        alice.get("/api/topics/bob.numbers/records?from=earliest").await,
        forbidden,
        "alice may not read bob's topic",
    );
    refused(
        alice.post("/api/topics/bob.numbers/records", json!({"value": "x"})).await,
        forbidden,
        "may not write to bob's",
    );
    refused(alice.delete("/api/topics/bob.numbers").await, forbidden, "may not delete bob's topic");
    refused(alice.post("/api/topics", json!({"name": "bob.mine", "partitions": 1})).await, forbidden, "bob's topic");
    refused(alice.get("/api/groups/bob.readers").await, forbidden, "bob's group");
    refused(
        alice.post("/api/groups/bob.readers/reset", json!({"to": "earliest"})).await,
        forbidden,
        "may not reset bob's group",
    );
    refused(alice.get("/api/exercises/1/check?student=bob").await, forbidden, "alice may not see bob's exercises");
    refused(alice.get("/api/progress?student=bob").await, forbidden, "bob's exercises");
    refused(alice.get("/api/doctor?group=bob.readers").await, forbidden, "bob's group");
    refused(alice.get("/api/classroom").await, forbidden, "only the teacher");
    refused(alice.post("/api/generator", json!({"running": true})).await, forbidden, "only the teacher");
    // The lab's topics: read, not written; names outside any namespace are not hers to make.
    assert_eq!(alice.get("/api/topics/mushroom_prediction/records").await.0, StatusCode::OK);
    refused(
        alice.post("/api/topics/mushroom_inference_request/records", json!({"value": "{}"})).await,
        forbidden,
        "alice.",
    );
    refused(
        alice.post("/api/topics", json!({"name": "numbers", "partitions": 1})).await,
        forbidden,
        "names starting with `alice.`",
    );

    // In her namespace she may do everything, and her check is her own by default.
    assert_eq!(
        alice.post("/api/topics", json!({"name": "alice.numbers", "partitions": 1})).await.0,
        StatusCode::CREATED
    );
    alice.wait_topic("alice.numbers").await;
    assert_eq!(alice.post("/api/topics/alice.numbers/records", json!({"value": "1"})).await.0, StatusCode::CREATED);
    assert_eq!(alice.get("/api/topics/alice.numbers/records?from=earliest").await.0, StatusCode::OK);
    let (status, report) = alice.get("/api/exercises/1/check").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["student"], "alice", "{report}");
    assert_eq!(alice.delete("/api/topics/alice.numbers").await.0, StatusCode::NO_CONTENT);

    // A guest reads the lab's topics and nothing of anyone's namespace.
    assert_eq!(guest.get("/api/topics/mushroom_prediction/records").await.0, StatusCode::OK);
    refused(
        guest.get("/api/topics/bob.numbers/records").await,
        StatusCode::UNAUTHORIZED,
        "sign in with your class token",
    );
    refused(
        guest.post("/api/topics", json!({"name": "x", "partitions": 1})).await,
        StatusCode::UNAUTHORIZED,
        "class token",
    );

    // Over the websocket, the same rules.
    let alice_token = class.token("alice", None).unwrap();
    let mut ws = crate::support::connect_path(addr, &format!("{}?token={alice_token}", streamlab_wire::WS_PATH)).await;
    let who = next_matching(&mut ws, |m| match m {
        ServerMessage::Hello { who, .. } => Some(who),
        _ => None,
    })
    .await;
    assert_eq!(who.student.as_deref(), Some("alice"));
    let listed = next_matching(&mut ws, |m| match m {
        ServerMessage::Topics { topics } => Some(topics),
        _ => None,
    })
    .await;
    assert!(
        listed.iter().any(|t| t.name == "mushroom_prediction") && !listed.iter().any(|t| t.name.starts_with("bob."))
    );
    send_json(&mut ws, json!({"type": "subscribe", "subscription": 1, "topic": "bob.numbers"})).await;
    let error = ws_error(&mut ws).await;
    assert!(error.contains("alice may not read bob's topic bob.numbers"), "{error}");
    send_json(&mut ws, json!({"type": "watch_exercise", "exercise": "1", "student": "bob"})).await;
    let error = ws_error(&mut ws).await;
    assert!(error.contains("may not see bob's exercises"), "{error}");
    send_json(&mut ws, json!({"type": "subscribe", "subscription": 2, "topic": "mushroom_prediction"})).await;
    next_matching(&mut ws, |m| matches!(m, ServerMessage::Subscribed { subscription: 2, .. }).then_some(())).await;

    // The teacher sees and may do everything.
    let (status, records) = teacher.get("/api/topics/bob.numbers/records?from=earliest").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(records.as_array().unwrap().len(), 3, "bob's records are all there after alice's attempts");
    assert_eq!(teacher.get("/api/classroom").await.0, StatusCode::OK);
    let mut teacher_ws =
        crate::support::connect_path(addr, &format!("{}?token=teach-token", streamlab_wire::WS_PATH)).await;
    send_json(
        &mut teacher_ws,
        json!({"type": "subscribe", "subscription": 1, "topic": "bob.numbers", "from": {"at": "earliest"}}),
    )
    .await;
    next_matching(&mut teacher_ws, |m| matches!(m, ServerMessage::Subscribed { subscription: 1, .. }).then_some(()))
        .await;
    assert_eq!(teacher.delete("/api/topics/bob.numbers").await.0, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tokens_and_names_get_a_clear_4xx_and_change_nothing() {
    let (options, class) = class_lab();
    let (addr, _stop) = serve_lab_opts(options).await;
    let bob = Client::new(addr, Some(&class.token("bob", None).unwrap()));
    assert_eq!(bob.post("/api/topics", json!({"name": "bob.numbers", "partitions": 1})).await.0, StatusCode::CREATED);
    bob.wait_topic("bob.numbers").await;
    assert_eq!(bob.post("/api/topics/bob.numbers/records", json!({"value": "1"})).await.0, StatusCode::CREATED);

    let bobs_mac = class.token("bob", None).unwrap().split_once('.').unwrap().1.to_owned();
    let expired = class.token("alice", Some("2020-01-31")).unwrap();
    let other_class = Class::new("another class's secret", vec!["alice".into()]).token("alice", None).unwrap();
    let unauthorized = StatusCode::UNAUTHORIZED;
    for (token, says) in [
        (format!("alice.{bobs_mac}"), "not valid for this lab"),
        (expired, "expired after 2020-01-31"),
        (other_class, "not valid for this lab"),
        ("alice".to_owned(), "not a class token"),
        ("../bob.AAAAAAAAAAAAAAAAAAAAAA".to_owned(), "not a class token"),
        // A Cyrillic "а" in front: not on the roster.
        (format!("\u{430}lice.{bobs_mac}"), "is not on this class's roster"),
        ("teach-toke".to_owned(), "not a class token"),
    ] {
        let client = Client::new(addr, Some(&token));
        refused(client.delete("/api/topics/bob.numbers").await, unauthorized, says);
        refused(client.get("/api/topics").await, unauthorized, says);
    }
    // The websocket refuses the upgrade with the same reason.
    let bad =
        tokio_tungstenite::connect_async(format!("ws://{addr}{}?token=alice.nope", streamlab_wire::WS_PATH)).await;
    match bad {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), unauthorized),
        other => panic!("a bad token opened a socket: {other:?}"),
    }

    // Names that try to leave a namespace or look like another one are bad requests.
    let alice = Client::new(addr, Some(&class.token("alice", None).unwrap()));
    for path in [
        "/api/topics/..%2Fbob.numbers",
        "/api/topics/%2e%2e",
        "/api/topics/alice.%2e%2e%2Fbob.numbers",
        "/api/topics/b%D0%BEb.numbers",
    ] {
        let (status, body) = alice.delete(path).await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND, "{path}: {status} {body}");
        assert!(!error_of(&body).is_empty() || status == StatusCode::NOT_FOUND, "{path}: {body}");
    }
    refused(
        alice.post("/api/topics", json!({"name": "alice/../bob.x", "partitions": 1})).await,
        StatusCode::BAD_REQUEST,
        "",
    );
    refused(
        alice.post("/api/topics", json!({"name": "b\u{43e}b.x", "partitions": 1})).await,
        StatusCode::BAD_REQUEST,
        "",
    );

    // Nothing changed and the server is up.
    let teacher = Client::new(addr, Some("teach-token"));
    let (status, records) = teacher.get("/api/topics/bob.numbers/records?from=earliest").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(records.as_array().unwrap().len(), 1);
    assert_eq!(reqwest::get(format!("http://{addr}/healthz")).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_on_another_machine_is_told_an_address_it_can_connect_to() {
    let Some(ip) = crate::support::non_loopback_ip() else {
        crate::support::require(false, "a network interface besides loopback");
        return;
    };
    // Without --advertise, a broker on every interface cannot say where clients connect.
    let refused = streamlab::kafka::broker::EmbeddedBroker::start(
        "0.0.0.0:0".parse().unwrap(),
        None,
        streamlab::kafka::broker::Storage::Memory,
    )
    .await;
    let message = refused.err().expect("refused").to_string();
    assert!(message.contains("--advertise HOST"), "{message}");

    let (addr, _stop) = serve_lab_opts(LabOptions {
        web: "0.0.0.0:0".parse().unwrap(),
        broker: "0.0.0.0:0".parse().unwrap(),
        advertise: Some(ip.to_string()),
        ..LabOptions::default()
    })
    .await;
    let lab = Client::new(SocketAddr::new(ip, addr.port()), None);
    let cluster: ClusterInfo = serde_json::from_value(lab.get("/api/cluster").await.1).unwrap();
    let bootstrap = cluster.bootstrap.clone();
    assert!(bootstrap.starts_with(&format!("{ip}:")), "the lab shows the advertised address: {bootstrap}");
    assert_eq!(cluster.brokers[0].host, ip.to_string(), "metadata names the advertised host: {cluster:?}");

    // A plain client on the network address: metadata, a write and a read, nothing of ours.
    let bootstrap_for_client = bootstrap.clone();
    let read = tokio::task::spawn_blocking(move || round_trip(&bootstrap_for_client)).await.unwrap();
    assert_eq!(read, "over the network");

    // The hello and the doctor say the same.
    let mut ws = crate::support::connect_path(SocketAddr::new(ip, addr.port()), streamlab_wire::WS_PATH).await;
    let (brokers, reachable) = next_matching(&mut ws, |m| match m {
        ServerMessage::Hello { brokers, reachable_from_other_machines, .. } => {
            Some((brokers, reachable_from_other_machines))
        }
        _ => None,
    })
    .await;
    assert_eq!(brokers, bootstrap);
    assert!(reachable);
    let (status, checks) = lab.get("/api/doctor?topic=mushroom_prediction").await;
    assert_eq!(status, StatusCode::OK);
    let checks: Vec<DoctorCheck> = serde_json::from_value(checks).unwrap();
    let advertised = checks.iter().find(|c| c.name == "advertised").expect("an advertised check");
    assert!(advertised.ok && advertised.detail.contains(&bootstrap), "{checks:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_says_what_to_do_when_nothing_arrives() {
    // A broker that advertises an address nobody can resolve: the classic "connects, then
    // nothing" of a broker in a container.
    let broker = streamlab::kafka::broker::EmbeddedBroker::start(
        "127.0.0.1:0".parse().unwrap(),
        Some("broker.invalid"),
        streamlab::kafka::broker::Storage::Memory,
    )
    .await
    .unwrap();
    let bootstrap = broker.addr().to_string();
    let (code, out) = doctor(&["--brokers", &bootstrap]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("ok    bootstrap") && out.contains("FAIL  advertised"), "{out}");
    assert!(out.contains("broker.invalid") && out.contains("--advertise"), "{out}");

    // Nothing listening at all.
    let (code, out) = doctor(&["--brokers", "127.0.0.1:1"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("FAIL  bootstrap") && out.contains("Is the lab running"), "{out}");

    // A good broker, a topic with records and a group that has committed nothing: the
    // auto.offset.reset trap, explained.
    let (addr, _stop) = serve_lab_opts(LabOptions::default()).await;
    let lab = Client::new(addr, None);
    let cluster: ClusterInfo = serde_json::from_value(lab.get("/api/cluster").await.1).unwrap();
    assert_eq!(lab.post("/api/topics", json!({"name": "numbers", "partitions": 1})).await.0, StatusCode::CREATED);
    lab.wait_topic("numbers").await;
    assert_eq!(lab.post("/api/topics/numbers/records", json!({"value": "1"})).await.0, StatusCode::CREATED);
    let (code, out) = doctor(&["--brokers", &cluster.bootstrap, "--topic", "numbers"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ok    advertised") && out.contains("numbers: 1 partition, 1 record"), "{out}");
    assert!(out.contains(&format!("bootstrap_servers=\"{}\"", cluster.bootstrap)), "the snippet: {out}");
    // The Python the exercises run with: its clients import and reach the broker.
    assert!(out.contains(&format!("reaches {} and lists", cluster.bootstrap)), "{out}");
    assert!(out.contains("ok    kafka-python") && out.contains("ok    fastavro"), "{out}");
    // A Python without them (no site packages): the one command that installs them.
    let bare = std::env::temp_dir().join(format!("streamlab-bare-python-{}", std::process::id()));
    std::fs::write(&bare, "#!/bin/sh\nexec python3 -S \"$@\"\n").unwrap();
    std::fs::set_permissions(&bare, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (code, out) = doctor(&["--brokers", &cluster.bootstrap, "--python", bare.to_str().unwrap()]);
    std::fs::remove_file(&bare).unwrap();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("ok    bootstrap") && out.contains("FAIL  kafka-python"), "{out}");
    assert!(out.contains(&format!("→ {}", streamlab_wire::PYTHON_INSTALL)), "{out}");
    assert_eq!(doctor(&["--brokers", &cluster.bootstrap, "--no-python"]).0, Some(0));
    let (code, out) = doctor(&["--brokers", &cluster.bootstrap, "--group", "nobody-yet"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("no group nobody-yet") && out.contains("auto_offset_reset='earliest'"), "{out}");
    let (code, out) = doctor(&["--brokers", &cluster.bootstrap, "--topic", "nmbers"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("nmbers does not exist") && out.contains("creates no topic"), "{out}");
    let (status, checks) = lab.get("/api/doctor?group=nobody-yet").await;
    assert_eq!(status, StatusCode::OK);
    assert!(checks.to_string().contains("auto.offset.reset"), "{checks}");
    drop(broker);
}

/// The same checks on one Apache Kafka node: a topic with a record, a group that has
/// committed nothing, a misspelt topic.
#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_a_kafka_cluster_as_it_checks_the_lab() {
    let Some(b) = crate::support::start_kafka_broker().await else { return };
    let bootstrap = b.bootstrap();
    b.create_topic("numbers", 1).await;
    b.produce("numbers", 1).await;
    let (code, out) = doctor(&["--brokers", &bootstrap, "--topic", "numbers"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ok    advertised") && out.contains("numbers: 1 partition, 1 record"), "{out}");
    let (code, out) = doctor(&["--brokers", &bootstrap, "--group", "nobody-yet"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no group nobody-yet") && out.contains("auto_offset_reset='earliest'"), "{out}");
    let (code, out) = doctor(&["--brokers", &bootstrap, "--topic", "nmbers"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("nmbers does not exist"), "{out}");
}

/// Runs `streamlab doctor ARGS`; its exit code and output.
fn doctor(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_streamlab")).arg("doctor").args(args).output().unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Produces one record to a new topic and reads it back, as a client that knows only the
/// bootstrap string.
fn round_trip(bootstrap: &str) -> String {
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    let config = streamlab::kafka::KafkaConfig::new(bootstrap);
    let producer: ThreadedProducer<DefaultProducerContext> = config.client().create().unwrap();
    producer.send(BaseRecord::<(), str>::to("network").payload("over the network")).unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
    let consumer: BaseConsumer =
        config.client().set("group.id", "network-readers").set("auto.offset.reset", "earliest").create().unwrap();
    consumer.subscribe(&["network"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            return String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
        }
    }
    panic!("nothing read back from {bootstrap}");
}

/// A consumer of `group` that reads `topic` and commits, then leaves.
fn commit_group(bootstrap: &str, group: &str, topic: &str) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    let consumer: BaseConsumer = streamlab::kafka::KafkaConfig::new(bootstrap)
        .client()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(200)) {
            consumer.commit_consumer_state(CommitMode::Sync).unwrap();
            return;
        }
    }
    panic!("{group} read nothing of {topic}");
}

async fn wait_group(client: &Client, group: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while client.get(&format!("/api/groups/{group}")).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "{group} never listed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn ws_error(ws: &mut crate::support::Socket) -> String {
    next_matching(ws, |m| match m {
        ServerMessage::Error { message } => Some(message),
        _ => None,
    })
    .await
}

/// A class behind one address (a school's NAT): each signed-in student is held to her own
/// request rate, guests to their address's, and a 429 says whose limit it was and when to
/// retry. Guessed tokens count against the address.
#[tokio::test(flavor = "multi_thread")]
async fn students_behind_one_address_each_have_their_own_rate_limit() {
    let (mut options, class) = class_lab();
    options.limits.requests_per_second = 10.0;
    let (addr, _stop) = serve_lab_opts(options).await;
    let (alice, bob) = (class.token("alice", None).unwrap(), class.token("bob", None).unwrap());
    let http = reqwest::Client::new();
    let get = |token: Option<String>| {
        let mut r = http.get(format!("http://{addr}/api/whoami"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    // Alice goes over hers (bursts of twice the rate pass).
    let mut refused = None;
    for _ in 0..40 {
        let r = get(Some(alice.clone())).await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("40 requests at once go over a limit of 10/s");
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let message: Value = refused.json().await.unwrap();
    assert!(message.to_string().contains("student alice"), "{message}");
    // Bob, from the same address at the same moment, is not held to alice's limit.
    assert_eq!(get(Some(bob)).await.unwrap().status(), StatusCode::OK, "bob has a limit of his own");
    // Guests share the address's; a guessed token counts against it too.
    let mut guest_refused = None;
    for _ in 0..40 {
        let r = get(None).await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            guest_refused = Some(r.json::<Value>().await.unwrap());
            break;
        }
    }
    let message = guest_refused.expect("guests go over the address's limit");
    assert!(message.to_string().contains("address 127.0.0.1"), "{message}");
    let guessed = format!("alice.{}", "A".repeat(22));
    assert_eq!(get(Some(guessed)).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS, "a guessed token waits too");
    // A second later alice is served again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(Some(alice)).await.unwrap().status(), StatusCode::OK);
}
