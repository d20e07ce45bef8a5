//! Load bench of a class of sixty on one lab: every student signed in with her class token,
//! all from one address (a school's NAT), each with a browser's websocket (a live tail of the
//! predictions and her open exercise re-checked by the server), her own producer writing to
//! her own topic, and her requests to the API (topics, her records, a classmate's records —
//! refused —, her progress); the teacher's grade book downloaded every few seconds.
//!
//! `cargo bench -p streamlab --bench class [-- --students 60 --seconds 60 --rate 50]`
//!
//! The server is the real `streamlab` binary (embedded broker, inference on, the generator at
//! `--rate` requests/s), measured from the outside: API latency as the clients see it, CPU
//! from /proc/PID/stat, memory from VmRSS/VmHWM. The clients run in this process on the same
//! machine, so on a small machine they compete with the server.

mod support;

use futures::{SinkExt, StreamExt};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{arg, cpu_seconds, free_port, status_kb};
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "a-class-secret-for-the-bench";
const TEACHER: &str = "teacher-token-for-the-bench";
/// What a student asks the API, in the order of her requests.
const ASKED: [&str; 4] = ["GET /api/topics", "GET her records", "GET a classmate's records (403)", "GET /api/progress"];

/// What the clients saw.
#[derive(Default)]
struct Seen {
    /// Every answered API request of a student: which ([`ASKED`]), milliseconds, and when it
    /// was sent (seconds into the run).
    latencies: Vec<(usize, f64, f64)>,
    throttled: u64,
    /// Answers that were neither what was asked nor a 429 (a classmate's topic is a 403, expected).
    unexpected: Vec<String>,
    leaks: u64,
    ws_records: u64,
    ws_checks: u64,
    ws_errors: u64,
    /// Each grade-book download: when it was sent and how long it took (seconds).
    gradebook: Vec<(f64, f64)>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let students = arg("--students", 60.0) as usize;
    let seconds = arg("--seconds", 60.0);
    let rate = arg("--rate", 50.0);
    let dir = std::env::temp_dir().join(format!("streamlab-class-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let roster = dir.join("roster.txt");
    let names: Vec<String> = (1..=students).map(|i| format!("s{i:02}")).collect();
    std::fs::write(&roster, names.join("\n")).unwrap();
    let bin = env!("CARGO_BIN_EXE_streamlab");
    let tokens = Command::new(bin)
        .args(["class", "tokens", "--csv", "--class-secret", SECRET, "--roster"])
        .arg(&roster)
        .output()
        .expect("streamlab class tokens runs");
    let tokens: Vec<String> = String::from_utf8_lossy(&tokens.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(',').map(|(_, t)| t.to_owned()))
        .collect();
    assert_eq!(tokens.len(), students, "a token per student");

    let (broker, web) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let mut server = Command::new(bin)
        .args(["--broker-addr", &broker, "--web-addr", &web, "--class-secret", SECRET, "--admin-token", TEACHER])
        .arg("--roster")
        .arg(&roster)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("streamlab starts");
    let pid = server.id();
    let base = format!("http://{web}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the lab did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let generator = http
        .post(format!("{base}/api/generator"))
        .bearer_auth(TEACHER)
        .json(&serde_json::json!({"running": true, "rate": rate}))
        .send()
        .await
        .unwrap();
    assert!(generator.status().is_success(), "the generator starts");

    let seen = Arc::new(Mutex::new(Seen::default()));
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let (cpu0, t0) = (cpu_seconds(pid), Instant::now());
    let mut tasks = Vec::new();
    for (i, (name, token)) in names.iter().zip(&tokens).enumerate() {
        let classmate = names[(i + 1) % students].clone();
        let (name, token, seen, base, broker, web) =
            (name.clone(), token.clone(), seen.clone(), base.clone(), broker.clone(), web.clone());
        tasks.push(tokio::spawn(async move {
            student(&name, &token, &classmate, &base, &broker, &web, (t0, end), &seen).await;
        }));
    }
    // The teacher's grade book, every 5 s.
    let teacher = {
        let (seen, base, http) = (seen.clone(), base.clone(), http.clone());
        tokio::spawn(async move {
            while Instant::now() < end {
                let t = Instant::now();
                let book = http.get(format!("{base}/api/classroom.csv")).bearer_auth(TEACHER).send().await;
                if book.is_ok_and(|r| r.status().is_success()) {
                    let sent = t.duration_since(t0).as_secs_f64();
                    seen.lock().unwrap().gradebook.push((sent, t.elapsed().as_secs_f64()));
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        })
    };
    let mut peak_rss: f64 = 0.0;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak_rss = peak_rss.max(status_kb(pid, "VmRSS:"));
    }
    for t in tasks {
        let _ = t.await;
    }
    let _ = teacher.await;
    let (cpu, elapsed) = (cpu_seconds(pid) - cpu0, t0.elapsed().as_secs_f64());
    let hwm = status_kb(pid, "VmHWM:");
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);

    let seen = Arc::try_unwrap(seen).ok().unwrap().into_inner().unwrap();
    let book = &seen.gradebook;
    // The first grade book checks the whole class cold; requests sent before it was ready
    // share the machine with it.
    let warm = book.first().map_or(f64::INFINITY, |(sent, took)| sent + took);
    let sorted = |which: Option<usize>, from: f64| {
        let mut ms: Vec<f64> = seen
            .latencies
            .iter()
            .filter(|(k, _, at)| which.is_none_or(|w| w == *k) && *at >= from)
            .map(|(_, ms, _)| *ms)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let all = sorted(None, 0.0);
    let after = sorted(None, warm);
    println!(
        "class load: {students} signed-in students from one address, {seconds} s, the generator at {rate}/s \
         (2-core machine, clients in the same machine)"
    );
    println!("{:<52}{:>14}", "measure", "value");
    println!("{:<52}{:>14}", "student API requests answered", all.len());
    println!("{:<52}{:>14.1}", "API latency p50, ms", percentile(&all, 0.5));
    println!("{:<52}{:>14.1}", "API latency p99, ms", percentile(&all, 0.99));
    println!("{:<52}{:>14.1}", "API latency max, ms", percentile(&all, 1.0));
    println!(
        "{:<52}{:>14}",
        format!("  after the first grade book ({warm:.0} s in): p50 / p99"),
        format!("{:.1} / {:.1}", percentile(&after, 0.5), percentile(&after, 0.99))
    );
    for (k, what) in ASKED.iter().enumerate() {
        let ms = sorted(Some(k), 0.0);
        let p = |q| percentile(&ms, q);
        println!("{:<52}{:>14}", format!("  {what}: p50 / p99, ms"), format!("{:.1} / {:.1}", p(0.5), p(0.99)));
    }
    println!("{:<52}{:>14}", "requests throttled (429)", seen.throttled);
    println!("{:<52}{:>14}", "other unexpected answers", seen.unexpected.len());
    println!("{:<52}{:>14}", "a classmate's records shown (leaks)", seen.leaks);
    println!("{:<52}{:>14.0}", "predictions tailed per student", seen.ws_records as f64 / students as f64);
    println!("{:<52}{:>14}", "exercise re-checks pushed", seen.ws_checks);
    println!("{:<52}{:>14}", "websocket errors", seen.ws_errors);
    if let Some((_, first)) = book.first() {
        let mut rest: Vec<f64> = book[1..].iter().map(|(_, took)| *took).collect();
        rest.sort_by(f64::total_cmp);
        println!("{:<52}{:>14.2}", "grade book (60 × 11), first download, s", first);
        println!("{:<52}{:>14.2}", "grade book, later downloads, median s", percentile(&rest, 0.5));
        println!("{:<52}{:>14.2}", "grade book, later downloads, max s", percentile(&rest, 1.0));
    }
    println!("{:<52}{:>13.0}%", "server CPU (of one core)", 100.0 * cpu / elapsed);
    println!("{:<52}{:>14.1}", "server peak RSS during the run, MB", peak_rss / 1024.0);
    println!("{:<52}{:>14.1}", "server peak RSS ever (VmHWM), MB", hwm / 1024.0);
    if let Ok(path) = std::env::var("CLASS_BENCH_LATENCIES") {
        let rows: Vec<String> = seen.latencies.iter().map(|(k, ms, at)| format!("{at:.3},{k},{ms:.1}")).collect();
        std::fs::write(path, rows.join("\n")).unwrap();
    }
    for u in seen.unexpected.iter().take(5) {
        println!("unexpected: {u}");
    }
}

/// One student until `end`: her browser's socket, 50 records to her topic, then a round of
/// API requests every two seconds, her progress every eight rounds.
#[allow(clippy::too_many_arguments)]
async fn student(
    name: &str,
    token: &str,
    classmate: &str,
    base: &str,
    broker: &str,
    web: &str,
    (t0, end): (Instant, Instant),
    seen: &Arc<Mutex<Seen>>,
) {
    // The browser: a live tail of the predictions and the exercise page, re-checked by the server.
    let url = format!("ws://{web}/ws?token={token}");
    let socket = match tokio_tungstenite::connect_async(url).await {
        Ok((mut ws, _)) => {
            let _ = ws
                .send(Message::Text(
                    r#"{"type":"subscribe","subscription":1,"topic":"mushroom_prediction","from":{"at":"newest","count":20}}"#.into(),
                ))
                .await;
            let _ = ws.send(Message::Text(r#"{"type":"watch_exercise","exercise":"1"}"#.into())).await;
            let seen = seen.clone();
            Some(tokio::spawn(async move {
                while Instant::now() < end {
                    let Ok(Some(Ok(Message::Text(text)))) =
                        tokio::time::timeout(Duration::from_millis(500), ws.next()).await
                    else {
                        continue;
                    };
                    let Ok(m) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                    let mut s = seen.lock().unwrap();
                    match m["type"].as_str() {
                        Some("records") => {
                            s.ws_records += m["batches"].as_array().map_or(0, |bs| {
                                bs.iter().map(|b| b["records"].as_array().map_or(0, Vec::len)).sum::<usize>()
                            }) as u64
                        }
                        Some("check") => s.ws_checks += 1,
                        Some("error") => s.ws_errors += 1,
                        _ => {}
                    }
                }
            }))
        }
        Err(_) => {
            seen.lock().unwrap().ws_errors += 1;
            None
        }
    };
    // Her own producer: her topic, created by her first write as a student's client does.
    let producer: FutureProducer = rdkafka::ClientConfig::new().set("bootstrap.servers", broker).create().unwrap();
    let topic = format!("{name}.dev_sandbox");
    for i in 0..50 {
        let value = format!("record {i} of {name}");
        let _ = producer.send(FutureRecord::<(), str>::to(&topic).payload(&value), Duration::from_secs(10)).await;
    }
    let http = reqwest::Client::new();
    let requests = [
        (format!("{base}/api/topics"), 200),
        (format!("{base}/api/topics/{topic}/records?from=earliest&limit=100"), 200),
        (format!("{base}/api/topics/{classmate}.dev_sandbox/records?from=earliest"), 403),
    ];
    // The exercises page asks for her progress every 15 s, as the browser does.
    let progress = (format!("{base}/api/progress"), 200);
    let mut rounds = 0;
    while Instant::now() < end {
        let round = Instant::now();
        let asked = requests.iter().enumerate().chain((rounds % 8 == 0).then_some((3, &progress)));
        rounds += 1;
        for (which, (url, want)) in asked {
            let t = Instant::now();
            let Ok(r) = http.get(url).bearer_auth(token).send().await else { continue };
            let status = r.status().as_u16();
            let _ = r.bytes().await;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let mut s = seen.lock().unwrap();
            match status {
                429 => s.throttled += 1,
                st if st == *want => s.latencies.push((which, ms, t.duration_since(t0).as_secs_f64())),
                200 if *want == 403 => s.leaks += 1,
                st => s.unexpected.push(format!("{st} for {url} (wanted {want})")),
            }
        }
        tokio::time::sleep(Duration::from_secs(2).saturating_sub(round.elapsed())).await;
    }
    if let Some(t) = socket {
        let _ = t.await;
    }
}
