//! `streamlab cluster`, `streamlab topic` and `streamlab group`, the course's rpk steps, run
//! as a student runs them (the real binary, stdin and stdout) against the embedded broker and
//! one Apache Kafka node ([`crate::on_both_brokers`]),
//! and checked with an rdkafka client that knows nothing of streamlab's code.

use crate::support::TestBroker;
use rdkafka::Message;
use rdkafka::consumer::Consumer;
use rdkafka::message::Headers;
use rdkafka::producer::FutureRecord;
use serde_json::Value;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Starts `streamlab ARGS` with `stdin` written and closed.
async fn start<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: &str) -> tokio::process::Child {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .env("STREAMLAB_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    child
}

/// Runs `streamlab --brokers BOOTSTRAP ARGS` with `stdin`; gives up after 60 s.
async fn streamlab(bootstrap: &str, args: &[&str], stdin: &str) -> Output {
    let child = start(&[args, &["--brokers", bootstrap]].concat(), stdin).await;
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("streamlab {args:?} did not finish within 60 s"))
        .unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The table row whose first column is `first`, split into cells.
fn row(table: &str, first: &str) -> Option<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .find(|r| r.first().is_some_and(|c| c == first))
}

async fn create_list_describe_and_delete_topics_like_rpk(b: TestBroker) {
    let bs = b.bootstrap();

    let created = streamlab(&bs, &["topic", "create", "orders", "audit", "-p", "3"], "").await;
    assert!(created.status.success(), "{created:?}");
    assert_eq!(row(&text(&created), "TOPIC").unwrap(), ["TOPIC", "STATUS"]);
    assert_eq!(row(&text(&created), "orders").unwrap(), ["orders", "OK"]);
    assert_eq!(row(&text(&created), "audit").unwrap(), ["audit", "OK"]);

    let again = streamlab(&bs, &["topic", "create", "orders"], "").await;
    assert!(!again.status.success(), "creating an existing topic fails");
    assert!(text(&again).contains("orders") && text(&again).contains("already exists"), "{}", text(&again));
    let bad = streamlab(&bs, &["topic", "create", "no spaces"], "").await;
    assert!(!bad.status.success());
    assert!(text(&bad).contains("invalid topic name"), "{}", text(&bad));

    let list = streamlab(&bs, &["topic", "list"], "").await;
    assert!(list.status.success(), "{list:?}");
    assert_eq!(row(&text(&list), "NAME").unwrap(), ["NAME", "PARTITIONS", "REPLICAS"]);
    assert_eq!(row(&text(&list), "orders").unwrap(), ["orders", "3", "1"]);
    let json: Value =
        serde_json::from_slice(&streamlab(&bs, &["topic", "list", "--format", "json"], "").await.stdout).unwrap();
    assert!(
        json.as_array().unwrap().contains(&serde_json::json!({"name": "orders", "partitions": 3, "replicas": 1})),
        "{json}"
    );

    b.produce("orders", 5).await;
    let describe = streamlab(&bs, &["topic", "describe", "orders"], "").await;
    let d = text(&describe);
    assert!(describe.status.success(), "{describe:?}");
    assert!(d.starts_with("SUMMARY\n=======\nNAME        orders\n"), "{d}");
    assert_eq!(row(&d, "PARTITIONS").unwrap(), ["PARTITIONS", "3"]);
    assert_eq!(
        row(&d, "PARTITION").unwrap(),
        ["PARTITION", "LEADER", "REPLICAS", "LOG-START-OFFSET", "HIGH-WATERMARK"]
    );
    let stored: i64 = ["0", "1", "2"].iter().map(|p| row(&d, p).unwrap()[4].parse::<i64>().unwrap()).sum();
    assert_eq!(stored, 5, "the high watermarks add up to the records produced:\n{d}");
    let missing = streamlab(&bs, &["topic", "describe", "nope"], "").await;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("topic nope does not exist"), "{missing:?}");

    // rpk's -c, CONFIGS and alter-config; trim-prefix.
    let kept = streamlab(&bs, &["topic", "create", "kept", "-c", "retention.ms=600000"], "").await;
    assert!(kept.status.success(), "{kept:?}");
    let d = text(&streamlab(&bs, &["topic", "describe", "kept"], "").await);
    assert!(d.contains("\nCONFIGS\n=======\n"), "{d}");
    assert_eq!(row(&d, "KEY").unwrap(), ["KEY", "VALUE", "SOURCE"]);
    assert_eq!(row(&d, "retention.ms").unwrap(), ["retention.ms", "600000", "DYNAMIC_TOPIC_CONFIG"]);
    let set = ["topic", "alter-config", "kept", "--set", "retention.bytes=1000000", "--delete", "retention.ms"];
    let altered = streamlab(&bs, &set, "").await;
    assert!(altered.status.success(), "{altered:?}");
    let d = text(&streamlab(&bs, &["topic", "describe", "kept"], "").await);
    assert_eq!(row(&d, "retention.bytes").unwrap(), ["retention.bytes", "1000000", "DYNAMIC_TOPIC_CONFIG"]);
    assert!(row(&d, "retention.ms").is_none_or(|r| r[2] != "DYNAMIC_TOPIC_CONFIG"), "{d}");
    let trimmed = streamlab(&bs, &["topic", "trim-prefix", "orders", "-p", "0", "-o", "1"], "").await;
    let high_0: i64 =
        row(&text(&streamlab(&bs, &["topic", "describe", "orders"], "").await), "0").unwrap()[4].parse().unwrap();
    if high_0 >= 1 {
        assert!(trimmed.status.success(), "{trimmed:?}");
        assert_eq!(row(&text(&trimmed), "orders").unwrap(), ["orders", "0", "1"]);
    } else {
        assert!(String::from_utf8_lossy(&trimmed.stderr).contains("past the end"), "{trimmed:?}");
    }

    let deleted = streamlab(&bs, &["topic", "delete", "audit"], "").await;
    assert!(deleted.status.success(), "{deleted:?}");
    assert_eq!(row(&text(&deleted), "audit").unwrap(), ["audit", "OK"]);
    assert!(row(&text(&streamlab(&bs, &["topic", "list"], "").await), "audit").is_none(), "audit is gone");
    let twice = streamlab(&bs, &["topic", "delete", "audit"], "").await;
    assert!(!twice.status.success());
    assert!(text(&twice).contains("does not exist"), "{}", text(&twice));
}

