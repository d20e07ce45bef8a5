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

mod exercise_15_from_its_readme_passes_and_each_mistake_fails_its_condition {
    #[tokio::test(flavor = "multi_thread")]
    async fn embedded() {
        super::exercise_15_on(super::start_broker().await, true).await
    }
    #[tokio::test(flavor = "multi_thread")]
    async fn kafka() {
        if let Some(b) = super::start_kafka_broker().await {
            // No browser here: Kafka holds the heavy turn the browser would wait for.
            super::exercise_15_on(b, false).await
        }
    }
}

/// Runs exercise 15's solution (`tests/python/solutions/ex15_schema_registry.py`, written
/// from its README) as `student`, with a named mistake and a class token if given.
async fn solve_15(url: &str, bootstrap: &str, student: &str, mistake: Option<&str>, token: Option<&str>) -> String {
    let script = format!("{}/tests/python/solutions/ex15_schema_registry.py", env!("CARGO_MANIFEST_DIR"));
    let mut command = tokio::process::Command::new("timeout");
    command.args(["180", "python3", &script, "--bootstrap", bootstrap, "--student", student, "--registry", url]);
    if let Some(m) = mistake {
        command.args(["--mistake", m]);
    }
    if let Some(t) = token {
        command.args(["--token", t]);
    }
    let out = command.output().await.unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{student}'s solution ({mistake:?}) failed:\n{said}");
    said
}

fn result<'a>(report: &'a streamlab_wire::CheckReport, id: &str) -> &'a streamlab_wire::ConditionResult {
    report.results.iter().find(|r| r.id == id).unwrap()
}

/// Exercise 15 solved as a class solves it, each attempt its own student on one registry:
/// the README's solution passes every condition; each common mistake fails exactly its
/// condition with the condition's failure; a student who did nothing fails with what the
/// registry holds. Then the lab's Schema Registry page shows the subject's versions with
/// what changed (in Chromium too, with `browser`).
async fn exercise_15_on(b: TestBroker, browser: bool) {
    use streamlab::exercises::check::{Checker, render};
    use streamlab::exercises::{Catalog, Namespace};
    use streamlab_wire::Outcome;
    if !require(python_has_registry_client(), "confluent-kafka with its schema_registry extras") {
        return;
    }
    let (url, web, _lab) = lab_on(&b).await;
    let attempts = [
        ("ok", None),
        ("fields", Some(("wrong-fields", "registered"))),
        ("nodefault", Some(("no-default", "evolved"))),
        ("v1only", Some(("v1-only", "produced"))),
        ("accepted", Some(("compatible-answer", "refused"))),
    ];
    let bootstrap = b.bootstrap();
    let runs = attempts.iter().map(|(student, miss)| solve_15(&url, &bootstrap, student, miss.map(|m| m.0), None));
    let said = futures::future::join_all(runs).await;
    assert!(said[0].contains("refused 409 409"), "{}", said[0]);

    let catalog = std::sync::Arc::new(Catalog::embedded().unwrap());
    let exercise = catalog.find("15").unwrap().clone();
    let checker = Checker::new(b.kafka.clone(), catalog.clone());
    for (student, miss) in attempts {
        let report = checker.check(&exercise, &Namespace::student(Some(student)).unwrap()).await;
        let shown = render(&report);
        let failed: Vec<&str> =
            report.results.iter().filter(|r| r.outcome != Outcome::Pass).map(|r| r.id.as_str()).collect();
        match miss {
            None => assert!(report.passed && failed.is_empty(), "the README's solution passes:\n{shown}"),
            Some((mistake, id)) => {
                assert_eq!(failed, [id], "the mistake {mistake} fails exactly {id}:\n{shown}");
                let condition = exercise.conditions.iter().find(|c| c.id == id).unwrap();
                let message = result(&report, id).message.clone().unwrap_or_default();
                assert!(message.starts_with(&condition.failure), "{shown}");
                eprintln!("mistake {mistake} / {id}: {message}");
            }
        }
    }
    let ok = checker.check(&exercise, &Namespace::student(Some("ok")).unwrap()).await;
    let seen = |id: &str| result(&ok, id).message.clone().unwrap_or_default();
    assert!(seen("evolved").contains("adds unit with a default"), "{}", render(&ok));
    assert!(
        seen("produced").contains("10 records on ok.sensor_readings decode, written with versions 1 and 2"),
        "{}",
        render(&ok)
    );
    assert!(seen("refused").contains("READER_FIELD_MISSING_DEFAULT_VALUE"), "{}", render(&ok));
    let why = |student: &'static str, id: &'static str| {
        let (checker, exercise) = (checker.clone(), exercise.clone());
        async move {
            let report = checker.check(&exercise, &Namespace::student(Some(student)).unwrap()).await;
            result(&report, id).message.clone().unwrap_or_default()
        }
    };
    assert!(why("fields", "registered").await.contains("without value"));
    assert!(
        why("nodefault", "evolved")
            .await
            .contains("version 2 of nodefault.sensor_readings-value cannot read version 1")
    );
    assert!(why("v1only", "produced").await.contains("were written with version 1 of v1only.sensor_readings-value"));
    assert!(why("accepted", "refused").await.contains("accepts that schema"));
    let nothing = why("nobody", "registered").await;
    assert!(nothing.contains("the Schema Registry has no subject nobody.sensor_readings-value"), "{nothing}");
    assert!(nothing.contains("ok.sensor_readings-value"), "it names the subjects there are: {nothing}");

    // The command line decodes them too, with the schemas it reads from `_schemas`.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["tail", "ok.sensor_readings", "--exit", "--brokers", &bootstrap, "--filter", "value.unit == \"kelvin\""])
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = printed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5, "the five readings of version 2:\n{printed}");
    for line in &lines {
        assert_eq!(line["value"]["unit"], "kelvin", "{line}");
        assert!(
            line["avro_schema"].as_str().unwrap().starts_with("streamlab.sensors.SensorReading, schema "),
            "{line}"
        );
    }

    // The Schema Registry page's data: the versions side by side with what changed.
    let (status, view) = curl(&[&format!("{web}/api/schemas")]);
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["url"], json!(url), "{view}");
    assert_eq!(view["global_level"], "BACKWARD");
    let subject = view["subjects"].as_array().unwrap().iter().find(|s| s["subject"] == "ok.sensor_readings-value");
    let subject = subject.unwrap_or_else(|| panic!("ok.sensor_readings-value in {view}"));
    assert_eq!(subject["level"], "BACKWARD");
    let versions = subject["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{subject}");
    assert_eq!(versions[0]["changes"], json!([]));
    assert_eq!(versions[1]["changes"], json!([{"kind": "added", "text": "field unit: string = \"celsius\""}]));
    assert_eq!(versions[1]["name"], "streamlab.sensors.SensorReading");
    if browser {
        schemas_page(&web).await;
    }
}

