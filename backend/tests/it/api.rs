//! The live lab API against the embedded broker: every HTTP endpoint, every websocket
//! message, the slow-client skip, the rate sampler and each guard rail with a bad input.

use crate::support::{
    LabOptions, Socket, TestBroker, connect, lab_access, next_matching, send_json, serve_lab, serve_lab_opts,
};
use futures::SinkExt;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use streamlab::kafka::KafkaConfig;
use streamlab::web::access::Access;
use streamlab::web::guard::Limits;
use streamlab_wire::{
    ApiError, ClusterInfo, Decoded, GeneratorStatus, GroupInfo, InferenceStatus, LagSeries, LagTrend, Produced,
    RateSample, RecordView, ServerMessage, TopicConfigs, TopicInfo, Trimmed,
};
use tokio_tungstenite::tungstenite::Message;

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(addr: SocketAddr) -> Self {
        Api { base: format!("http://{addr}"), http: reqwest::Client::new() }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.json().await.unwrap()
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            r = r.json(&b);
        }
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body), None).await
    }

    async fn cluster(&self) -> KafkaConfig {
        KafkaConfig::new(self.get::<ClusterInfo>("/api/cluster").await.bootstrap)
    }

    /// Waits until the sampler lists `topic` (it polls once a second).
    async fn wait_topic(&self, topic: &str) -> TopicInfo {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let topics: Vec<TopicInfo> = self.get("/api/topics").await;
            if let Some(t) = topics.into_iter().find(|t| t.name == topic) {
                return t;
            }
            assert!(Instant::now() < deadline, "{topic} never listed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn error_of(v: &Value) -> String {
    serde_json::from_value::<ApiError>(v.clone()).unwrap_or_else(|_| panic!("an {{\"error\"}} body, got {v}")).error
}

/// The lab on the broker a case runs on: its own embedded broker (`None`), or a Kafka node
/// given with `--brokers`.
async fn lab_on(kafka: &Option<TestBroker>) -> (SocketAddr, crate::support::StopOnDrop) {
    serve_lab_opts(LabOptions { kafka: kafka.as_ref().map(|b| b.kafka.clone()), ..LabOptions::default() }).await
}

/// `NAME::embedded` (the lab's own broker) and `NAME::kafka` (the lab with `--brokers` on one
/// Apache Kafka node) for each `async fn NAME(Option<TestBroker>)`.
macro_rules! lab_on_both_brokers {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn embedded() {
                super::$name(None).await
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn kafka() {
                if let Some(b) = crate::support::start_kafka_broker().await {
                    super::$name(Some(b)).await
                }
            }
        }
    )*};
}

lab_on_both_brokers!(
    cluster_and_topic_admin,
    records_are_read_decoded_and_produced,
    a_page_of_records_is_what_a_plain_consumer_reads,
    groups_are_described_pushed_and_reset,
    a_stopped_groups_lag_grows_at_the_generators_rate_and_shrinks_when_it_resumes,
    topic_settings_retention_compaction_and_trim
);

