//! Apache Kafka for the suites, started as a teacher starts it: `./lab kafka start`, nodes on
//! loopback ports no other test holds, each cluster in a directory of its own.

use crate::support::{in_ci, require};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use streamlab::kafka::KafkaConfig;

/// True when Java is here to run Kafka; in CI `./lab kafka start` installs it, so a test
/// never skips there.
pub fn java_here() -> bool {
    let found = Command::new("java").arg("-version").output().is_ok_and(|o| o.status.success());
    require(found || in_ci(), "Java (for Apache Kafka)")
}

/// `./lab kafka ARGS` from the repository's root.
pub fn lab_kafka(args: &[&str]) -> Output {
    lab(&[&["kafka"], args].concat())
}

/// `./lab ARGS` from the repository's root, as a teacher runs it.
pub fn lab(args: &[&str]) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Command::new(root.join("lab")).args(args).current_dir(root).output().unwrap()
}

/// What a command printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A base port P with P..P+nodes (brokers), P+99 (a dedicated controller) and P+100..
/// (controllers) free.
pub fn free_base(nodes: u16) -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        let free = |q: u16| q == p || std::net::TcpListener::bind(("127.0.0.1", q)).is_ok();
        if p < 65000 && free(p + 99) && (0..nodes).all(|k| free(p + k) && free(p + 100 + k)) {
            return p;
        }
    }
}

/// A cluster directory, stopped and removed when the test ends (whatever it asserted).
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new() -> Dir {
        Dir(std::env::temp_dir().join(format!("streamlab-kafka-{}", uuid::Uuid::new_v4())))
    }
    pub fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
    /// Node K's pid, as `./lab kafka start` wrote it.
    pub fn pid(&self, node: usize) -> Option<String> {
        std::fs::read_to_string(self.0.join(format!("node-{node}.pid"))).ok().map(|p| p.trim().to_owned())
    }
    /// Processes started from this directory that still run.
    pub fn running(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.0) else { return Vec::new() };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".pid"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|pid| pid.trim().to_owned())
            .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
            .collect()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // A test's cluster ends at once: a graceful stop of a cluster that lost a node waits
        // for elections that cannot happen. Graceful stops have their own test.
        for pid in self.running() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running cluster of `nodes` Kafka nodes.
pub struct Cluster {
    pub dir: Dir,
    pub brokers: String,
    /// The teacher's client settings a cluster with SASL printed (`KAFKA_CLIENT_FLAGS=-X
    /// k=v -X ...`); none without.
    pub teacher: Vec<(String, String)>,
}

impl Cluster {
    /// Starts it, or fails the test with what `./lab kafka start` said.
    pub fn start(nodes: u16) -> Cluster {
        Cluster::start_with(nodes, &[])
    }

    /// [`Cluster::start`] with more of `./lab kafka start`'s flags.
    pub fn start_with(nodes: u16, flags: &[&str]) -> Cluster {
        let dir = Dir::new();
        let (port, n) = (free_base(nodes).to_string(), nodes.to_string());
        let mut args = vec!["start", "--nodes", &n, "--dir", dir.arg(), "--port", &port];
        args.extend(flags);
        let started = lab_kafka(&args);
        assert!(started.status.success(), "./lab kafka start --nodes {nodes}: {}", text(&started));
        let stdout = String::from_utf8_lossy(&started.stdout).into_owned();
        let last = stdout.lines().last().unwrap_or_default().to_owned();
        let brokers = last.strip_prefix("KAFKA_BROKERS=").expect("KAFKA_BROKERS=… last").to_owned();
        let teacher = stdout
            .lines()
            .find_map(|l| l.strip_prefix("KAFKA_CLIENT_FLAGS="))
            .map(|flags| {
                flags
                    .split(" -X ")
                    .map(|kv| kv.trim_start_matches("-X ").split_once('=').expect("-X key=value"))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Cluster { dir, brokers, teacher }
    }

    /// The cluster as the teacher's clients reach it (signed in, with SASL).
    pub fn kafka(&self) -> KafkaConfig {
        KafkaConfig::new(self.brokers.clone()).with_properties(self.teacher.clone())
    }

    /// Broker K taken away as a class does it: `./lab kafka stop --node K`.
    pub fn stop_node(&self, node: usize) {
        let stopped = lab_kafka(&["stop", "--dir", self.dir.arg(), "--node", &node.to_string()]);
        assert!(stopped.status.success(), "./lab kafka stop --node {node}: {}", text(&stopped));
    }

    /// The nodes taken away brought back: `./lab kafka start --dir DIR` again.
    pub fn bring_back(&self) {
        let started = lab_kafka(&["start", "--dir", self.dir.arg()]);
        assert!(started.status.success(), "./lab kafka start again: {}", text(&started));
        assert!(text(&started).contains("bringing back node(s)"), "{}", text(&started));
    }

    /// Node K lost as a power cut loses it: SIGKILL, no controlled shutdown.
    pub fn kill_node(&self, node: usize) {
        let pid = self.dir.pid(node).expect("the node's pid file");
        assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
    }
}
