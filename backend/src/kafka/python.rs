//! Whether the Python a student runs the exercises with is ready: the interpreter, the
//! clients the exercises' READMEs import (kafka-python, fastavro) and, where installed,
//! confluent-kafka — each imported and, for the clients, connected to the broker the way
//! a student's script connects. Part of `streamlab doctor`, run on the student's machine.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use streamlab_wire::{DoctorCheck, PYTHON_INSTALL};

/// Longer than the script's own client timeouts (10 s each): a Python that hangs anyway is
/// stopped and reported.
const LIMIT: Duration = Duration::from_secs(60);

/// Run by the interpreter with the bootstrap address, the install command and whether to
/// connect; prints one JSON check per line.
const SCRIPT: &str = r#"
import json, sys
bootstrap, install, connect = sys.argv[1], sys.argv[2], sys.argv[3] == "connect"
def say(name, ok, detail, fix=None):
    print(json.dumps({"name": name, "ok": ok, "detail": detail, "fix": fix}), flush=True)
say("python", True, "Python %s (%s)" % (sys.version.split()[0], sys.executable))
not_tried = "; not connected: the broker checks above failed"
try:
    import kafka
except Exception as e:
    say("kafka-python", False, "kafka-python does not import: %s" % e, install)
else:
    if not connect:
        say("kafka-python", True, "kafka-python %s imports%s" % (kafka.__version__, not_tried))
    else:
        try:
            consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10000)
            n = len(consumer.topics())
            consumer.close()
            say("kafka-python", True, "kafka-python %s reaches %s and lists %d topics" % (kafka.__version__, bootstrap, n))
        except Exception as e:
            say("kafka-python", False, "kafka-python %s cannot reach %s: %r" % (kafka.__version__, bootstrap, e),
                "use the bootstrap address the lab's overview page shows; the checks above say whether the broker answers")
try:
    import fastavro
    say("fastavro", True, "fastavro %s imports (exercise 9 reads Avro with it)" % fastavro.__version__)
except Exception as e:
    say("fastavro", False, "fastavro does not import: %s; exercise 9 reads Avro with it" % e, install)
try:
    import confluent_kafka
except Exception:
    say("confluent-kafka", True, "not installed; no exercise needs it")
else:
    version = confluent_kafka.__version__
    if not connect:
        say("confluent-kafka", True, "confluent-kafka %s imports%s" % (version, not_tried))
    else:
        try:
            from confluent_kafka.admin import AdminClient
            n = len(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics)
            say("confluent-kafka", True, "confluent-kafka %s reaches %s and lists %d topics" % (version, bootstrap, n))
        except Exception as e:
            say("confluent-kafka", False, "confluent-kafka %s cannot reach %s: %s" % (version, bootstrap, e),
                "use the bootstrap address the lab's overview page shows ('bootstrap.servers')")
"#;

/// Whether `python` imports the clients the exercises use (the lab says at start when not;
/// [`checks`] says more: which, and whether they reach the broker).
pub fn clients_import(python: &str) -> bool {
    Command::new(python)
        .args(["-c", "import kafka, fastavro"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The Python checks, with `python` as the interpreter; `connect` when the broker checks
/// passed (else the clients are only imported: connecting would fail for the same reason).
/// Blocking.
pub fn checks(python: &str, bootstrap: &str, connect: bool) -> Vec<DoctorCheck> {
    let missing = |detail: String| DoctorCheck {
        name: "python".into(),
        ok: false,
        detail,
        fix: Some(format!("install Python 3 (python.org, or apt install python3-pip), then: {PYTHON_INSTALL}")),
    };
    let mode = if connect { "connect" } else { "import" };
    let child = Command::new(python)
        .args(["-c", SCRIPT, bootstrap, PYTHON_INSTALL, mode])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return vec![missing(format!("{python} does not run: {e}"))],
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < LIMIT => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().map(|mut o| o.read_to_string(&mut out));
    child.stderr.take().map(|mut e| e.read_to_string(&mut err));
    let mut checks: Vec<DoctorCheck> = out.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    if status.is_none() {
        checks.push(missing(format!("{python} did not finish the checks within {} s", LIMIT.as_secs())));
    } else if checks.is_empty() {
        let last = err.lines().last().unwrap_or("no output");
        checks.push(missing(format!("{python} is not a Python 3 that runs the checks: {last}")));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_interpreter_says_how_to_install_everything() {
        let checks = checks("/nonexistent/python3", "127.0.0.1:9092", false);
        assert_eq!(checks.len(), 1);
        assert!(!checks[0].ok && checks[0].detail.contains("/nonexistent/python3 does not run"));
        assert!(checks[0].fix.as_deref().unwrap().ends_with(PYTHON_INSTALL));
    }
}