async fn cluster_and_topic_admin(on: Option<TestBroker>) {
    let (addr, _stop) = lab_on(&on).await;
    let api = Api::new(addr);
    let cluster: ClusterInfo = api.get("/api/cluster").await;
    assert_eq!(cluster.embedded_broker, on.is_none());
    assert_eq!(cluster.brokers.len(), 1);
    assert_eq!(cluster.brokers[0].port.to_string(), cluster.bootstrap.rsplit(':').next().unwrap());

    let (status, body) = api.post("/api/topics", json!({"name": "dev_sandbox", "partitions": 2})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let listed = api.wait_topic("dev_sandbox").await;
    assert_eq!(listed.partitions.len(), 2);
    assert_eq!((listed.partitions[0].low, listed.partitions[0].high, listed.messages), (0, 0, 0));

    let (status, body) = api.post("/api/topics", json!({"name": "dev_sandbox", "partitions": 2})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error_of(&body).contains("already exists"));
    let (status, body) = api.post("/api/topics", json!({"name": "has space", "partitions": 1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("invalid topic name"));
    let (status, body) = api.post("/api/topics", json!({"name": "ok", "partitions": 0})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("partitions must be between 1 and 1000"));
    let (status, body) = api.post("/api/topics", json!({"partitions": 1})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_of(&body).contains("cannot read the request body"));

    let (status, _) = api.call(reqwest::Method::DELETE, "/api/topics/dev_sandbox", None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api.call(reqwest::Method::DELETE, "/api/topics/dev_sandbox", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = api.call(reqwest::Method::GET, "/api/nothing/here", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&body), "no such API endpoint");
}

/// What seed 002 §6.4/§6.6 and seed 003 exercises 2 and 4 teach about a topic's settings,
/// through the API: settings at creation, shown with their source and meaning, changed a
/// key at a time; retention removing old records; compaction keeping the newest per key
/// (Kafka) or said not to happen (the embedded broker); records deleted below an offset.
async fn topic_settings_retention_compaction_and_trim(on: Option<TestBroker>) {
    let embedded = on.is_none();
    let (addr, _stop) = lab_on(&on).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    let setting = |c: &TopicConfigs, k: &str| c.configs.iter().find(|x| x.name == k).cloned();

    let (status, body) =
        api.post("/api/topics", json!({"name": "settings", "configs": {"retention.ms": "600000"}})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    api.wait_topic("settings").await;
    let shown: TopicConfigs = api.get("/api/topics/settings/configs").await;
    let retention = setting(&shown, "retention.ms").unwrap_or_else(|| panic!("retention.ms is shown: {shown:?}"));
    assert_eq!((retention.value.as_deref(), retention.source.as_str()), (Some("600000"), "DYNAMIC_TOPIC_CONFIG"));
    assert!(retention.meaning.as_deref().unwrap_or_default().contains("how long a record is kept"));
    assert_eq!(retention.effect, None, "both brokers follow retention.ms");
    // The embedded broker would take three copies and keep one: refused on both, with the count.
    let (status, body) = api.post("/api/topics", json!({"name": "three_copies", "replicas": 3})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(error_of(&body).contains("3 copies of each partition need 3 brokers; this cluster has 1"), "{body}");

    let change =
        json!({"set": {"cleanup.policy": "compact", "retention.bytes": "1000000"}, "delete": ["retention.ms"]});
    let (status, body) = api.call(reqwest::Method::PATCH, "/api/topics/settings/configs", Some(change), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after: TopicConfigs = serde_json::from_value(body).unwrap();
    assert!(setting(&after, "retention.ms").is_none_or(|c| c.source != "DYNAMIC_TOPIC_CONFIG"), "back to the default");
    assert_eq!(setting(&after, "retention.bytes").and_then(|c| c.value).as_deref(), Some("1000000"));
    let policy = setting(&after, "cleanup.policy").unwrap();
    assert_eq!(policy.value.as_deref(), Some("compact"));
    if embedded {
        assert!(policy.effect.unwrap().contains("does not compact"), "the embedded broker says it keeps, not applies");
    } else {
        assert_eq!(policy.effect, None);
    }
    let (status, body) = api.call(reqwest::Method::PATCH, "/api/topics/settings/configs", Some(json!({})), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("nothing to change"));
    let (status, _) = api.call(reqwest::Method::GET, "/api/topics/nothing_here/configs", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Deleting records below an offset: the log starts there, for a reader and a group alike.
    assert_eq!(api.post("/api/topics", json!({"name": "trimmed"})).await.0, StatusCode::CREATED);
    api.wait_topic("trimmed").await;
    produce_n(&kafka, "trimmed", 10, 0).await;
    let (status, body) = api.post("/api/topics/trimmed/trim", json!({"partition": 0, "offset": 4})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(serde_json::from_value::<Trimmed>(body).unwrap().log_start_offset, 4);
    let read: Vec<RecordView> = api.get("/api/topics/trimmed/records?from=earliest").await;
    assert_eq!(read.iter().map(|r| r.offset).collect::<Vec<_>>(), (4..10).collect::<Vec<_>>());
    let consumer: BaseConsumer =
        kafka.client().set("group.id", "after-the-trim").set("auto.offset.reset", "earliest").create().unwrap();
    consumer.subscribe(&["trimmed"]).unwrap();
    let got = tokio::task::block_in_place(|| crate::support::poll_n(&consumer, 6, Duration::from_secs(30)));
    assert_eq!(
        got.first().map(rdkafka::message::Message::offset),
        Some(4),
        "a group from earliest starts at the new log start"
    );
    let (status, body) = api.post("/api/topics/trimmed/trim", json!({"partition": 0, "offset": 40})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(error_of(&body).contains("past the end"), "{body}");
    let (status, body) = api.post("/api/topics/trimmed/trim", json!({"partition": 7, "offset": 1})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Retention by time: a closed segment whose records are older than retention.ms goes.
    let short = json!({"name": "expiring", "configs": {"segment.ms": "100", "retention.ms": "1000"}});
    assert_eq!(api.post("/api/topics", short).await.0, StatusCode::CREATED);
    produce_n(&kafka, "expiring", 5, 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    produce_n(&kafka, "expiring", 1, 0).await;
    let start = wait_log_start(&api, "expiring", |low| low >= 5).await;
    assert!(start >= 5, "retention.ms moved the log start past the old segment: {start}");

    // Compaction: the newest record per key, on Kafka; every record, on the embedded broker.
    let compacted = json!({"name": "compacted", "configs": {
        "cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"}});
    assert_eq!(api.post("/api/topics", compacted).await.0, StatusCode::CREATED);
    let producer: FutureProducer = kafka.client().create().unwrap();
    for round in 0..10 {
        for key in ["a", "b", "c"] {
            let value = format!("{key}{round}");
            producer
                .send(FutureRecord::to("compacted").key(key).payload(&value), Duration::from_secs(5))
                .await
                .unwrap();
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    producer.send(FutureRecord::to("compacted").key("roll").payload("x"), Duration::from_secs(5)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(if embedded { 8 } else { 60 });
    let values = loop {
        let read: Vec<RecordView> = api.get("/api/topics/compacted/records?from=earliest").await;
        let values: Vec<String> =
            read.iter().map(|r| format!("{}={}", r.key.clone().unwrap_or_default(), decoded_text(&r.value))).collect();
        if (!embedded && values.len() == 4) || Instant::now() > deadline {
            break values;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if embedded {
        assert_eq!(values.len(), 31, "the embedded broker keeps every record of a compacted topic");
    } else {
        assert_eq!(values, ["a=a9", "b=b9", "c=c9", "roll=x"], "Kafka keeps the newest record per key");
    }
}

/// A record's value as text, for comparing.
fn decoded_text(v: &Option<Decoded>) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.get("text").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

/// Waits (up to 60 s) for the topic's first partition's log start offset to satisfy `done`.
async fn wait_log_start(api: &Api, topic: &str, done: impl Fn(i64) -> bool) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let topics: Vec<TopicInfo> = api.get("/api/topics").await;
        let low = topics.iter().find(|t| t.name == topic).and_then(|t| t.partitions.first()).map_or(0, |p| p.low);
        if done(low) || Instant::now() > deadline {
            return low;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The records API reads the embedded broker's logs directly, and Kafka through a consumer:
/// either way a page holds what a consumer that knows nothing of the lab reads, from batches
/// of many records, compressed or not, and a read may start in the middle of a batch.
async fn a_page_of_records_is_what_a_plain_consumer_reads(on: Option<TestBroker>) {
    use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
    let (addr, _stop) = lab_on(&on).await;
    let api = Api::new(addr);
    assert_eq!(api.post("/api/topics", json!({"name": "pages", "partitions": 3})).await.0, StatusCode::CREATED);
    api.wait_topic("pages").await;
    let kafka = api.cluster().await;
    for (i, compression) in ["none", "lz4"].into_iter().enumerate() {
        // Lingering, so that the records go in batches of many.
        let producer: FutureProducer =
            kafka.client().set("linger.ms", "50").set("compression.type", compression).create().unwrap();
        let mut sent = Vec::new();
        for n in 0..150 {
            let (key, value, count) = (format!("k{i}-{n}"), format!("v{i}-{n}"), n.to_string());
            let headers = OwnedHeaders::new().insert(Header { key: "n", value: Some(&count) });
            let record = FutureRecord::to("pages").key(&key).payload(&value).headers(headers);
            sent.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
        }
        for delivery in sent {
            delivery.await.unwrap().map_err(|(e, _)| e).unwrap();
        }
    }
    // (partition, offset, timestamp, key, value, header n) of every record, in offset order.
    type Seen = (i32, i64, i64, String, String, String);
    let k = kafka.clone();
    let consumed =
        tokio::task::spawn_blocking(move || crate::support::read_from_start(&k, "pages", 300)).await.unwrap();
    let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
    let mut all: Vec<Seen> = consumed
        .iter()
        .map(|m| {
            let n = m.headers().and_then(|hs| hs.iter().find(|h| h.key == "n")).and_then(|h| h.value);
            (m.partition(), m.offset(), m.timestamp().to_millis().unwrap(), text(m.key()), text(m.payload()), text(n))
        })
        .collect();
    all.sort();
    assert_eq!(all.len(), 300);
    let seen = |page: &[RecordView]| -> Vec<Seen> {
        let mut out: Vec<Seen> = page
            .iter()
            .map(|r| {
                let value = match &r.value {
                    Some(Decoded::Text { text }) => text.clone(),
                    other => panic!("{other:?}"),
                };
                let n = r.headers.iter().find(|h| h.key == "n").and_then(|h| h.value.clone()).unwrap_or_default();
                (r.partition, r.offset, r.timestamp_ms.unwrap(), r.key.clone().unwrap(), value, n)
            })
            .collect();
        out.sort();
        out
    };
    let get = |q: String| {
        let api = &api;
        async move { api.get::<Vec<RecordView>>(&format!("/api/topics/pages/records?{q}")).await }
    };
    assert_eq!(seen(&get("from=earliest&limit=1000".into()).await), all);

    // From an offset in the middle of the biggest partition, which the batching put in the
    // middle of a batch.
    let biggest = (0..3).max_by_key(|p| all.iter().filter(|s| s.0 == *p).count()).unwrap();
    let of = |p: i32| all.iter().filter(|s| s.0 == p).cloned().collect::<Vec<_>>();
    let part = of(biggest);
    let mid = part[part.len() / 2].1;
    let page = get(format!("partitions={biggest}&from=offset:{mid}&limit=5")).await;
    assert_eq!(seen(&page), part.iter().filter(|s| s.1 >= mid).take(5).cloned().collect::<Vec<_>>());

    // The newest 7 of each partition.
    let newest: Vec<Seen> = (0..3)
        .flat_map(|p| {
            let part = of(p);
            part[part.len().saturating_sub(7)..].to_vec()
        })
        .collect();
    let mut newest = newest;
    newest.sort();
    assert_eq!(seen(&get("from=newest:7".into()).await), newest);

    // From a time: in each partition, from its first record at or after it.
    let at = part[part.len() / 2].2;
    let mut since: Vec<Seen> = (0..3)
        .flat_map(|p| {
            let part = of(p);
            let first = part.iter().position(|s| s.2 >= at).unwrap_or(part.len());
            part[first..].to_vec()
        })
        .collect();
    since.sort();
    assert_eq!(seen(&get(format!("from=timestamp:{at}&limit=1000")).await), since);

    // A limit is a limit, whatever the broker.
    let page = seen(&get("from=earliest&limit=10".into()).await);
    assert_eq!(page.len(), 10);
    assert!(page.iter().all(|s| all.contains(s)));
}

async fn records_are_read_decoded_and_produced(on: Option<TestBroker>) {
    let (addr, _stop) = lab_on(&on).await;
    let api = Api::new(addr);
    assert_eq!(api.post("/api/topics", json!({"name": "msgs", "partitions": 2})).await.0, StatusCode::CREATED);
    api.wait_topic("msgs").await;

    let (status, body) = api
        .post("/api/topics/msgs/records", json!({"key": "k1", "value": "{\"cap-diameter\": 3}", "headers": [{"key": "source", "value": "form"}], "partition": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(serde_json::from_value::<Produced>(body).unwrap(), Produced { partition: 1, offset: 0 });
    for i in 0..10 {
        let (status, _) =
            api.post("/api/topics/msgs/records", json!({"value": format!("n-{i}"), "partition": 0})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // An Avro value, as the experiment producer writes it.
    let kafka = api.cluster().await;
    let cfg = streamlab::load::experiment::ExperimentConfig {
        topic: "msgs".into(),
        document_topic: None,
        experiments: streamlab::load::experiment::config::parse(
            r#"[{"researcher":"r","num_sensors":1,"sample_rate":10,"start_temperature":0,"stabilization_samples":1,"carry_out_samples":0,"temp_range":{"lower_threshold":1,"upper_threshold":2}}]"#,
        )
        .unwrap(),
        secret_key: streamlab::load::experiment::hash::LAB_SECRET_KEY.into(),
        seed: Some(1),
        schema_ids: None,
    };
    let k = kafka.clone();
    tokio::task::spawn_blocking(move || {
        streamlab::load::experiment::run(&k, &cfg, &Default::default(), &Default::default()).unwrap()
    })
    .await
    .unwrap();

    let all: Vec<RecordView> = api.get("/api/topics/msgs/records?from=earliest").await;
    assert_eq!(all.len(), 1 + 10 + 4);
    let first = all.iter().find(|r| r.key.as_deref() == Some("k1")).unwrap();
    assert_eq!(first.value, Some(Decoded::Json { json: json!({"cap-diameter": 3}) }));
    assert_eq!(first.headers[0].key, "source");
    assert_eq!(first.headers[0].value.as_deref(), Some("form"));
    assert!(all.iter().any(|r| r.value == Some(Decoded::Text { text: "n-3".into() })));
    let avro: Vec<&RecordView> = all.iter().filter(|r| matches!(r.value, Some(Decoded::Avro { .. }))).collect();
    assert_eq!(avro.len(), 4, "the experiment's four events show decoded");
    assert!(avro.iter().any(|r| matches!(&r.value, Some(Decoded::Avro { schema: Some(s), record }) if s == "sensor_temperature_measured" && record["sensor"].is_string())));
    assert!(avro.iter().all(|r| r.headers.iter().any(|h| h.key == "record_name")));

    let p0 = |q: &str| format!("/api/topics/msgs/records?partitions=0&{q}");
    let newest: Vec<RecordView> = api.get(&p0("from=newest:3")).await;
    let offsets =
        |rs: &[RecordView]| rs.iter().filter(|r| r.partition == 0 && r.size < 10).map(|r| r.offset).collect::<Vec<_>>();
    let p0_end = all.iter().filter(|r| r.partition == 0).map(|r| r.offset).max().unwrap() + 1;
    assert_eq!(newest.iter().map(|r| r.offset).collect::<Vec<_>>(), ((p0_end - 3)..p0_end).collect::<Vec<_>>());
    let from5: Vec<RecordView> = api.get(&p0("from=offset:5&limit=3")).await;
    assert_eq!(offsets(&from5), vec![5, 6, 7]);
    let at = all.iter().find(|r| r.partition == 0 && r.offset == 4).unwrap().timestamp_ms.unwrap();
    let since: Vec<RecordView> = api.get(&p0(&format!("from=timestamp:{at}"))).await;
    assert!(since.iter().all(|r| r.timestamp_ms.unwrap() >= at) && since.iter().any(|r| r.offset == 4));
    let latest: Vec<RecordView> = api.get("/api/topics/msgs/records?from=latest").await;
    assert!(latest.is_empty());

    // Bad reads and writes: each with its status and reason.
    let (status, body) = api.call(reqwest::Method::GET, "/api/topics/nope/records", None, None).await;
    assert_eq!((status, error_of(&body)), (StatusCode::NOT_FOUND, "topic nope does not exist".into()));
    let (status, body) = api.call(reqwest::Method::GET, "/api/topics/msgs/records?partitions=9", None, None).await;
    assert_eq!((status, error_of(&body)), (StatusCode::NOT_FOUND, "topic msgs has no partition 9".into()));
    let (status, body) = api.call(reqwest::Method::GET, "/api/topics/msgs/records?from=yesterday", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("from must be"));
    let (status, body) = api.post("/api/topics/nope/records", json!({"value": "x"})).await;
    assert_eq!((status, error_of(&body)), (StatusCode::NOT_FOUND, "topic nope does not exist".into()));
    let (status, body) = api.post("/api/topics/msgs/records", json!({"value": "x", "partition": 7})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = api.post("/api/topics/msgs/records", json!({"value": "x".repeat((1 << 20) + 1)})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_of(&body).contains("at most 1048576"));
}

async fn subscribed(ws: &mut Socket, id: u32) {
    next_matching(ws, |m| match m {
        ServerMessage::Subscribed { subscription, .. } if subscription == id => Some(()),
        ServerMessage::Error { message } => panic!("subscribe {id}: {message}"),
        _ => None,
    })
    .await
}

async fn error(ws: &mut Socket) -> String {
    next_matching(ws, |m| match m {
        ServerMessage::Error { message } => Some(message),
        _ => None,
    })
    .await
}

async fn produce_n(kafka: &KafkaConfig, topic: &str, n: usize, value_bytes: usize) {
    let producer: FutureProducer =
        kafka.client().set("linger.ms", "5").set("queue.buffering.max.messages", "1000000").create().unwrap();
    let pad = "x".repeat(value_bytes);
    let sends: Vec<_> = (0..n)
        .map(|i| {
            let value = format!("{i:08}{pad}");
            let key = format!("k{}", i % 7);
            producer.send_result(FutureRecord::to(topic).key(&key).payload(&value)).unwrap()
        })
        .collect();
    for s in sends {
        s.await.unwrap().unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn live_tails_over_one_socket() {
    let (addr, _stop) = serve_lab(false).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    for t in ["tail_a", "tail_b"] {
        assert_eq!(api.post("/api/topics", json!({"name": t, "partitions": 3})).await.0, StatusCode::CREATED);
    }
    produce_n(&kafka, "tail_b", 5, 0).await;
    let mut ws = connect(addr).await;
    send_json(&mut ws, json!({"type": "subscribe", "subscription": 1, "topic": "tail_a"})).await;
    subscribed(&mut ws, 1).await;
    send_json(&mut ws, json!({"type": "subscribe", "subscription": 2, "topic": "tail_b", "from": {"at": "earliest"}, "partitions": [0, 1, 2]})).await;
    subscribed(&mut ws, 2).await;
    produce_n(&kafka, "tail_a", 300, 10).await;

    let (mut a, mut b, mut frames) = (Vec::new(), 0, 0);
    let started = Instant::now();
    while a.len() < 300 || b < 5 {
        let batches = next_matching(&mut ws, |m| match m {
            ServerMessage::Records { batches } => Some(batches),
            _ => None,
        })
        .await;
        frames += 1;
        for batch in batches {
            assert_eq!(batch.skipped, 0);
            match batch.subscription {
                1 => a.extend(batch.records),
                2 => b += batch.records.len(),
                other => panic!("records for unknown subscription {other}"),
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("{frames} frames in {seconds:.2} s");
    assert!(frames as f64 <= 20.0 * seconds + 2.0, "{frames} frames in {seconds:.2} s is more than ~20 a second");
    assert_eq!(a.len(), 300);
    for p in 0..3 {
        let offsets: Vec<i64> = a.iter().filter(|r| r.partition == p).map(|r| r.offset).collect();
        assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "partition {p} in order without holes");
    }

    send_json(&mut ws, json!({"type": "subscribe", "subscription": 1, "topic": "tail_a"})).await;
    assert!(error(&mut ws).await.contains("subscription 1 already exists"));
    send_json(&mut ws, json!({"type": "subscribe", "subscription": 3, "topic": "missing_topic"})).await;
    assert!(error(&mut ws).await.contains("topic missing_topic does not exist"));
    send_json(&mut ws, json!({"type": "unsubscribe", "subscription": 1})).await;
    next_matching(&mut ws, |m| matches!(m, ServerMessage::Unsubscribed { subscription: 1 }).then_some(())).await;
    send_json(&mut ws, json!({"type": "unsubscribe", "subscription": 1})).await;
    assert_eq!(error(&mut ws).await, "there is no subscription 1");
    // After unsubscribing, records of that topic no longer arrive.
    produce_n(&kafka, "tail_a", 20, 0).await;
    produce_n(&kafka, "tail_b", 1, 0).await;
    let batches = next_matching(&mut ws, |m| match m {
        ServerMessage::Records { batches } => Some(batches),
        _ => None,
    })
    .await;
    assert!(batches.iter().all(|b| b.subscription == 2));
}

/// The topic page and the inference page ask for the newest records, then live ones. Pages
/// on one topic share its tail; a page that opens while records arrive gets each record
/// once, none missed, whether it starts the tail or joins one that runs.
#[tokio::test(flavor = "multi_thread")]
async fn the_newest_records_then_live_ones_arrive_once_each_on_a_shared_tail() {
    let (addr, _stop) = serve_lab(false).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    assert_eq!(api.post("/api/topics", json!({"name": "joined", "partitions": 3})).await.0, StatusCode::CREATED);
    produce_n(&kafka, "joined", 60, 0).await;
    let highs = |records: &[RecordView]| {
        let mut high = [0i64; 3];
        for r in records {
            high[r.partition as usize] = high[r.partition as usize].max(r.offset + 1);
        }
        high
    };
    let before = highs(&api.get::<Vec<RecordView>>("/api/topics/joined/records?from=earliest&limit=1000").await);
    let subscribe = |id: u32, count: i64| json!({"type": "subscribe", "subscription": id, "topic": "joined", "from": {"at": "newest", "count": count}});
    let mut first = connect(addr).await;
    send_json(&mut first, subscribe(1, 20)).await;
    subscribed(&mut first, 1).await;
    let writer = {
        let kafka = kafka.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                produce_n(&kafka, "joined", 10, 0).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut second = connect(addr).await;
    send_json(&mut second, subscribe(2, 5)).await;
    subscribed(&mut second, 2).await;
    writer.await.unwrap();
    let after = highs(&api.get::<Vec<RecordView>>("/api/topics/joined/records?from=earliest&limit=1000").await);
    assert_eq!(after.iter().sum::<i64>(), 260);

    // The first page opened before the writer began: exactly its newest 20. The second
    // opened while records arrived: its newest 5 of some moment between the two readings.
    for (ws, count) in [(&mut first, 20), (&mut second, 5)] {
        let mut got: Vec<Vec<i64>> = vec![Vec::new(); 3];
        while (0..3).any(|p| got[p].last().map_or(after[p] > 0, |o| *o + 1 < after[p])) {
            let batches = next_matching(ws, |m| match m {
                ServerMessage::Records { batches } => Some(batches),
                _ => None,
            })
            .await;
            for b in batches {
                assert_eq!(b.skipped, 0);
                for r in b.records {
                    got[r.partition as usize].push(r.offset);
                }
            }
        }
        for (p, offsets) in got.iter().enumerate() {
            assert!(
                offsets.windows(2).all(|w| w[1] == w[0] + 1),
                "partition {p}: each record once, in order: {offsets:?}"
            );
            let start = offsets.first().copied().unwrap_or(after[p]);
            let (earliest, latest) = ((before[p] - count).max(0), (after[p] - count).max(0));
            if count == 20 {
                assert_eq!(start, earliest, "partition {p}: the newest {count} before the writer");
            } else {
                assert!(
                    (earliest..=latest).contains(&start),
                    "partition {p} starts at {start}, not in {earliest}..={latest}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_client_is_told_how_many_records_it_skipped() {
    let (addr, _stop) = serve_lab(false).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    assert_eq!(api.post("/api/topics", json!({"name": "firehose", "partitions": 1})).await.0, StatusCode::CREATED);
    let mut ws = connect(addr).await;
    send_json(&mut ws, json!({"type": "subscribe", "subscription": 7, "topic": "firehose"})).await;
    subscribed(&mut ws, 7).await;
    // 20,000 records of 1 KB, about 20 MB: more than the socket's buffers and the
    // subscription's buffer hold while this client reads nothing.
    let n = 20_000;
    produce_n(&kafka, "firehose", n, 1000).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (mut received, mut skipped, mut last) = (0u64, 0u64, -1);
    while received + skipped < n as u64 {
        let batches = next_matching(&mut ws, |m| match m {
            ServerMessage::Records { batches } => Some(batches),
            _ => None,
        })
        .await;
        for b in batches {
            skipped += b.skipped;
            received += b.records.len() as u64;
            for r in &b.records {
                assert!(r.offset > last, "records move forward");
                last = r.offset;
            }
        }
    }
    eprintln!("received {received}, skipped {skipped}");
    assert_eq!(received + skipped, n as u64, "every record is either delivered or counted as skipped");
    assert!(skipped > 0, "a client that read nothing for 3 s must have been skipped ahead");
    assert_eq!(last, n as i64 - 1, "the tail ends at the newest record");
}

async fn groups_are_described_pushed_and_reset(on: Option<TestBroker>) {
    let (addr, _stop) = lab_on(&on).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    assert_eq!(api.post("/api/topics", json!({"name": "grouped", "partitions": 4})).await.0, StatusCode::CREATED);
    produce_n(&kafka, "grouped", 40, 0).await;
    let mut ws = connect(addr).await;

    let consumer: BaseConsumer = kafka
        .client()
        .set("group.id", "sandbox-group")
        .set("client.id", "student-1")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&["grouped"]).unwrap();
    let got = tokio::task::block_in_place(|| crate::support::poll_n(&consumer, 40, Duration::from_secs(30)));
    assert_eq!(got.len(), 40);
    consumer.commit_consumer_state(CommitMode::Sync).unwrap();

    let is_settled = |g: &GroupInfo| {
        g.state == "Stable" && g.members.len() == 1 && g.offsets.iter().filter_map(|o| o.committed).sum::<i64>() == 40
    };
    let pushed = next_matching(&mut ws, |m| match m {
        ServerMessage::Groups { groups } => groups.into_iter().find(|g| g.group == "sandbox-group" && is_settled(g)),
        _ => None,
    })
    .await;
    let member = &pushed.members[0];
    assert_eq!(member.client_id, "student-1");
    assert!(member.member_id.starts_with("student-1-"));
    // The embedded broker (nisshi 0.8.1) describes members without host or assignment
    // (README: the embedded broker's gaps); Kafka fills them and the lab decodes them
    // (`groups::parse_assignment`). Pinned so a nisshi that fills them is noticed.
    if on.is_some() {
        assert!(!member.host.is_empty(), "Kafka gives the member's host");
        let partitions: usize = member.assignment.iter().map(|a| a.partitions.len()).sum();
        assert_eq!(partitions, 4, "the one member is assigned all four partitions: {:?}", member.assignment);
    } else {
        assert_eq!(
            (member.host.as_str(), member.assignment.len()),
            ("", 0),
            "nisshi now describes members: show and test them"
        );
    }
    assert_eq!(pushed.offsets.len(), 4);
    assert!(pushed.offsets.iter().all(|o| o.lag == Some(0) && o.end == o.committed.unwrap()));
    let described: GroupInfo = api.get("/api/groups/sandbox-group").await;
    assert_eq!(described.group, "sandbox-group");
    assert!(api.get::<Vec<GroupInfo>>("/api/groups").await.iter().any(|g| g.group == "sandbox-group"));

    let (status, body) = api.post("/api/groups/sandbox-group/reset", json!({"to": "earliest"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error_of(&body).contains("1 active member"));
    drop(consumer);
    // The member leaves; the group becomes empty and may be reset.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = api.post("/api/groups/sandbox-group/reset", json!({"to": "earliest"})).await;
        if status == StatusCode::OK {
            let g: GroupInfo = serde_json::from_value(body).unwrap();
            assert!(g.offsets.iter().all(|o| o.committed == Some(0)), "{g:?}");
            assert_eq!(g.total_lag(), 40);
            break;
        }
        assert!(Instant::now() < deadline, "the group never emptied: {body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (status, body) =
        api.post("/api/groups/sandbox-group/reset", json!({"to": "offset", "offset": 5, "topic": "grouped"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let g: GroupInfo = serde_json::from_value(body).unwrap();
    let ends: Vec<i64> = g.offsets.iter().map(|o| o.end).collect();
    assert!(g.offsets.iter().all(|o| o.committed == Some(5.min(o.end))), "{g:?} (ends {ends:?})");
    let (status, body) = api.post("/api/groups/sandbox-group/reset", json!({"to": "latest"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_value::<GroupInfo>(body).unwrap().total_lag(), 0);

    let (status, _) = api.post("/api/groups/nobody/reset", json!({"to": "latest"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api.post("/api/groups/sandbox-group/reset", json!({"to": "sideways"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_of(&body).contains("unknown variant `sideways`"), "{body}");
    let (status, _) = api.call(reqwest::Method::GET, "/api/groups/nobody", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sampler_measures_the_generators_rate_and_inference_is_reported() {
    let (addr, _stop) = serve_lab(true).await;
    let api = Api::new(addr);
    let mut ws = connect(addr).await;
    let initial = next_matching(&mut ws, |m| match m {
        ServerMessage::Generator { status } => Some(status),
        _ => None,
    })
    .await;
    assert!(!initial.running, "the generator is off until someone starts it");

    let (status, body) = api.post("/api/generator", json!({"running": true, "rate": 1_000_000})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("between 0 and 20000"));
    let (status, body) = api.post("/api/generator", json!({"running": true, "rate": 200})).await;
    assert_eq!(status, StatusCode::OK);
    let s: GeneratorStatus = serde_json::from_value(body).unwrap();
    assert!(s.running && s.rate == 200.0 && s.topic == "mushroom_inference_request");
    next_matching(&mut ws, |m| matches!(m, ServerMessage::Generator { status } if status.running).then_some(())).await;

    // A topic that appears, fills and is recreated: a gap, never a negative rate.
    assert_eq!(api.post("/api/topics", json!({"name": "blip", "partitions": 1})).await.0, StatusCode::CREATED);
    let kafka = api.cluster().await;
    // A rate needs two samples of the topic: let the sampler see it empty before it fills,
    // or the first sample it takes already holds the records and no sample shows them arrive.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let history: Vec<RateSample> = api.get("/api/rates").await;
        if history.iter().filter(|s| s.topics.contains_key("blip")).count() >= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the sampler never listed blip");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    produce_n(&kafka, "blip", 100, 0).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(api.call(reqwest::Method::DELETE, "/api/topics/blip", None, None).await.0, StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(api.post("/api/topics", json!({"name": "blip", "partitions": 1})).await.0, StatusCode::CREATED);
    produce_n(&kafka, "blip", 10, 0).await;

    // Thirty seconds of samples after a settling second or two.
    tokio::time::sleep(Duration::from_secs(33)).await;
    let history: Vec<RateSample> = api.get("/api/rates").await;
    assert!(history.len() >= 32, "one sample a second: {}", history.len());
    let window: Vec<f64> =
        history.iter().rev().take(30).map(|s| s.topics["mushroom_inference_request"].expect("no gap")).collect();
    let mean = window.iter().sum::<f64>() / window.len() as f64;
    eprintln!("sampler: mean {mean:.1} msg/s over 30 samples (generator at 200/s); samples {window:?}");
    assert!((mean / 200.0 - 1.0).abs() <= 0.05, "sampled {mean:.1}/s is not within 5 % of 200/s");
    for s in &history {
        for (name, r) in s.topics.iter().chain(&s.groups) {
            assert!(r.is_none_or(|r| r >= 0.0), "negative rate for {name}");
        }
    }
    assert!(history.iter().any(|s| s.topics.get("blip").is_some_and(|r| r.is_some_and(|r| r > 0.0))));
    // The inference group consumes what the generator writes.
    let consumed: Vec<f64> =
        history.iter().rev().take(10).filter_map(|s| s.groups.get("streamlab-inference").copied().flatten()).collect();
    assert!(
        !consumed.is_empty() && consumed.iter().sum::<f64>() > 0.0,
        "the inference group's consumption rate is sampled"
    );

    let status: InferenceStatus = api.get("/api/inference").await;
    assert!(status.running);
    assert!(status.requests > 1000 && status.edible > 0 && status.poisonous > 0, "{status:?}");
    assert!(status.predictions_per_s.is_some_and(|r| r > 100.0), "{status:?}");
    assert!(status.latency_ms.p50.is_some() && status.latency_ms.p99.is_some());
    // Pushed every second: the newest shows the requests counted so far.
    next_matching(&mut ws, |m| match m {
        ServerMessage::Inference { status } => (status.requests > 1000).then_some(()),
        _ => None,
    })
    .await;
    next_matching(&mut ws, |m| matches!(m, ServerMessage::Rate { .. }).then_some(())).await;
    // A new socket gets the kept history first.
    let mut fresh = connect(addr).await;
    let kept = next_matching(&mut fresh, |m| match m {
        ServerMessage::Rates { history } => Some(history),
        _ => None,
    })
    .await;
    assert!(kept.len() >= 30);

    let running: GeneratorStatus = api.get("/api/generator").await;
    assert!(running.running && running.sent > 6000, "{running:?}");
    let (status, body) = api.post("/api/generator", json!({"running": false})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!serde_json::from_value::<GeneratorStatus>(body).unwrap().running);
}

#[tokio::test(flavor = "multi_thread")]
async fn guard_rails_refuse_bad_input_and_keep_serving() {
    let limits = Limits { max_record_bytes: 1000, max_subscriptions: 2, requests_per_second: 20.0 };
    let access = Access { admin_token: Some("t0ken".into()), ..lab_access() };
    let (addr, _stop) = serve_lab_opts(LabOptions { limits, access, ..LabOptions::default() }).await;
    let api = Api::new(addr);
    assert_eq!(api.post("/api/topics", json!({"name": "guarded", "partitions": 1})).await.0, StatusCode::CREATED);
    api.wait_topic("guarded").await;

    // Destructive actions need the token.
    for token in [None, Some("wrong")] {
        let (status, body) = api.call(reqwest::Method::DELETE, "/api/topics/guarded", None, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(error_of(&body).contains("admin token"));
        let (status, _) =
            api.call(reqwest::Method::POST, "/api/groups/any/reset", Some(json!({"to": "latest"})), token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Record size.
    let (status, body) = api.post("/api/topics/guarded/records", json!({"value": "x".repeat(1001)})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_of(&body).contains("at most 1000"));
    let (status, _) = api.post("/api/topics/guarded/records", json!({"value": "x".repeat(200_000)})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "a body far over the limit is refused before it is read");

    // Websocket: subscription limit, malformed input, binary frames, a flood, an oversized message.
    let mut ws = connect(addr).await;
    for id in 1..=2 {
        send_json(&mut ws, json!({"type": "subscribe", "subscription": id, "topic": "guarded"})).await;
        subscribed(&mut ws, id).await;
    }
    send_json(&mut ws, json!({"type": "subscribe", "subscription": 3, "topic": "guarded"})).await;
    assert!(error(&mut ws).await.contains("at most 2 subscriptions"));
    send_json(&mut ws, json!({"type": "subscribe", "topic": "guarded"})).await;
    assert!(error(&mut ws).await.contains("cannot read that message"));
    ws.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert_eq!(error(&mut ws).await, "send JSON text messages");
    for _ in 0..60 {
        send_json(&mut ws, json!({"type": "list_topics"})).await;
    }
    assert!(error(&mut ws).await.contains("slow down"));
    let mut big = connect(addr).await;
    let _ = big.send(Message::Text("x".repeat(100_000).into())).await;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        use futures::StreamExt;
        loop {
            match big.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert_eq!(closed, Ok(true), "an oversized message closes that socket");

    // HTTP request rate per client.
    let mut refused = 0;
    for _ in 0..80 {
        let (status, body) = api.call(reqwest::Method::GET, "/api/topics", None, None).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(error_of(&body).contains("slow down"));
            refused += 1;
        }
    }
    assert!(refused > 0, "80 requests at once from one client must hit a limit of 20/s");
    tokio::time::sleep(Duration::from_secs(3)).await;

    // With the token, the destructive action goes through; the server is still up.
    let (status, _) = api.call(reqwest::Method::DELETE, "/api/topics/guarded", None, Some("t0ken")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let health = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
}

/// Commits group `group` at the end of every partition of `topic`: what a group that has
/// read everything so far leaves behind.
fn commit_at_end(kafka: &KafkaConfig, group: &str, topic: &str) {
    let c: BaseConsumer = kafka.client().set("group.id", group).set("enable.auto.commit", "false").create().unwrap();
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        let (_, high) = c.fetch_watermarks(topic, p.id(), Duration::from_secs(10)).unwrap();
        tpl.add_partition_offset(topic, p.id(), rdkafka::Offset::Offset(high)).unwrap();
    }
    // A fresh Kafka node may still be electing or loading the group's coordinator: a client
    // retries a commit refused with NotCoordinator or CoordinatorLoadInProgress.
    for attempt in 1.. {
        match c.commit(&tpl, CommitMode::Sync) {
            Ok(()) => return,
            Err(e) if attempt < 40 && e.rdkafka_error_code().is_some_and(coordinator_moving) => {
                std::thread::sleep(Duration::from_millis(250))
            }
            Err(e) => panic!("committing {group} failed: {e}"),
        }
    }
}

fn coordinator_moving(code: rdkafka::types::RDKafkaErrorCode) -> bool {
    use rdkafka::types::RDKafkaErrorCode::*;
    matches!(code, NotCoordinator | CoordinatorLoadInProgress | CoordinatorNotAvailable)
}

fn lag_of(series: &[LagSeries], group: &str, topic: &str) -> Option<LagSeries> {
    series.iter().find(|s| s.group == group && s.topic == topic).cloned()
}

async fn a_stopped_groups_lag_grows_at_the_generators_rate_and_shrinks_when_it_resumes(on: Option<TestBroker>) {
    let (addr, _stop) = lab_on(&on).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    let topic = streamlab_wire::topics::REQUESTS;
    let (status, _) = api.post("/api/generator", json!({"running": true, "rate": 200})).await;
    assert_eq!(status, StatusCode::OK);
    // The group reads to the end once and stops there while the generator goes on.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let k = kafka.clone();
    tokio::task::spawn_blocking(move || commit_at_end(&k, "laggard", topic)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(13)).await;
    let series: Vec<LagSeries> = api.get("/api/lag").await;
    let stopped = lag_of(&series, "laggard", topic).unwrap_or_else(|| panic!("no lag for laggard: {series:?}"));
    let growth = stopped.per_second.expect("a trend");
    eprintln!("stopped: lag {} messages, growing {growth:.1}/s (generator at 200/s)", stopped.messages);
    assert_eq!(stopped.trend, LagTrend::Growing);
    assert!((growth / 200.0 - 1.0).abs() <= 0.10, "lag grows {growth:.1}/s, not within 10 % of 200/s");
    assert!(stopped.messages >= 1500, "about 13 s at 200/s behind: {}", stopped.messages);
    assert_eq!(stopped.seconds, None, "consuming nothing, it never catches up");
    // It is also in every sample pushed to the rate graph.
    let history: Vec<RateSample> = api.get("/api/rates").await;
    assert!(history.last().unwrap().lag["laggard"][topic] > 0);

    // It resumes: reads to the end every second, as a live consumer commits.
    for _ in 0..4 {
        let k = kafka.clone();
        tokio::task::spawn_blocking(move || commit_at_end(&k, "laggard", topic)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let series: Vec<LagSeries> = api.get("/api/lag").await;
    let resumed = lag_of(&series, "laggard", topic).unwrap();
    eprintln!("resumed: lag {} messages, {:?}/s", resumed.messages, resumed.per_second);
    assert_eq!(resumed.trend, LagTrend::Shrinking);
    assert!(resumed.messages < stopped.messages / 4, "caught up: {} of {}", resumed.messages, stopped.messages);
}

/// Produces `values` to `topic`, each with a `record_name` header saying which one it is.
async fn produce_values(kafka: &KafkaConfig, topic: &str, values: &[Value]) {
    let producer: FutureProducer = kafka.client().create().unwrap();
    for (i, v) in values.iter().enumerate() {
        let name = if i % 5 == 0 { "experiment_started" } else { "measurement" };
        let headers = rdkafka::message::OwnedHeaders::new()
            .insert(rdkafka::message::Header { key: "record_name", value: Some(name) });
        let payload = v.to_string();
        producer
            .send(
                FutureRecord::to(topic).key(&format!("k{i}")).payload(&payload).headers(headers),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
}

fn predictions(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let class = if i % 3 == 0 { "poisonous" } else { "edible" };
            json!({"class": class, "probability": 0.5 + (i % 10) as f64 / 20.0, "note": format!("n{i}, \"quoted\"")})
        })
        .collect()
}

fn poisonous_and_unsure(v: &Value) -> bool {
    v["class"] == "poisonous" && v["probability"].as_f64().unwrap() < 0.6
}

fn json_of(r: &RecordView) -> Value {
    match &r.value {
        Some(Decoded::Json { json }) => json.clone(),
        other => panic!("not JSON: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filtered_tail_sends_only_what_matches_and_says_how_many_it_scanned() {
    let (addr, _stop) = serve_lab(false).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    assert_eq!(api.post("/api/topics", json!({"name": "verdicts", "partitions": 2})).await.0, StatusCode::CREATED);
    let values = predictions(60);
    let wanted = values.iter().filter(|v| poisonous_and_unsure(v)).count();
    assert!(wanted > 0 && wanted < 60);
    produce_values(&kafka, "verdicts", &values).await;

    let filter = r#"value.class == "poisonous" and value.probability < 0.6"#;
    let mut ws = connect(addr).await;
    send_json(
        &mut ws,
        json!({"type": "subscribe", "subscription": 1, "topic": "verdicts", "from": {"at": "earliest"}, "filter": filter}),
    )
    .await;
    subscribed(&mut ws, 1).await;
    let (mut seen, mut counts) = (Vec::new(), (0, 0));
    while counts.0 < 60 {
        let batches = next_matching(&mut ws, |m| match m {
            ServerMessage::Records { batches } => Some(batches),
            _ => None,
        })
        .await;
        for b in batches {
            seen.extend(b.records);
            counts = (b.scanned, b.matched);
        }
    }
    assert_eq!(counts, (60, wanted as u64), "scanned and matched");
    assert_eq!(seen.len(), wanted);
    assert!(seen.iter().all(|r| poisonous_and_unsure(&json_of(r))));
    // A live record that does not match is scanned, counted and not sent.
    produce_values(&kafka, "verdicts", &[json!({"class": "edible", "probability": 0.9})]).await;
    let batch = next_matching(&mut ws, |m| match m {
        ServerMessage::Records { batches } => batches.into_iter().find(|b| b.scanned == 61),
        _ => None,
    })
    .await;
    assert!(batch.records.is_empty() && batch.matched == wanted as u64);

    // A header filter, and a filter that does not parse.
    send_json(&mut ws, json!({"type": "subscribe", "subscription": 2, "topic": "verdicts", "from": {"at": "earliest"}, "filter": "headers.record_name == \"experiment_started\""})).await;
    subscribed(&mut ws, 2).await;
    let mut started = 0;
    while started < 13 {
        let batches = next_matching(&mut ws, |m| match m {
            ServerMessage::Records { batches } => Some(batches),
            _ => None,
        })
        .await;
        for b in batches.into_iter().filter(|b| b.subscription == 2) {
            assert!(
                b.records.iter().all(|r| r.headers.iter().any(|h| h.value.as_deref() == Some("experiment_started")))
            );
            started += b.records.len();
        }
    }
    assert_eq!(started, 13, "every fifth of 61 records");
    send_json(
        &mut ws,
        json!({"type": "subscribe", "subscription": 3, "topic": "verdicts", "filter": "value.class = \"poisonous\""}),
    )
    .await;
    let message = error(&mut ws).await;
    assert!(message.contains("column 13") && message.contains("=="), "{message}");
    // A filter nested thousands deep is refused, not parsed into a stack overflow.
    let deep = format!("{}key == 1{}", "(".repeat(20_000), ")".repeat(20_000));
    send_json(&mut ws, json!({"type": "subscribe", "subscription": 3, "topic": "verdicts", "filter": deep})).await;
    assert!(error(&mut ws).await.contains("at most 2000 characters"));
    let deep = format!("{}key == 1{}", "(".repeat(900), ")".repeat(900));
    send_json(&mut ws, json!({"type": "subscribe", "subscription": 3, "topic": "verdicts", "filter": deep})).await;
    assert!(error(&mut ws).await.contains("at most 32 levels of `(` and `not`"));

    // The records API filters on the server too, and says how many it read.
    let url = |q: &str| format!("http://{addr}/api/topics/verdicts/records?from=earliest&limit=1000&{q}");
    let r = reqwest::get(url(&format!("filter={}", urlencode(filter)))).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-records-scanned"], "61");
    assert_eq!(r.headers()["x-records-matched"], wanted.to_string().as_str());
    let found: Vec<RecordView> = r.json().await.unwrap();
    assert_eq!(found.len(), wanted);
    assert!(found.iter().all(|r| poisonous_and_unsure(&json_of(r))));
    let r = reqwest::get(url("filter=value.probability%20%3C")).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: ApiError = r.json().await.unwrap();
    assert!(body.error.contains("column 20") && body.error.contains("a value"), "{}", body.error);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn records_groups_and_history_download_as_files() {
    let (addr, _stop) = serve_lab(false).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    for t in ["exported", "empty_topic"] {
        assert_eq!(api.post("/api/topics", json!({"name": t, "partitions": 1})).await.0, StatusCode::CREATED);
    }
    let values = predictions(12);
    produce_values(&kafka, "exported", &values).await;
    commit_at_end(&kafka, "exporters", "exported");
    let get = |path: &str| {
        let url = format!("http://{addr}{path}");
        async move { reqwest::get(url).await.unwrap() }
    };

    let r = get("/api/topics/exported/records?from=earliest&format=csv").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"exported.csv\"");
    let csv = r.text().await.unwrap();
    // Python's csv module reads it back: the quotes and commas inside values survive.
    let script = r#"
import csv, json, sys
rows = list(csv.DictReader(sys.stdin))
print(json.dumps([[r["key"], json.loads(r["value"])["note"], json.loads(r["headers"])[0]["value"], r["offset"]] for r in rows]))
"#;
    if let Some(parsed) = python(script, &csv) {
        let rows: Vec<(String, String, String, String)> = serde_json::from_str(&parsed).unwrap();
        assert_eq!(rows.len(), 12);
        assert_eq!(rows[3], ("k3".into(), "n3, \"quoted\"".into(), "measurement".into(), "3".into()));
        assert_eq!(rows[5].2, "experiment_started");
    }
    assert_eq!(csv.lines().next(), Some("topic,partition,offset,timestamp_ms,key,value,headers"));

    let r =
        get("/api/topics/exported/records?from=earliest&format=jsonl&filter=value.class%20%3D%3D%20%22poisonous%22")
            .await;
    assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"exported.jsonl\"");
    let lines: Vec<RecordView> = r.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "records 0, 3, 6 and 9 are poisonous");
    assert!(lines.iter().all(|r| json_of(r)["class"] == "poisonous"));

    // An empty topic downloads as a file with nothing but the header; a bad format is refused.
    let r = get("/api/topics/empty_topic/records?from=earliest&format=csv").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "topic,partition,offset,timestamp_ms,key,value,headers\n");
    let r = get("/api/topics/empty_topic/records?from=earliest&format=jsonl").await;
    assert_eq!((r.status(), r.text().await.unwrap()), (StatusCode::OK, String::new()));
    let r = get("/api/topics/exported/records?format=xml").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = get("/api/topics/no_such_topic/records?format=csv").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The groups table and the sampler's history.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let groups = get("/api/groups.csv").await.text().await.unwrap();
        let history = get("/api/rates.csv").await.text().await.unwrap();
        let groups_ok = groups.lines().any(|l| l == "exporters,Empty,0,exported,0,12,12,0");
        let history_ok = history.lines().any(|l| l.contains(",topic,exported,exported,"))
            && history.lines().any(|l| l.ends_with(",lag,exporters,exported,0"));
        if groups_ok && history_ok {
            assert!(groups.starts_with("group,state,members,topic,partition,committed,end,lag\n"));
            assert!(history.starts_with("at_ms,kind,name,topic,value\n"));
            break;
        }
        assert!(Instant::now() < deadline, "groups:\n{groups}\nhistory:\n{history}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs a Python script with `input` on stdin; `None` (skipped) where there is no Python
/// outside CI.
fn python(script: &str, input: &str) -> Option<String> {
    use std::io::Write;
    let child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        assert!(!crate::support::in_ci(), "python3 is needed in CI");
        return None;
    };
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

/// A record as rdkafka sees it: key, value, headers.
type Raw = (Option<Vec<u8>>, Vec<u8>, Vec<(String, String)>);

/// The first `n` records of `topic`.
fn raw_records(kafka: &KafkaConfig, topic: &str, n: usize) -> Vec<Raw> {
    use rdkafka::message::{Headers, Message};
    crate::support::read_from_start(kafka, topic, n)
        .into_iter()
        .map(|m| {
            let headers = m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
                        .collect()
                })
                .unwrap_or_default();
            (m.key().map(<[u8]>::to_vec), m.payload().unwrap_or_default().to_vec(), headers)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_record_is_sent_again_as_it_was_or_edited_by_the_admin_only() {
    let access = Access { admin_token: Some("teach".into()), ..lab_access() };
    let (addr, _stop) = serve_lab_opts(LabOptions { access, ..LabOptions::default() }).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    for t in ["originals", "copies"] {
        assert_eq!(api.post("/api/topics", json!({"name": t, "partitions": 1})).await.0, StatusCode::CREATED);
    }
    // Bytes that are not text, a key and headers: a re-send keeps every byte.
    let producer: FutureProducer = kafka.client().create().unwrap();
    let headers =
        rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header { key: "trace", value: Some("abc") });
    let bytes: &[u8] = &[0, 159, 146, 150, 255];
    producer
        .send(FutureRecord::to("originals").key("m-1").payload(bytes).headers(headers), Duration::from_secs(10))
        .await
        .unwrap();
    let teach = Some("teach");
    let resend = |path: &str, body: Value, token: Option<&'static str>| {
        let path = path.to_owned();
        let api = &api;
        async move { api.call(reqwest::Method::POST, &path, Some(body), token).await }
    };

    let (status, body) = resend("/api/topics/originals/records/0/0/resend", json!({}), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a guest may not re-send: {body}");
    let (status, body) = resend("/api/topics/originals/records/0/0/resend", json!({}), teach).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["topic"].as_str(), body["offset"].as_i64(), body["resent_from"].as_str()),
        (Some("originals"), Some(1), Some("originals/0/0"))
    );
    let (status, body) = resend(
        "/api/topics/originals/records/0/0/resend",
        json!({"to": "copies", "value": "{\"fixed\": true}"}),
        teach,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stored = raw_records(&kafka, "originals", 2);
    assert_eq!(stored[1].0.as_deref(), Some(&b"m-1"[..]));
    assert_eq!(stored[1].1, bytes, "the value's bytes as they were");
    assert_eq!(stored[1].2, vec![("trace".into(), "abc".into()), ("resent-from".into(), "originals/0/0".into())]);
    let copied = raw_records(&kafka, "copies", 1);
    assert_eq!((copied[0].0.as_deref(), copied[0].1.as_slice()), (Some(&b"m-1"[..]), &b"{\"fixed\": true}"[..]));

    // Nothing to re-send, or nowhere to send it.
    let (status, body) = resend("/api/topics/originals/records/0/99/resend", json!({}), teach).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&body).contains("no record at partition 0, offset 99"), "{body}");
    let (status, _) = resend("/api/topics/originals/records/0/0/resend", json!({"to": "nowhere"}), teach).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = resend("/api/topics/originals/records/0/0/resend", json!({"to": "../x"}), teach).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_letters_are_redriven_by_reason_once_and_never_in_a_loop() {
    let access = Access { admin_token: Some("teach".into()), ..lab_access() };
    let (addr, _stop) = serve_lab_opts(LabOptions { inference: true, access, ..LabOptions::default() }).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    let (requests, dead) = (streamlab_wire::topics::REQUESTS, streamlab_wire::topics::DEAD_LETTERS);
    let producer: FutureProducer = kafka.client().create().unwrap();
    let headers =
        rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header { key: "student", value: Some("ada") });
    for (i, v) in ["hello", "{}", "not json either", "{}", "{]"].iter().enumerate() {
        let key = format!("r{i}");
        producer
            .send(FutureRecord::to(requests).key(&key).payload(*v).headers(headers.clone()), Duration::from_secs(10))
            .await
            .unwrap();
    }
    let dead_letters = |n: usize| {
        let kafka = kafka.clone();
        async move { tokio::task::spawn_blocking(move || raw_records(&kafka, dead, n)).await.unwrap() }
    };
    let first = dead_letters(5).await;
    let reason = |h: &[(String, String)]| h.iter().find(|(k, _)| k == "dlq-reason").map(|(_, v)| v.clone());
    assert_eq!(first.iter().filter(|d| reason(&d.2).as_deref() == Some("not_json")).count(), 3);

    let redrive = |reason: &str, token: Option<&'static str>| {
        let body = json!({ "reason": reason });
        let api = &api;
        async move { api.call(reqwest::Method::POST, "/api/inference/redrive", Some(body), token).await }
    };
    let (status, _) = redrive("not_json", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a guest may not redrive");
    let (status, body) = redrive("not_json", Some("teach")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["sent"].as_u64(), body["failed_again"].as_u64(), body["to"].as_str()),
        (Some(3), Some(0), Some(requests))
    );

    // They went to the request topic with their original bytes, key and headers, and the
    // service refused them again: three new dead letters that say where they came from.
    let again = dead_letters(8).await;
    let redriven: Vec<_> = again.iter().filter(|d| d.2.iter().any(|(k, _)| k == "redriven-from")).collect();
    assert_eq!((again.len(), redriven.len()), (8, 3));
    for d in &redriven {
        assert_eq!(reason(&d.2).as_deref(), Some("not_json"));
        assert!(d.2.contains(&("student".into(), "ada".into())), "{:?}", d.2);
        let from = d.2.iter().find(|(k, _)| k == "redriven-from").map(|(_, v)| v.as_str());
        assert!(from.is_some_and(|f| f.starts_with(&format!("{dead}/"))), "{:?}", d.2);
    }
    let mut bytes: Vec<&[u8]> = redriven.iter().map(|d| d.1.as_slice()).collect();
    bytes.sort();
    assert_eq!(bytes, vec![&b"hello"[..], b"not json either", b"{]"]);

    // Again: the three that failed again are counted and not sent, so no loop forms; the
    // ones already redriven are not sent twice.
    let (status, body) = redrive("not_json", Some("teach")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["sent"].as_u64(), body["failed_again"].as_u64()), (Some(0), Some(3)));
    let (status, body) = redrive("not_json", Some("teach")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a redrive of nothing: {body}");
    assert!(error_of(&body).contains("no dead letter with reason not_json"), "{body}");
    let (status, body) = redrive("no_such_reason", Some("teach")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&body).contains("missing_field (2)"), "the reasons there are: {body}");
    let (status, _) = redrive("not json!", Some("teach")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = redrive("missing_field", Some("teach")).await;
    assert_eq!((status, body["sent"].as_u64()), (StatusCode::OK, Some(2)));
}

/// The lab's `/metrics` value of `name` (no labels).
async fn metric(addr: SocketAddr, name: &str) -> f64 {
    let text = reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await.unwrap();
    let line =
        text.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap_or_else(|| panic!("{name} in {text}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// An idle lab's service stops fetching (half of an idle lab's CPU went to its fetches) and
/// wakes when a request is stored: every request is answered, after each pause as before it.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_service_stops_fetching_and_wakes_for_the_next_request() {
    let (addr, _stop) = serve_lab(true).await;
    let api = Api::new(addr);
    let kafka = api.cluster().await;
    let subscriber: BaseConsumer =
        kafka.client().set("group.id", "idle-subscriber").set("auto.offset.reset", "earliest").create().unwrap();
    subscriber.subscribe(&["mushroom_prediction"]).unwrap();
    let producer: FutureProducer = kafka.client().create().unwrap();
    let mut answered = std::collections::HashSet::new();
    for round in 0..3 {
        // Nothing to do: within a few seconds the service says it is idle.
        let deadline = Instant::now() + Duration::from_secs(15);
        while metric(addr, "streamlab_inference_idle").await != 1.0 {
            assert!(Instant::now() < deadline, "round {round}: the service never went idle");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A request on each partition (the service paused them all) is answered.
        for p in 0..3 {
            let key = format!("idle-{round}-{p}");
            let value = crate::support::valid_request(p as usize);
            producer
                .send(
                    FutureRecord::to("mushroom_inference_request").key(&key).payload(&value).partition(p),
                    Duration::from_secs(5),
                )
                .await
                .unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while (0..3).any(|p| !answered.contains(&format!("idle-{round}-{p}"))) {
            assert!(Instant::now() < deadline, "round {round}: answered only {answered:?}");
            if let Some(Ok(m)) = subscriber.poll(Duration::from_millis(100)) {
                use rdkafka::Message;
                answered.insert(String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned());
            }
        }
    }
    assert_eq!(metric(addr, "streamlab_inference_requests_total").await, 9.0);
}

/// Exercise 4's generator without the course's CSV: `curl …/api/model/profile`, as its
/// README says, gives each column's range and what a kernel density estimate draws from —
/// the profile of the data itself (compared with the CSV where it is here).
#[tokio::test(flavor = "multi_thread")]
async fn the_data_profile_is_served_for_a_generator_without_the_csv() {
    let (addr, _stop) = serve_lab(false).await;
    let out = std::process::Command::new("curl")
        .args(["-sSf", &format!("http://{addr}/api/model/profile")])
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let served: streamlab_model::profile::DataProfile = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = served.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, streamlab_model::FEATURES.iter().map(|f| f.name).collect::<Vec<_>>());
    let cap_shape = &served.columns[1];
    assert!(cap_shape.integer && cap_shape.code_counts.as_ref().unwrap().len() == cap_shape.max as usize + 1);
    let csv = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mushroom_cleaned.csv");
    if csv.exists() {
        assert_eq!(served, streamlab_model::profile::DataProfile::from_csv(&csv).unwrap(), "the data's own profile");
    }
}
