//! What the benches that run `streamlab` as a process share: their flags, a free port, and
//! the process's CPU time and memory as /proc tells them, and Apache Kafka beside them.

// Each bench is a crate of its own and uses a part of this.
#![allow(dead_code)]

/// The number after `name` on the command line, or `default`.
pub fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// utime + stime of a process, in seconds (0 once it is gone).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Seconds of CPU time the machine's cores have spent busy since boot (`/proc/stat`, in its
/// 1/100 s ticks; all but idle and iowait), NaN where there is no /proc.
pub fn machine_busy_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return f64::NAN };
    let ticks: Vec<f64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal …
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    (ticks.iter().take(8).sum::<f64>() - idle) / 100.0
}

/// A field of /proc/PID/status in KiB (`VmRSS:`, `VmHWM:`), 0 once the process is gone.
pub fn status_kb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// One Apache Kafka node started with `./lab kafka start` in a directory of its own, stopped
/// (and its directory removed) when dropped; `None`, with the reason printed, when it cannot
/// start (no Java here, say).
pub struct KafkaNode {
    dir: std::path::PathBuf,
    pub bootstrap: String,
}

impl KafkaNode {
    /// The node's JVM (`./lab kafka` keeps each node's pid in its directory).
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("node-1.pid")).ok()?.trim().parse().ok()
    }

    pub fn start() -> Option<KafkaNode> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let dir = std::env::temp_dir().join(format!("streamlab-bench-kafka-{}", uuid::Uuid::new_v4()));
        // A port P whose controller port P+100 is free too.
        let port = loop {
            let p = free_port();
            if p < 65000 && std::net::TcpListener::bind(("127.0.0.1", p + 100)).is_ok() {
                break p;
            }
        };
        let out = std::process::Command::new(root.join("lab"))
            .args(["kafka", "start", "--port", &port.to_string(), "--dir"])
            .arg(&dir)
            .current_dir(root)
            .output()
            .ok()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        match last.strip_prefix("KAFKA_BROKERS=") {
            Some(b) if out.status.success() => Some(KafkaNode { dir, bootstrap: b.to_owned() }),
            _ => {
                eprintln!("Kafka rows skipped: ./lab kafka start failed:\n{}", String::from_utf8_lossy(&out.stderr));
                None
            }
        }
    }
}

impl Drop for KafkaNode {
    fn drop(&mut self) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let _ = std::process::Command::new(root.join("lab"))
            .args(["kafka", "stop", "--dir"])
            .arg(&self.dir)
            .current_dir(root)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
