//! Load bench of the live tail: N websocket clients tail one topic fed at a steady rate.
//!
//! `cargo bench -p streamlab --bench live [-- --clients 50 --rate 5000 --seconds 60]`
//!
//! The server is the real `streamlab` binary (embedded broker, inference on), measured from
//! the outside: CPU from /proc/PID/stat, peak memory from VmHWM. The clients and the feed run
//! in this process on the same machine, so on a small machine they compete with the server.

mod support;

use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use streamlab::kafka::KafkaConfig;
use streamlab::load::datagen::{DatagenConfig, Pace};
use support::{arg, cpu_seconds, free_port, status_kb};
use tokio_tungstenite::tungstenite::Message;

#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    batches: Vec<Batch>,
}

#[derive(Deserialize)]
struct Batch {
    records: Vec<IgnoredAny>,
    skipped: u64,
}

#[derive(Default)]
struct Counts {
    frames: AtomicU64,
    records: AtomicU64,
    skipped: AtomicU64,
}

#[tokio::main]
async fn main() {
    let clients = arg("--clients", 50.0) as usize;
    let rate = arg("--rate", 5000.0);
    let seconds = arg("--seconds", 60.0);
    let (broker, web) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let mut server = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["--broker-addr", &broker, "--web-addr", &web, "--requests-per-second", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("streamlab starts");
    let pid = server.id();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(format!("http://{web}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the lab did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let created = http
        .post(format!("http://{web}/api/topics"))
        .json(&serde_json::json!({"name": "bench_feed", "partitions": 3}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());

    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (ws_url, counts, stop) = (format!("ws://{web}/ws"), counts.clone(), stop.clone());
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.expect("socket opens");
        ws.send(Message::Text(format!(r#"{{"type":"subscribe","subscription":{i},"topic":"bench_feed"}}"#).into()))
            .await
            .unwrap();
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(Some(Ok(Message::Text(text)))) =
                    tokio::time::timeout(Duration::from_millis(500), ws.next()).await
                else {
                    continue;
                };
                let Ok(frame) = serde_json::from_str::<Frame>(&text) else { continue };
                if frame.kind == "records" {
                    counts.frames.fetch_add(1, Ordering::Relaxed);
                    for b in frame.batches {
                        counts.records.fetch_add(b.records.len() as u64, Ordering::Relaxed);
                        counts.skipped.fetch_add(b.skipped, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (cpu0, t0) = (cpu_seconds(pid), Instant::now());
    let kafka = KafkaConfig::new(broker.clone());
    let total = (rate * seconds) as u64;
    let feed = tokio::task::spawn_blocking(move || {
        let config = DatagenConfig {
            topic: "bench_feed".into(),
            pace: Pace::Rate(rate),
            count: Some(total),
            categoricals: streamlab_model::profile::Categoricals::Joint,
            verbose: false,
            seed: Some(1),
        };
        streamlab::load::datagen::run(&kafka, &config, &streamlab::shutdown::Shutdown::new()).unwrap()
    });
    let mut peak_rss: f64 = 0.0;
    while !feed.is_finished() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak_rss = peak_rss.max(status_kb(pid, "VmRSS:"));
    }
    let sent = feed.await.unwrap().acked.load(Ordering::Relaxed);
    // Let the last frames arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu, elapsed) = (cpu_seconds(pid) - cpu0, t0.elapsed().as_secs_f64());
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let hwm = status_kb(pid, "VmHWM:");
    let _ = server.kill();
    let _ = server.wait();

    let (frames, records, skipped) = (
        counts.frames.load(Ordering::Relaxed),
        counts.records.load(Ordering::Relaxed),
        counts.skipped.load(Ordering::Relaxed),
    );
    let per_client = |n: u64| n as f64 / clients as f64;
    println!(
        "live tail load: {clients} websocket clients, one topic fed at {rate}/s for {seconds} s (2-core machine, clients in the same machine)"
    );
    println!("{:<44}{:>14}", "measure", "value");
    println!("{:<44}{:>14}", "records produced", sent);
    println!("{:<44}{:>14.1}", "produced records/s", sent as f64 / elapsed);
    println!("{:<44}{:>14.1}", "frames/s per client (mean)", per_client(frames) / elapsed);
    println!("{:<44}{:>14.1}", "records per frame (mean)", records as f64 / frames.max(1) as f64);
    println!("{:<44}{:>14.0}", "records delivered per client", per_client(records));
    println!("{:<44}{:>14.0}", "records skipped per client", per_client(skipped));
    println!("{:<44}{:>13.2}%", "delivered + skipped of produced", 100.0 * per_client(records + skipped) / sent as f64);
    println!("{:<44}{:>13.0}%", "server CPU (of one core)", 100.0 * cpu / elapsed);
    println!("{:<44}{:>14.1}", "server peak RSS during the run, MB", peak_rss / 1024.0);
    println!("{:<44}{:>14.1}", "server peak RSS ever (VmHWM), MB", hwm / 1024.0);
}