/// The Schema Registry page in Chromium: the student's subject with both versions, the
/// second marked with the field it added.
async fn schemas_page(web: &str) {
    let Some(browser) = crate::browser::browser().await else { return };
    browser.goto(&format!("{web}/#/schemas")).await;
    let subject = "article.subject[data-subject=\"ok.sensor_readings-value\"]";
    let added = format!("{subject} .version[data-version=\"2\"] li.change.added");
    browser
        .wait_for(
            &format!("return (document.querySelector('{added}')?.textContent || '').includes('field unit: string')"),
            std::time::Duration::from_secs(30),
            "version 2 with the field it added",
        )
        .await;
    let columns = browser.eval(&format!("return document.querySelectorAll('{subject} .version').length")).await;
    assert_eq!(columns, json!(2));
    browser.screenshot(&crate::browser::shot("schema-registry")).await;
}

/// In class mode the registry keeps to the lab's rules: a student registers, changes and
/// deletes only subjects in her namespace, with her class token sent as confluent-kafka
/// sends credentials (basic auth); she lists only what she may read; a guest registers
/// nothing; the teacher may do everything, and alone sets the global level.
#[tokio::test(flavor = "multi_thread")]
async fn in_class_mode_a_student_registers_only_in_her_namespace() {
    use streamlab::exercises::class::Class;
    use streamlab::web::access::Access;
    let b = start_broker().await;
    let class = Class::new("registry class secret", vec!["alice".into(), "bob".into()]);
    let access =
        Access { admin_token: Some("teach-token".into()), class: Some(class.clone()), ..crate::support::lab_access() };
    let options = LabOptions {
        kafka: Some(b.kafka.clone()),
        schema_registry: Some("127.0.0.1:0".parse().unwrap()),
        access,
        ..LabOptions::default()
    };
    let (web, registry, _lab) = serve_lab_with_registry(options).await;
    let url = format!("http://{}", registry.unwrap());
    let alice = format!("alice:{}", class.token("alice", None).unwrap());
    let bob = format!("bob:{}", class.token("bob", None).unwrap());
    let schema = json!({"schema": "{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": \"a\", \"type\": \"int\"}]}"});
    let register = |who: Option<&str>, subject: &str| {
        let mut args = vec!["-X".to_owned(), "POST".into(), "--data".into(), schema.to_string()];
        if let Some(who) = who {
            args.extend(["-u".to_owned(), who.to_owned()]);
        }
        args.push(format!("{url}/subjects/{subject}/versions"));
        curl(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(register(Some(&alice), "alice.readings-value").0, 200);
    assert_eq!(register(Some(&bob), "bob.readings-value").0, 200);
    let (status, refused) = register(Some(&alice), "bob.readings-value");
    assert_eq!((status, &refused["error_code"]), (403, &json!(40301)), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("alice may not write to bob's subject"), "{refused}");
    let (status, guest) = register(None, "shared-value");
    assert_eq!((status, &guest["error_code"]), (401, &json!(40101)), "{guest}");
    assert!(guest["message"].as_str().unwrap().contains("class token"), "{guest}");
    let (status, wrong) = register(Some("alice:not-a-token"), "alice.readings-value");
    assert_eq!((status, &wrong["error_code"]), (401, &json!(40101)), "{wrong}");
    // The teacher's subjects outside any namespace are the lab's: every student reads them.
    let teacher = ["-H", "Authorization: Bearer teach-token"];
    let (status, _) = curl(&[
        teacher[0],
        teacher[1],
        "-X",
        "POST",
        "--data",
        &schema.to_string(),
        &format!("{url}/subjects/sensors-value/versions"),
    ]);
    assert_eq!(status, 200);
    assert_eq!(curl(&["-u", &alice, &format!("{url}/subjects")]).1, json!(["alice.readings-value", "sensors-value"]));
    assert_eq!(
        curl(&["-u", &alice, &format!("{url}/schemas/ids/1/subjects")]).1,
        json!(["alice.readings-value", "sensors-value"])
    );
    assert_eq!(curl(&["-u", &alice, &format!("{url}/subjects/bob.readings-value/versions")]).0, 403);
    assert_eq!(curl(&["-u", &alice, &format!("{url}/subjects/sensors-value/versions")]).0, 200);
    // Schemas by id stay readable: a deserializer reading a lab topic needs them.
    assert_eq!(curl(&[&format!("{url}/schemas/ids/1")]).0, 200);
    let set = |who: &[&str], path: &str| {
        let mut args: Vec<&str> = who.to_vec();
        let target = format!("{url}{path}");
        args.extend(["-X", "PUT", "--data", r#"{"compatibility": "NONE"}"#]);
        args.push(&target);
        curl(&args).0
    };
    assert_eq!(set(&["-u", &alice], "/config/alice.readings-value"), 200);
    assert_eq!(set(&["-u", &alice], "/config/sensors-value"), 403);
    assert_eq!(set(&["-u", &alice], "/config"), 403);
    assert_eq!(set(&teacher, "/config"), 200);
    let back = ["-X", "PUT", "--data", r#"{"compatibility": "BACKWARD"}"#];
    assert_eq!(curl(&[teacher[0], teacher[1], back[0], back[1], back[2], back[3], &format!("{url}/config")]).0, 200);
    assert_eq!(curl(&["-u", &alice, "-X", "DELETE", &format!("{url}/subjects/bob.readings-value")]).0, 403);
    assert_eq!(curl(&["-u", &bob, "-X", "DELETE", &format!("{url}/subjects/bob.readings-value")]).1, json!([1]));
    // The lab's page shows a student what she may read, and nothing of bob's.
    let alice_token = class.token("alice", None).unwrap();
    let (_, view) = curl(&["-H", &format!("Authorization: Bearer {alice_token}"), &format!("{web}/api/schemas")]);
    let shown: Vec<&str> =
        view["subjects"].as_array().unwrap().iter().map(|s| s["subject"].as_str().unwrap()).collect();
    assert_eq!(shown, ["alice.readings-value", "sensors-value"], "{view}");

    // confluent-kafka's own client, with the token as `basic.auth.user.info`: exercise 15
    // solved in alice's namespace passes.
    if require(python_has_registry_client(), "confluent-kafka with its schema_registry extras") {
        let token = class.token("alice", None).unwrap();
        let out = solve_15(&url, &b.bootstrap(), "alice", None, Some(&token)).await;
        assert!(out.contains("refused 409 409"), "{out}");
        let catalog = std::sync::Arc::new(streamlab::exercises::Catalog::embedded().unwrap());
        let checker = streamlab::exercises::check::Checker::new(b.kafka.clone(), catalog.clone());
        let report = checker
            .check(catalog.find("15").unwrap(), &streamlab::exercises::Namespace::student(Some("alice")).unwrap())
            .await;
        assert!(report.passed, "{}", streamlab::exercises::check::render(&report));
    }
}
