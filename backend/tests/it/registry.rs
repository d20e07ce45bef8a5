//! The lab's Schema Registry as a course uses it: confluent-kafka's `SchemaRegistryClient`,
//! `AvroSerializer`, `AvroDeserializer` and `JSONSerializer` unmodified, and `curl`, against
//! the lab's broker and against Apache Kafka; an incompatible change refused with Confluent's
//! code and message; the schemas kept in `_schemas` and found again by a lab started afresh
//! on the same broker.

use crate::support::{
    LabOptions, TestBroker, curl, require, serve_lab_with_registry, start_broker, start_kafka_broker,
};
use rdkafka::Message;
use serde_json::{Value, json};

mod confluents_clients_register_evolve_and_read_through_the_labs_registry {
    #[tokio::test(flavor = "multi_thread")]
    async fn embedded() {
        super::registry_on(super::start_broker().await).await
    }
    #[tokio::test(flavor = "multi_thread")]
    async fn kafka() {
        if let Some(b) = super::start_kafka_broker().await {
            super::registry_on(b).await
        }
    }
}

fn topic_exists(b: &TestBroker, topic: &str) -> bool {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = b.kafka.client().create().unwrap();
    let md = c.fetch_metadata(Some(topic), std::time::Duration::from_secs(10)).unwrap();
    md.topics().iter().any(|t| t.error().is_none() && !t.partitions().is_empty())
}

/// A POST as Confluent's clients send it.
fn post(url: &str, path: &str, body: &Value) -> (u16, Value) {
    let content_type = "Content-Type: application/vnd.schemaregistry.v1+json";
    curl(&["-X", "POST", "-H", content_type, "--data", &body.to_string(), &format!("{url}{path}")])
}

fn python_has_registry_client() -> bool {
    let import = "from confluent_kafka.schema_registry.avro import AvroSerializer; \
                  from confluent_kafka.schema_registry.json_schema import JSONSerializer";
    std::process::Command::new("python3").args(["-c", import]).status().is_ok_and(|s| s.success())
}

/// A lab with its registry on a free port, on `b`'s broker: the registry's URL and the lab's.
async fn lab_on(b: &TestBroker) -> (String, String, crate::support::StopOnDrop) {
    let options = LabOptions {
        kafka: Some(b.kafka.clone()),
        schema_registry: Some("127.0.0.1:0".parse().unwrap()),
        ..LabOptions::default()
    };
    let (web, registry, lab) = serve_lab_with_registry(options).await;
    (format!("http://{}", registry.expect("the registry is served")), format!("http://{web}"), lab)
}

