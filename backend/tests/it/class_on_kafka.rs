//! A class kept apart at the Kafka level: `./lab kafka start --sasl`, the lab in class mode on
//! it (its own services signed in as the teacher), each student's user and ACLs made by the
//! lab and by `streamlab class apply`, and the students' own Python clients — kafka-python
//! and confluent-kafka, configured as the READMEs show plus her name and class token — held
//! to `NAME.*` by the broker itself.

use crate::support::kafka::{Cluster, java_here};
use crate::support::{LabOptions, lab_access, require, serve_lab_opts};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use streamlab::exercises::class::Class;
use streamlab::exercises::rights::student_acls;
use streamlab::kafka::KafkaConfig;
use streamlab::kafka::metadata::ClusterReader;
use streamlab::kafka::security;
use streamlab::web::access::Access;
use streamlab_wire::{CheckReport, DoctorCheck, ExerciseInfo, Outcome, topics};

const SECRET: &str = "the SASL class's secret, long enough";

fn python_has(module: &str) -> bool {
    std::process::Command::new("python3").args(["-c", &format!("import {module}")]).status().is_ok_and(|s| s.success())
}

/// What the student could do, as `sasl_student.py` found it with `client`.
async fn student_tries(client: &str, cluster: &Cluster, user: &str, password: &str, other: &str) -> Value {
    let path = format!("{}/tests/python/sasl_student.py", env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new("timeout")
        .args(["150", "python3", &path, client, &cluster.brokers, user, password, topics::PREDICTIONS, other])
        .output()
        .await
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{client} as {user}:\n{said}");
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{client}: {e}:\n{said}"))
}

/// `streamlab ARGS --brokers B` with the teacher's `-X` settings (and `extra` after them).
async fn streamlab(cluster: &Cluster, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_streamlab"));
    command.args(args).args(["--brokers", &cluster.brokers]).env("STREAMLAB_LOG", "warn");
    for (k, v) in &cluster.teacher {
        let v = extra.iter().find(|(ek, _)| ek == k).map_or(v.as_str(), |(_, ev)| ev);
        command.args(["-X", &format!("{k}={v}")]);
    }
    tokio::time::timeout(Duration::from_secs(90), command.output()).await.expect("streamlab within 90 s").unwrap()
}

fn said(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `GET path` from the lab as the holder of `token`, its JSON answer.
async fn get_as<T: serde::de::DeserializeOwned>(addr: std::net::SocketAddr, token: &str, path: &str) -> T {
    let answer = reqwest::Client::new().get(format!("http://{addr}{path}")).bearer_auth(token).send().await.unwrap();
    answer.json().await.unwrap()
}

fn held_acls(kafka: &KafkaConfig, student: &str) -> BTreeSet<String> {
    let principal = format!("User:{student}");
    security::acls(kafka).unwrap().into_iter().filter(|a| a.principal == principal).map(|a| a.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_cluster_with_sasl_each_student_signs_in_as_herself_and_is_kept_to_her_prefix() {
    if !java_here()
        || !require(python_has("kafka") && python_has("confluent_kafka"), "kafka-python and confluent-kafka")
    {
        return;
    }
    let turn = crate::support::heavy("kafka-sasl");
    let cluster = tokio::task::spawn_blocking(|| Cluster::start_with(1, &["--sasl"])).await.unwrap();
    let setting = |k: &str| cluster.teacher.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(setting("security.protocol").as_deref(), Some("SASL_PLAINTEXT"), "{:?}", cluster.teacher);
    assert_eq!(setting("sasl.mechanism").as_deref(), Some("SCRAM-SHA-256"));
    assert_eq!(setting("sasl.username").as_deref(), Some("teacher"));
    let kafka = cluster.kafka();
    assert!(!security::signs_in(&kafka, "teacher", "not the password").unwrap(), "a wrong password is refused");

    // The lab in class mode: it gives alice and bob their users and rights as it starts, and
    // its own services (inference among them) run as the teacher.
    let class = Class::new(SECRET, vec!["alice".into(), "bob".into()]);
    let access = Access { admin_token: Some("teach-token".into()), class: Some(class.clone()), ..lab_access() };
    let options = LabOptions { kafka: Some(kafka.clone()), inference: true, access, ..LabOptions::default() };
    let (addr, _lab) = serve_lab_opts(options).await;
    let users = security::users(&kafka).unwrap();
    assert_eq!(users, ["alice", "bob", "teacher"]);
    let lab_topics = lab_access().lab_topics;
    for student in ["alice", "bob"] {
        let want: BTreeSet<String> = student_acls(student, &lab_topics).iter().map(ToString::to_string).collect();
        assert_eq!(held_acls(&kafka, student), want);
    }
    crate::inference::produce_valid(&kafka, topics::REQUESTS, 5).await;
    let reader = ClusterReader::new(&kafka).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let predicted: i64 =
            reader.topics().unwrap().iter().filter(|t| t.name == topics::PREDICTIONS).map(|t| t.messages).sum();
        if predicted >= 5 {
            break;
        }
        assert!(Instant::now() < deadline, "the lab's inference, signed in as the teacher, predicted {predicted} of 5");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // alice, with each client library: her own topics and groups, reading the lab's topic;
    // bob's topics neither read, written nor deleted; a lab topic not deleted; a wrong
    // password refused.
    let alice = class.token("alice", None).unwrap();
    let refusals = || {
        let log = std::fs::read_to_string(cluster.dir.0.join("node-1/server.log")).unwrap_or_default();
        log.lines().filter(|l| l.contains("Failed authentication with") && l.contains("invalid credentials")).count()
    };
    let refused_before = refusals();
    let kp = student_tries("kafka-python", &cluster, "alice", &alice, "bob").await;
    assert_eq!((kp["own_written"].as_i64(), kp["own_read"].as_i64()), (Some(3), Some(3)), "{kp}");
    assert_eq!(kp["lab_read"].as_i64(), Some(1), "{kp}");
    for key in ["other_write", "other_delete", "lab_delete"] {
        assert_eq!(kp[key], "TopicAuthorizationFailedError", "kafka-python {key}: {kp}");
    }
    // kafka-python's consumer does not raise it: it reads nothing and logs the refusal.
    assert_eq!(kp["other_read"], "read 0, logged: Topic bob.orders is not authorized for this client", "{kp}");
    // kafka-python hears the refusal as a closed connection and gives up bootstrapping; the
    // broker logged it as a failed authentication.
    assert!(
        ["KafkaTimeoutError", "NoBrokersAvailable"].contains(&kp["wrong_password"].as_str().unwrap()),
        "kafka-python with a wrong password: {kp}"
    );
    assert!(refusals() > refused_before, "the broker logged no failed authentication");
    let ck = student_tries("confluent", &cluster, "alice", &alice, "bob").await;
    assert_eq!((ck["own_written"].as_i64(), ck["own_read"].as_i64()), (Some(3), Some(3)), "{ck}");
    assert_eq!(ck["lab_read"].as_i64(), Some(1), "{ck}");
    for key in ["other_write", "other_read", "other_delete", "lab_delete"] {
        assert_eq!(ck[key], "TOPIC_AUTHORIZATION_FAILED", "confluent-kafka {key}: {ck}");
    }
    assert_eq!(ck["wrong_password"], "_AUTHENTICATION", "{ck}");
    let predictions = reader.topics().unwrap().into_iter().find(|t| t.name == topics::PREDICTIONS).unwrap();
    assert!(predictions.messages >= 5, "the lab's topic is still there: {predictions:?}");

    // The lab tells a signed-in student how her client signs in.
    let exercises: Vec<ExerciseInfo> = get_as(addr, &alice, "/api/exercises").await;
    let first = &exercises[0].instructions_html;
    let bootstrap = format!("bootstrap_servers=\"{}\"", cluster.brokers);
    assert!(first.contains(&bootstrap) && first.contains("sasl_plain_username=\"alice\""), "{first}");
    // The checker reads the cluster as the teacher: alice's exercise 1 is checked (it fails,
    // she has not done it), not an error for want of rights.
    let report: CheckReport = get_as(addr, &alice, &format!("/api/exercises/{}/check", exercises[0].id)).await;
    assert_eq!(report.student.as_deref(), Some("alice"));
    assert!(
        !report.passed && report.results.iter().all(|r| matches!(r.outcome, Outcome::Fail | Outcome::Pass)),
        "{report:?}"
    );
    let doctor: Vec<DoctorCheck> =
        reqwest::get(format!("http://{addr}/api/doctor")).await.unwrap().json().await.unwrap();
    let sign_in = doctor.iter().find(|c| c.name == "sign in").expect("a sign-in check");
    assert!(sign_in.ok && sign_in.detail == "signed in as teacher (SCRAM-SHA-256)", "{sign_in:?}");

    // The doctor tells a refused password from a refused topic.
    let wrong = streamlab(&cluster, &["doctor"], &[("sasl.password", "nope")]).await;
    assert!(!wrong.status.success());
    assert!(said(&wrong).contains("refused teacher's sign-in (authentication failed"), "{}", said(&wrong));
    let as_alice = [("sasl.username", "alice"), ("sasl.password", alice.as_str())];
    let hidden = streamlab(&cluster, &["doctor", "--topic", "bob.orders"], &as_alice).await;
    assert!(said(&hidden).contains("signed in as alice"), "{}", said(&hidden));
    assert!(said(&hidden).contains("alice may not see bob.orders (authorization failed"), "{}", said(&hidden));

    // `streamlab class apply`: a second run changes nothing; bob off the roster loses his
    // user and rights, alice keeps hers.
    let roster = cluster.dir.0.join("roster.txt");
    std::fs::write(&roster, "alice\nbob\n").unwrap();
    let path = roster.to_str().unwrap();
    let apply = ["class", "apply", "--roster", path, "--class-secret", SECRET];
    let again = streamlab(&cluster, &apply, &[]).await;
    assert!(again.status.success(), "{}", said(&again));
    assert!(said(&again).contains("all 2 students' users and ACLs were already in place"), "{}", said(&again));
    std::fs::write(&roster, "alice\n").unwrap();
    let removed = streamlab(&cluster, &apply, &[]).await;
    assert!(removed.status.success(), "{}", said(&removed));
    let text = said(&removed);
    let bob_row: Vec<&str> =
        text.lines().find(|l| l.starts_with("bob ")).unwrap_or_default().split_whitespace().collect();
    let each = student_acls("bob", &lab_topics).len().to_string();
    assert_eq!(bob_row, ["bob", "removed", "0", each.as_str()], "{text}");
    assert_eq!(security::users(&kafka).unwrap(), ["alice", "teacher"]);
    assert!(held_acls(&kafka, "bob").is_empty());
    assert_eq!(held_acls(&kafka, "alice").len(), student_acls("alice", &lab_topics).len());
    let bob = class.token("bob", None).unwrap();
    assert!(!security::signs_in(&kafka, "bob", &bob).unwrap(), "bob no longer signs in");
    assert!(security::signs_in(&kafka, "alice", &alice).unwrap(), "alice still does");

    // Without a super user's settings the command says what it needs.
    let as_student = streamlab(&cluster, &apply, &as_alice).await;
    assert!(!as_student.status.success());
    assert!(said(&as_student).contains("may not"), "{}", said(&as_student));

    // In the browser, signed in as alice: the connect card says how her client signs in.
    drop(turn);
    let Some(browser) = crate::browser::browser().await else { return };
    let long = Duration::from_secs(30);
    browser.goto(&format!("http://{addr}/#/")).await;
    browser.wait_for("return !!document.querySelector('#sign-in #token')", long, "the sign-in box").await;
    let token = Value::String(alice.clone());
    let sign_in = format!(
        "document.querySelector('#token').value = {token}; document.querySelector('#sign-in').requestSubmit(); return true"
    );
    browser.eval(&sign_in).await;
    browser
        .wait_for(
            "return (document.querySelector('#connect-sign-in')?.textContent || '').includes('SCRAM-SHA-256')",
            long,
            "the connect card says the cluster wants clients to sign in",
        )
        .await;
    let snippet = browser.eval("return document.querySelector('#python-snippet').textContent").await;
    let snippet = snippet.as_str().unwrap();
    assert!(snippet.contains("security_protocol=\"SASL_PLAINTEXT\""), "{snippet}");
    assert!(snippet.contains("sasl_mechanism=\"SCRAM-SHA-256\""), "{snippet}");
    assert!(snippet.contains("sasl_plain_username=\"alice\""), "{snippet}");
    browser.screenshot(&crate::browser::shot("class-sasl-connect")).await;
}
