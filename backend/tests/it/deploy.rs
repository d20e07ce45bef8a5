//! The class server's compose file: no Docker engine runs here, so check that it parses and
//! wires streamlab to the cluster the way README says.

#[test]
fn compose_file_parses_and_points_streamlab_at_redpanda() {
    let has_yaml =
        std::process::Command::new("python3").args(["-c", "import yaml"]).status().is_ok_and(|s| s.success());
    if !crate::support::require(has_yaml, "python3 with PyYAML") {
        return;
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/compose.yaml");
    let script = r#"
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
assert set(s) == {"redpanda", "streamlab"}, s.keys()
env = s["streamlab"]["environment"]
assert env["KAFKA_BROKERS"] == "redpanda:9092", env
assert "3005:3005" in s["streamlab"]["ports"]
assert s["streamlab"]["depends_on"]["redpanda"]["condition"] == "service_healthy"
start = " ".join(s["redpanda"]["command"])
# Students' clients reconnect to the advertised address: it must be the class host's, not localhost.
assert "external://${CLASS_HOST:-localhost}:19092" in start, start
print("ok")
"#;
    let out = std::process::Command::new("python3").args(["-c", script, path]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dockerfile = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/Dockerfile")).unwrap();
    assert!(dockerfile.contains("./lab build"), "the image builds the way a user does");
}