async fn produce_reads_stdin_lines_and_consume_prints_rpk_records(b: TestBroker) {
    let bs = b.bootstrap();
    b.create_topic("lines", 1).await;

    let produced = streamlab(
        &bs,
        &["topic", "produce", "lines", "-k", "sensor-1", "-H", "source:lab", "-H", "v=2"],
        "first\nsecond\n{\"t\": 21.5}\n",
    )
    .await;
    assert!(produced.status.success(), "{produced:?}");
    let acks: Vec<&str> = std::str::from_utf8(&produced.stdout).unwrap().lines().collect();
    assert_eq!(acks.len(), 3, "{acks:?}");
    for (i, ack) in acks.iter().enumerate() {
        assert!(ack.starts_with(&format!("Produced to partition 0 at offset {i} with timestamp ")), "{ack}");
    }

    // A plain rdkafka consumer sees what a student typed, with the key and headers.
    let seen = crate::support::read_from_start(&b.kafka, "lines", 3);
    let values: Vec<&[u8]> = seen.iter().map(|m| m.payload().unwrap()).collect();
    assert_eq!(values, [b"first".as_slice(), b"second", b"{\"t\": 21.5}"]);
    let first = &seen[0];
    assert_eq!(first.key(), Some(b"sensor-1".as_slice()));
    let headers: Vec<(String, String)> = first
        .headers()
        .unwrap()
        .iter()
        .map(|h| (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap()).into_owned()))
        .collect();
    assert_eq!(headers, [("source".to_owned(), "lab".to_owned()), ("v".to_owned(), "2".to_owned())]);

    // rpk's shape: pretty JSON per record by default, fields in rpk's order.
    let consumed = streamlab(&bs, &["topic", "consume", "lines", "--num", "3"], "").await;
    assert!(consumed.status.success(), "{consumed:?}");
    let out = text(&consumed);
    let records: Vec<Value> = serde_json::Deserializer::from_str(&out).into_iter().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3, "{out}");
    assert_eq!(records[2]["value"], "{\"t\": 21.5}");
    assert_eq!(records[0]["key"], "sensor-1");
    assert_eq!(records[0]["headers"][0], serde_json::json!({"key": "source", "value": "lab"}));
    assert_eq!((records[1]["partition"].as_i64(), records[1]["offset"].as_i64()), (Some(0), Some(1)));
    assert!(out.starts_with("{\n  \"topic\": \"lines\",\n  \"key\": \"sensor-1\",\n  \"value\": \"first\","), "{out}");

    // From an exact offset, compact JSON lines.
    let from = streamlab(&bs, &["topic", "consume", "lines", "-o", "2", "-n", "1", "--format", "json"], "").await;
    let line: Value = serde_json::from_str(text(&from).trim()).unwrap();
    assert_eq!((line["offset"].as_i64(), line["value"].as_str()), (Some(2), Some("{\"t\": 21.5}")));
}