async fn registry_on(b: TestBroker) {
    if !require(
        python_has_registry_client(),
        "confluent-kafka with its schema_registry extras (pip install 'confluent-kafka[avro,json,schemaregistry]')",
    ) {
        return;
    }
    let (url, web, lab) = lab_on(&b).await;
    assert_eq!(curl(&[&url]), (200, json!({})), "GET / answers, as the seed's first step checks");
    assert_eq!(curl(&[&format!("{url}/subjects")]), (200, json!([])));
    assert!(!topic_exists(&b, "_schemas"), "a lab nobody registered a schema on adds no topic");

    let script = format!("{}/tests/python/schema_registry_roundtrip.py", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new("timeout")
        .args(["120", "python3", &script, &url, &b.bootstrap(), "sensors"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "the script failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    // The serializer registered version 1 of `sensors-value` as it produced.
    assert_eq!(seen["v1"]["version"], 1, "{seen}");
    let v1_id = seen["v1"]["id"].as_u64().unwrap();
    assert_eq!(seen["v2_compatible"], true, "a field with a default is a backward compatible change: {seen}");
    let v2_id = seen["v2_id"].as_u64().unwrap();
    assert_ne!(v2_id, v1_id);
    assert_eq!(seen["versions"], json!([1, 2]));
    assert_eq!(seen["v3_compatible"], false, "{seen}");
    assert_eq!(seen["v3_refused"]["status"], 409, "{seen}");
    assert_eq!(seen["v3_refused"]["code"], 409, "{seen}");
    let message = seen["v3_refused"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Schema being registered is incompatible with an earlier schema for subject \"sensors-value\", details: [{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'"),
        "{message}"
    );
    assert!(message.contains("'location' in the new schema has no default value"), "{message}");
    assert!(message.contains("{oldSchemaVersion: 2}") && message.contains("{compatibility: 'BACKWARD'}"), "{message}");
    assert_eq!(seen["level"], "BACKWARD");
    assert_eq!(seen["read_back"], true, "what AvroDeserializer read: {}", seen["read"]);
    // JSONSerializer's records carry the registry's wire format: magic byte 0, the schema id.
    assert_eq!(seen["json"]["magic"], 0);
    assert_eq!(seen["json"]["type"], "JSON");
    let json_id = seen["json"]["id"].as_u64().unwrap();

    // The lab shows the serializers' records decoded with their schemas, filters on their
    // fields and exports them, where it showed bytes before.
    let (status, records) = curl(&[&format!("{web}/api/topics/sensors/records?from=earliest")]);
    assert_eq!(status, 200, "{records}");
    let shown: Vec<&Value> = records.as_array().unwrap().iter().map(|r| &r["value"]).collect();
    assert_eq!(shown.len(), 5, "{records}");
    assert!(
        shown.iter().all(|v| v["format"] == "avro" && v["schema"] == format!("SensorReading, schema {v1_id}")),
        "{records}"
    );
    let mut ids: Vec<&str> = shown.iter().map(|v| v["record"]["sensor_id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["s0", "s1", "s2", "s3", "s4"]);
    let filtered = curl(&[&format!("{web}/api/topics/sensors/records?from=earliest&filter=value.value%20%3E%204")]).1;
    let mut over_4: Vec<&Value> = filtered.as_array().unwrap().iter().map(|r| &r["value"]["record"]["value"]).collect();
    over_4.sort_by(|a, b| a.as_f64().partial_cmp(&b.as_f64()).unwrap());
    assert_eq!(over_4, [&json!(4.5), &json!(6.0)], "{filtered}");
    let json_records = curl(&[&format!("{web}/api/topics/sensors-json/records?from=earliest")]).1;
    assert_eq!(json_records[0]["value"], json!({"format": "json", "json": {"id": "a", "v": 2.0}}), "{json_records}");
    let out = std::process::Command::new("curl")
        .args(["-s", &format!("{web}/api/topics/sensors/records?from=earliest&format=csv")])
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.contains("s3") && csv.contains("4.5"), "the CSV export holds the decoded records:\n{csv}");

    // The course's experiment producer writes the same way with --schema-registry.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["experiment", "-b", &b.bootstrap(), "--topic", "exp", "--schema-registry", &url])
        .args(["--num-sensors", "1", "--sample-rate", "20", "--stabilization-samples", "1", "--carry-out-samples", "3"])
        .args(["--metrics-addr", "off", "--seed", "1"])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("schema exp-sensor_temperature_measured registered at"), "{said}");
    let subjects = curl(&[&format!("{url}/subjects")]).1;
    for subject in ["exp-ExperimentConfig", "exp-sensor_temperature_measured", "exp-experiment_terminated"] {
        assert!(subjects.as_array().unwrap().contains(&json!(subject)), "{subject} in {subjects}");
    }
    let measured = "filter=headers.record_name%20%3D%3D%20%22sensor_temperature_measured%22";
    let events = curl(&[&format!("{web}/api/topics/exp/records?from=earliest&{measured}")]).1;
    let events = events.as_array().unwrap();
    // One sensor: a stabilization sample and three carried out.
    assert_eq!(events.len(), 4, "{events:?}");
    for e in events {
        let value = &e["value"];
        assert!(value["schema"].as_str().unwrap().starts_with("sensor_temperature_measured, schema "), "{value}");
        assert!(value["record"]["temperature"].is_number() && value["record"]["sensor"].is_string(), "{value}");
    }

    // What a student types.
    let (status, subjects) = curl(&[&format!("{url}/subjects?subjectPrefix=sensors")]);
    assert_eq!((status, subjects), (200, json!(["sensors-json-value", "sensors-value"])));
    let (_, latest) = curl(&[&format!("{url}/subjects/sensors-value/versions/latest")]);
    assert_eq!((latest["version"].as_u64(), latest["id"].as_u64()), (Some(2), Some(v2_id)));
    assert!(latest["schema"].as_str().unwrap().contains("\"unit\""), "{latest}");
    assert!(latest.get("schemaType").is_none(), "Avro goes without schemaType, as in Confluent's: {latest}");
    let (status, by_id) = curl(&[&format!("{url}/schemas/ids/{json_id}")]);
    assert_eq!((status, &by_id["schemaType"]), (200, &json!("JSON")), "{by_id}");
    let (status, refused) =
        post(&url, "/subjects/sensors-value/versions", &json!({"schema": "{\"type\": \"recrod\"}"}));
    assert_eq!((status, &refused["error_code"]), (422, &json!(42201)), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("recrod"), "the parser says what is wrong: {refused}");
    let (status, missing) = curl(&[&format!("{url}/subjects/nobody-value/versions/1")]);
    assert_eq!((status, missing), (404, json!({"error_code": 40401, "message": "Subject 'nobody-value' not found."})));
    let (status, set) =
        curl(&["-X", "PUT", "--data", r#"{"compatibility": "FULL"}"#, &format!("{url}/config/sensors-value")]);
    assert_eq!((status, set), (200, json!({"compatibility": "FULL"})));
    let (status, bad) = curl(&["-X", "PUT", "--data", r#"{"compatibility": "SIDEWAYS"}"#, &format!("{url}/config")]);
    assert_eq!((status, &bad["error_code"]), (422, &json!(42203)));
    // Soft delete hides a version; its number is never reused.
    assert_eq!(curl(&["-X", "DELETE", &format!("{url}/subjects/sensors-json-value")]), (200, json!([1])));
    assert_eq!(curl(&[&format!("{url}/subjects?subjectPrefix=sensors")]).1, json!(["sensors-value"]));

    // The registry's records are on the broker, in Confluent's shape.
    assert!(topic_exists(&b, "_schemas"));
    let records = crate::support::read_from_start(&b.kafka, "_schemas", 5);
    let keys: Vec<Value> =
        records.iter().map(|m| serde_json::from_slice(m.key().unwrap_or_default()).unwrap()).collect();
    assert!(
        keys.contains(&json!({"keytype": "SCHEMA", "subject": "sensors-value", "version": 2, "magic": 1})),
        "{keys:?}"
    );

    // A lab started afresh on the same broker reads them back.
    drop(lab);
    let (url, _, _lab) = lab_on(&b).await;
    assert_eq!(curl(&[&format!("{url}/subjects/sensors-value/versions")]).1, json!([1, 2]));
    let all = curl(&[&format!("{url}/subjects?deleted=true&subjectPrefix=sensors")]).1;
    assert_eq!(all, json!(["sensors-json-value", "sensors-value"]));
    assert_eq!(curl(&[&format!("{url}/config/sensors-value")]).1, json!({"compatibilityLevel": "FULL"}));
    let v1 = curl(&[&format!("{url}/subjects/sensors-value/versions/1/schema")]).1;
    let (status, again) = post(&url, "/subjects/sensors-value/versions", &json!({"schema": v1.to_string()}));
    assert_eq!((status, again), (200, json!({"id": v1_id})), "a known schema keeps its id and adds no version");
    assert_eq!(curl(&[&format!("{url}/subjects/sensors-value/versions")]).1, json!([1, 2]));
}