async fn consume_by_partition_from_the_end_and_as_a_group(b: TestBroker) {
    let bs = b.bootstrap();
    b.create_topic("parts", 3).await;
    let p1 = streamlab(&bs, &["topic", "produce", "parts", "-p", "1"], "a\nb\n").await;
    assert!(text(&p1).lines().all(|l| l.starts_with("Produced to partition 1 ")), "{}", text(&p1));
    b.produce("parts", 9).await;

    // -p: only that partition's records.
    let only = streamlab(&bs, &["topic", "consume", "parts", "-p", "1", "-n", "2", "--format", "json"], "").await;
    let values: Vec<Value> = text(&only).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(values.iter().all(|v| v["partition"] == 1), "{values:?}");
    assert_eq!((values[0]["value"].as_str(), values[1]["value"].as_str()), (Some("a"), Some("b")));

    // -o end: only what arrives after the start.
    let producer = b.producer();
    let tail = {
        let bs = bs.clone();
        tokio::spawn(async move {
            streamlab(&bs, &["topic", "consume", "parts", "-o", "end", "-n", "1", "--format", "json"], "").await
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    producer.send(FutureRecord::to("parts").key("late").payload("late"), Duration::from_secs(10)).await.unwrap();
    let late: Value = serde_json::from_str(text(&tail.await.unwrap()).trim()).unwrap();
    assert_eq!(late["value"], "late", "-o end skips the stored records");

    // --group: what one run printed is committed, the next run goes on from there.
    b.create_topic("queue", 1).await;
    b.produce("queue", 3).await;
    let first =
        streamlab(&bs, &["topic", "consume", "queue", "-g", "readers", "-n", "2", "--format", "json"], "").await;
    assert!(first.status.success(), "{first:?}");
    let next = streamlab(&bs, &["topic", "consume", "queue", "-g", "readers", "-n", "1", "--format", "json"], "").await;
    let v: Value = serde_json::from_str(text(&next).trim()).unwrap();
    assert_eq!(v["value"], "value-2", "the group resumes after what it printed");
    let consumer = b.consumer("readers");
    let committed = consumer.committed_offsets(
        {
            let mut tpl = rdkafka::TopicPartitionList::new();
            tpl.add_partition("queue", 0);
            tpl
        },
        Duration::from_secs(10),
    );
    assert_eq!(committed.unwrap().find_partition("queue", 0).unwrap().offset(), rdkafka::Offset::Offset(3));

    let bad = streamlab(&bs, &["topic", "consume", "queue", "-g", "readers", "-o", "1"], "").await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot be combined with --group"), "{bad:?}");
    let missing = streamlab(&bs, &["topic", "consume", "nope", "-n", "1"], "").await;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope does not exist"), "{missing:?}");
}

async fn cluster_info_shows_the_broker_and_the_topics(b: TestBroker) {
    let bs = b.bootstrap();
    b.create_topic("visible", 2).await;
    let info = streamlab(&bs, &["cluster", "info"], "").await;
    assert!(info.status.success(), "{info:?}");
    let t = text(&info);
    assert!(t.starts_with("CLUSTER\n=======\n"), "{t}");
    let port = bs.rsplit(':').next().unwrap();
    let broker = t.lines().find(|l| l.contains(port)).unwrap_or_else(|| panic!("a broker row with port {port}:\n{t}"));
    assert!(broker.contains("127.0.0.1"), "{broker}");
    assert_eq!(row(&t, "visible").unwrap(), ["visible", "2", "1"]);
    let json: Value =
        serde_json::from_slice(&streamlab(&bs, &["cluster", "info", "--format", "json"], "").await.stdout).unwrap();
    assert_eq!(json["brokers"].as_array().unwrap().len(), 1, "{json}");
    assert!(json["topics"].as_array().unwrap().iter().any(|t| t["name"] == "visible"));
}

async fn group_list_describe_and_seek_like_rpk(b: TestBroker) {
    let bs = b.bootstrap();
    b.create_topic("work", 1).await;
    b.produce("work", 5).await;
    // A group that read three of the five records and left.
    let read = streamlab(&bs, &["topic", "consume", "work", "-g", "workers", "-n", "3"], "").await;
    assert!(read.status.success(), "{read:?}");

    let list = streamlab(&bs, &["group", "list"], "").await;
    assert!(list.status.success(), "{list:?}");
    assert_eq!(row(&text(&list), "GROUP").unwrap(), ["GROUP", "STATE"]);
    assert!(row(&text(&list), "workers").is_some(), "{}", text(&list));

    let describe = text(&streamlab(&bs, &["group", "describe", "workers"], "").await);
    assert!(describe.starts_with("GROUP      workers\n"), "{describe}");
    assert_eq!(row(&describe, "TOTAL-LAG").unwrap(), ["TOTAL-LAG", "2"], "{describe}");
    let work = row(&describe, "work").unwrap_or_else(|| panic!("a row for work:\n{describe}"));
    assert_eq!(&work[..6], ["work", "0", "3", "0", "5", "2"], "TOPIC PARTITION CURRENT LOG-START LOG-END LAG");

    let seek = streamlab(&bs, &["group", "seek", "workers", "--to", "start"], "").await;
    assert!(seek.status.success(), "{seek:?}");
    assert_eq!(row(&text(&seek), "TOPIC").unwrap(), ["TOPIC", "PARTITION", "PRIOR-OFFSET", "CURRENT-OFFSET"]);
    assert_eq!(row(&text(&seek), "work").unwrap(), ["work", "0", "3", "0"]);
    let json: Value =
        serde_json::from_slice(&streamlab(&bs, &["group", "describe", "workers", "--format", "json"], "").await.stdout)
            .unwrap();
    assert_eq!(json["offsets"][0]["committed"], 0);
    assert_eq!(json["offsets"][0]["lag"], 5);

    let to =
        streamlab(&bs, &["group", "seek", "workers", "--to", "4", "--topics", "work", "--format", "json"], "").await;
    let moved: Value = serde_json::from_slice(&to.stdout).unwrap();
    assert_eq!(moved, serde_json::json!([{"topic": "work", "partition": 0, "prior": 0, "current": 4}]));
    let next = streamlab(&bs, &["topic", "consume", "work", "-g", "workers", "-n", "1", "--format", "json"], "").await;
    let v: Value = serde_json::from_str(text(&next).trim()).unwrap();
    assert_eq!(v["offset"], 4, "the group reads on from where it was moved");

    let missing = streamlab(&bs, &["group", "seek", "nobody", "--to", "end"], "").await;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("group nobody does not exist"), "{missing:?}");
    let bad = streamlab(&bs, &["group", "seek", "workers", "--to", "yesterday"], "").await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected start, end or an offset"), "{bad:?}");
}

async fn consume_and_tail_filter_records_and_stop_at_the_end(b: TestBroker) {
    let bs = b.bootstrap();
    assert!(streamlab(&bs, &["topic", "create", "verdicts", "-p", "2"], "").await.status.success());
    let lines: String = (0..20)
        .map(|i| {
            let class = if i % 4 == 0 { "poisonous" } else { "edible" };
            format!("{{\"class\": \"{class}\", \"i\": {i}}}\n")
        })
        .collect();
    let produced = streamlab(&bs, &["topic", "produce", "verdicts", "-H", "source=test"], &lines).await;
    assert!(produced.status.success(), "{produced:?}");

    // `topic consume --filter --exit`: the five poisonous ones, then it ends by itself.
    let out = streamlab(
        &bs,
        &["topic", "consume", "verdicts", "--format", "json", "-e", "--filter", "value.class == \"poisonous\""],
        "",
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let records: Vec<Value> = text(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut seen: Vec<i64> = records
        .iter()
        .map(|r| serde_json::from_str::<Value>(r["value"].as_str().unwrap()).unwrap()["i"].as_i64().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, [0, 4, 8, 12, 16]);

    // `tail` is its short form, values decoded; headers filter too.
    let tail =
        streamlab(&bs, &["tail", "verdicts", "--exit", "-f", "value.i >= 18 and headers.source == \"test\""], "").await;
    assert!(tail.status.success(), "{tail:?}");
    let records: Vec<Value> = text(&tail).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut seen: Vec<i64> = records.iter().map(|r| r["value"]["i"].as_i64().unwrap()).collect();
    seen.sort();
    assert_eq!(seen, [18, 19]);
    let none = streamlab(&bs, &["tail", "verdicts", "-e", "-f", "key == \"nobody\""], "").await;
    assert!(none.status.success() && text(&none).is_empty(), "{none:?}");

    // A filter that does not parse is refused with its column, before anything is read.
    let bad = streamlab(&bs, &["tail", "verdicts", "-e", "-f", "value.i >> 3"], "").await;
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("column 10"), "{err}");
    let both = streamlab(&bs, &["topic", "consume", "verdicts", "-e", "-g", "g1"], "").await;
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("--exit cannot be combined with --group"));
}

/// Exercise 1's README shows the course's commands beside streamlab's; each streamlab
/// command there runs as written (localhost:9092 being this broker), in the table's order,
/// and does what its row says. A command without `--num` follows the topic, as rpk's and the
/// console consumer do: it is stopped after a few seconds, as a student stops it.
async fn exercise_1s_commands_run_as_its_readme_shows(b: TestBroker) {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../exercises/01-sandbox-topic/README.md"))
            .unwrap();
    let commands: Vec<String> = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('|').nth(2))
        .filter_map(|cell| cell.split('`').nth(1))
        .map(str::to_owned)
        .collect();
    assert_eq!(commands.len(), 7, "the table's rows: {commands:?}");
    let bs = b.bootstrap();
    let mut outputs = Vec::new();
    for command in &commands {
        let mut args: Vec<String> =
            command.replace("localhost:9092", &bs).split_whitespace().map(str::to_owned).collect();
        assert_eq!(args.remove(0), "streamlab", "{command}");
        if !args.iter().any(|a| a == "--brokers") {
            args.extend(["--brokers".to_owned(), bs.clone()]);
        }
        let mut child = start(&args, "first\nsecond\n").await;
        let follows = args.contains(&"consume".to_owned()) && !args.contains(&"--num".to_owned());
        let limit = Duration::from_secs(if follows { 5 } else { 60 });
        let mut stdout = child.stdout.take().unwrap();
        let reading = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut out = String::new();
            let _ = stdout.read_to_string(&mut out).await;
            out
        });
        let status = match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => status.unwrap().success(),
            Err(_) if follows => {
                child.kill().await.unwrap();
                true
            }
            Err(_) => panic!("{command} did not finish"),
        };
        let out = reading.await.unwrap();
        assert!(status, "{command}: {out}");
        outputs.push(out);
    }
    let acks = |out: &str| out.lines().filter(|l| l.starts_with("Produced to partition 0 at offset")).count();
    assert!(outputs[0].contains("CLUSTER") && outputs[0].contains("BROKERS"), "{}", outputs[0]);
    assert!(outputs[1].contains("dev_sandbox") && outputs[1].contains("OK"), "{}", outputs[1]);
    assert_eq!((acks(&outputs[2]), acks(&outputs[3]), acks(&outputs[5])), (2, 2, 2));
    let at_one: Value = serde_json::from_str(&outputs[4]).unwrap();
    assert_eq!((at_one["offset"].as_i64(), at_one["value"].as_str()), (Some(1), Some("second")));
    let all: Vec<Value> = serde_json::Deserializer::from_str(&outputs[6]).into_iter().map(Result::unwrap).collect();
    let values: Vec<&str> = all.iter().map(|r| r["value"].as_str().unwrap()).collect();
    assert_eq!(values, ["first", "second", "first", "second", "first", "second"], "from the beginning");
    assert_eq!(all[2]["key"], "note");
    assert_eq!(all[2]["headers"][0], serde_json::json!({"key": "source", "value": "course"}));
}

crate::on_both_brokers!(
    create_list_describe_and_delete_topics_like_rpk,
    produce_reads_stdin_lines_and_consume_prints_rpk_records,
    consume_by_partition_from_the_end_and_as_a_group,
    cluster_info_shows_the_broker_and_the_topics,
    group_list_describe_and_seek_like_rpk,
    consume_and_tail_filter_records_and_stop_at_the_end,
    exercise_1s_commands_run_as_its_readme_shows
);
