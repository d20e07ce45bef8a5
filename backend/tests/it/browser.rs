//! The browser lab in real headless Chromium against the real server and embedded broker.
//! Screenshots go to $STREAMLAB_SCREENSHOTS (default target/screenshots), kept by CI.

use crate::support::webdriver::Browser;
use std::path::PathBuf;
use std::time::Duration;

fn screenshots() -> PathBuf {
    std::env::var_os("STREAMLAB_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"))
}

/// Skips (or fails in CI) when the frontend or the browser is missing. It takes the
/// browser suite's turn: a test holding another suite's turn lets go of it first.
pub(crate) async fn browser() -> Option<Browser> {
    if !crate::support::require(streamlab::web::assets::FRONTEND_BUILT, "the built frontend (./lab build)") {
        return None;
    }
    let browser = Browser::start().await;
    if browser.is_none() {
        crate::support::require(false, "chromium and chromium-driver");
    }
    browser
}

pub(crate) fn shot(name: &str) -> PathBuf {
    screenshots().join(format!("lab-{name}.png"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_connects_its_websocket_and_lists_the_lab_topics() {
    let Some(browser) = browser().await else { return };
    let (addr, _stop) = crate::support::serve_lab(false).await;

    browser.goto(&format!("http://{addr}/#/topics")).await;
    browser
        .wait_for(
            "return document.querySelector('#connection')?.textContent === 'live'",
            Duration::from_secs(20),
            "the websocket to open",
        )
        .await;
    for topic in streamlab_wire::topics::ALL {
        browser
            .wait_for(
                &format!("return !!document.querySelector('#topics tr[data-topic=\"{topic}\"]')"),
                Duration::from_secs(20),
                topic,
            )
            .await;
    }
    let partitions = browser.eval("return document.querySelector('#topics tr[data-topic=\"mushroom_prediction\"] td:nth-child(2)').textContent").await;
    assert_eq!(partitions, "3");
    browser.screenshot(&shot("topics")).await;
}

/// The student's path through the lab: the overview with the model card, the generator
/// switched on, the rate chart showing its rate, the inference group with its member, the
/// predictions arriving, and a record produced in a topic's form appearing in its stream.
#[tokio::test(flavor = "multi_thread")]
async fn every_page_shows_the_live_lab() {
    let Some(browser) = browser().await else { return };
    let (addr, _stop) = crate::support::serve_lab(true).await;
    let base = format!("http://{addr}");
    let long = Duration::from_secs(30);

    // Overview: the model card and the generator switch, turned on at 100/s.
    browser.goto(&format!("{base}/#/")).await;
    browser
        .wait_for("return document.querySelector('#connection')?.textContent === 'live'", long, "the websocket to open")
        .await;
    browser
        .wait_for(
            "return (document.querySelector('#model-accuracy')?.textContent || '').startsWith('99.')",
            long,
            "the model card",
        )
        .await;
    browser
        .eval("document.querySelector('#generator-rate').value = '100'; document.querySelector('#generator-toggle').closest('form').requestSubmit(); return true")
        .await;
    browser
        .wait_for(
            "return document.querySelector('#generator-toggle')?.getAttribute('aria-checked') === 'true'",
            long,
            "the generator to run",
        )
        .await;
    browser
        .wait_for(
            "return document.querySelector('#inference-state')?.textContent === 'running'",
            long,
            "inference running",
        )
        .await;
    // What the broker holds grows with the generator's requests, and says what it keeps.
    browser
        .wait_for(
            "const t = document.querySelector('#broker-storage')?.textContent || ''; \
             return /holds [1-9][0-9.k]* records/.test(t) && t.includes('in memory') && t.includes('1 day')",
            long,
            "the broker's storage line",
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    browser.screenshot(&shot("overview")).await;

    // Production rate: the chart's newest value for the request topic within ±10 % of 100/s.
    browser.goto(&format!("{base}/#/rates")).await;
    let rate_js = "return Number(document.querySelector('[data-chart=\"production\"] [data-series=\"mushroom_inference_request\"]')?.dataset.value || 0)";
    browser
        .wait_for(
            &format!("{{ const r = (() => {{ {rate_js} }})(); return r >= 90 && r <= 110; }}"),
            long,
            "the chart to show ~100/s",
        )
        .await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        seen.push(browser.eval(rate_js).await.as_f64().unwrap());
    }
    eprintln!("rate chart shows {seen:?} for a generator at 100/s");
    assert!(seen.iter().all(|r| (90.0..=110.0).contains(r)), "the chart's rate {seen:?} is not within 10 % of 100/s");
    browser.screenshot(&shot("rates")).await;

    // Consumer groups: the inference service's group with its member.
    browser.goto(&format!("{base}/#/groups")).await;
    browser
        .wait_for(
            "return document.querySelectorAll('[data-group=\"streamlab-inference\"] tr[data-member]').length >= 1",
            long,
            "the inference group's member",
        )
        .await;
    // Their lag over time, a line per group, with its trend.
    browser
        .wait_for(
            "return !!document.querySelector('[data-chart=\"lag\"] [data-series=\"streamlab-inference · mushroom_inference_request\"]') \
             && ['growing', 'steady', 'shrinking'].includes(document.querySelector('li[data-lag-group=\"streamlab-inference\"]')?.dataset.trend)",
            long,
            "the inference group's lag line and trend",
        )
        .await;
    let trend =
        browser.eval("return document.querySelector('li[data-lag-group=\"streamlab-inference\"]').textContent").await;
    eprintln!("lag on the groups page: {trend}");
    browser.screenshot(&shot("groups")).await;
    // Its download links give the groups table and the rate and lag history.
    for (link, header) in [
        ("#export-groups", "group,state,members,topic,partition,committed,end,lag"),
        (".export-history", "at_ms,kind,name,topic,value"),
    ] {
        let href = browser.eval(&format!("return document.querySelector('{link}').href")).await;
        let csv = reqwest::get(href.as_str().unwrap()).await.unwrap().text().await.unwrap();
        assert_eq!(csv.lines().next(), Some(header));
        assert!(csv.contains("streamlab-inference"), "{link}: {csv:.300}");
    }

    // Inference: predictions arriving.
    browser.goto(&format!("{base}/#/inference")).await;
    browser
        .wait_for(
            "return document.querySelectorAll('#predictions tbody tr').length >= 10",
            long,
            "predictions in the live feed",
        )
        .await;
    let first = browser.eval("return Number(document.querySelector('#edible-count').textContent) + Number(document.querySelector('#poisonous-count').textContent)").await.as_f64().unwrap();
    browser
        .wait_for(&format!("return Number(document.querySelector('#edible-count').textContent) + Number(document.querySelector('#poisonous-count').textContent) > {first}"), long, "the counts to grow")
        .await;
    // The last minute's latency as a histogram: its bars count the predictions of the window.
    browser
        .wait_for(
            "return [...document.querySelectorAll('[data-chart=\"latency\"] g.column')].reduce((n, g) => n + Number(g.dataset.count), 0) > 0",
            long,
            "the latency histogram with predictions in it",
        )
        .await;
    let labels = browser
        .eval("return [...document.querySelectorAll('[data-chart=\"latency\"] g.column')].map(g => g.dataset.label).join(' ')")
        .await;
    assert!(
        labels.as_str().unwrap().starts_with("≤1 ≤2 ≤3 ≤5"),
        "buckets fine enough to tell 5 ms from 20 ms: {labels}"
    );
    browser.screenshot(&shot("inference")).await;

    // A topic: a record sent with the form appears in the live stream with its header.
    let created = reqwest::Client::new()
        .post(format!("{base}/api/topics"))
        .json(&serde_json::json!({"name": "browser_topic", "partitions": 2}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    browser.goto(&format!("{base}/#/topic/browser_topic")).await;
    browser.wait_for("return !!document.querySelector('#stream-counts')", long, "the topic page").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    browser
        .eval(
            "document.querySelector('#produce-key').value = 'from-the-form';
             document.querySelector('#produce-value').value = '{\"cap-diameter\": 5}';
             document.querySelector('#produce-headers').value = 'record_name=demo';
             document.querySelector('#produce').requestSubmit(); return true",
        )
        .await;
    browser
        .wait_for(
            "return (document.querySelector('#produce-result')?.textContent || '').startsWith('stored in partition')",
            long,
            "the produce result",
        )
        .await;
    browser
        .wait_for("return [...document.querySelectorAll('#stream tbody tr')].some(r => r.textContent.includes('from-the-form') && !!r.querySelector('[data-header=\"record_name\"]') && r.textContent.includes('cap-diameter'))", long, "the record in the live stream")
        .await;
    browser.screenshot(&shot("topic")).await;
}

/// The console's tools on a topic page: a filter that does not parse is shown with its
/// column; one that does makes the server send only what matches, with the scanned and matched
/// counts; it is saved in the browser; what is in view downloads as CSV; one record is re-sent
/// to another topic; and on the inference page the dead letters of a reason are redriven.
#[tokio::test(flavor = "multi_thread")]
async fn a_topic_is_filtered_exported_and_its_records_sent_again() {
    let Some(browser) = browser().await else { return };
    let (addr, _stop) = crate::support::serve_lab(true).await;
    let base = format!("http://{addr}");
    let long = Duration::from_secs(30);
    let http = reqwest::Client::new();
    for t in ["verdicts", "verdicts_copy"] {
        let created = http
            .post(format!("{base}/api/topics"))
            .json(&serde_json::json!({"name": t, "partitions": 1}))
            .send()
            .await
            .unwrap();
        assert!(created.status().is_success());
    }
    for i in 0..30 {
        let class = if i % 3 == 0 { "poisonous" } else { "edible" };
        let value = serde_json::json!({"class": class, "probability": 0.5 + (i % 10) as f64 / 20.0}).to_string();
        let record = serde_json::json!({"key": format!("m-{i}"), "value": value});
        let sent = http.post(format!("{base}/api/topics/verdicts/records")).json(&record).send().await.unwrap();
        assert!(sent.status().is_success());
    }
    // 0, 3, …, 27 are poisonous; of those, probability < 0.6 when i % 10 is 0 or 1: 0, 21, 10 …
    let wanted = (0..30).filter(|i| i % 3 == 0 && i % 10 < 2).count();

    browser.goto(&format!("{base}/#/topic/verdicts")).await;
    browser.wait_for("return !!document.querySelector('#stream-filter')", long, "the topic page").await;
    let type_filter = |text: &str| {
        format!(
            "const i = document.querySelector('#stream-filter'); i.value = {}; \
             i.dispatchEvent(new InputEvent('input', {{bubbles: true}})); return true",
            serde_json::to_string(text).unwrap()
        )
    };
    browser.eval(&type_filter("value.class = \"poisonous\"")).await;
    browser
        .wait_for(
            "return (document.querySelector('#filter-error')?.textContent || '').includes('column 13')",
            long,
            "the filter's mistake with its column",
        )
        .await;
    browser.screenshot(&shot("topic-filter-error")).await;
    browser.eval(&type_filter("value.class == \"poisonous\" and value.probability < 0.6")).await;
    browser.wait_for("return !document.querySelector('#filter-error')", long, "the error to clear").await;
    browser
        .eval("document.querySelector('#stream-from').value = 'earliest'; document.querySelector('#filter-save').click(); document.querySelector('#stream-filter').closest('form').requestSubmit(); return true")
        .await;
    browser
        .wait_for(
            &format!("return (document.querySelector('#filter-counts')?.textContent || '').includes('matched {wanted} of 30 scanned') && document.querySelectorAll('#stream tbody tr').length === {wanted}"),
            long,
            "only the matching records, with the counts",
        )
        .await;
    let rows = browser.eval("return [...document.querySelectorAll('#stream tbody tr')].map(r => r.textContent)").await;
    assert!(rows.as_array().unwrap().iter().all(|r| r.as_str().unwrap().contains("poisonous")), "{rows}");
    browser
        .wait_for(
            "return document.querySelector('#saved-filters li[data-filter]')?.dataset.filter === 'value.class == \"poisonous\" and value.probability < 0.6'",
            long,
            "the saved filter",
        )
        .await;
    browser.screenshot(&shot("topic-filtered")).await;

    // What is in view downloads as CSV; the server's link carries the same filter.
    let csv = browser
        .eval("const a = document.querySelector('#export-csv'); a.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true})); return decodeURIComponent(a.getAttribute('href').split(',').slice(1).join(','))")
        .await;
    let csv = csv.as_str().unwrap();
    assert!(csv.starts_with("topic,partition,offset,timestamp_ms,key,value,headers\n"), "{csv}");
    assert_eq!(csv.lines().count(), wanted + 1, "{csv}");
    let server = browser.eval("return document.querySelector('#export-server').href").await;
    let from_server = http.get(server.as_str().unwrap()).send().await.unwrap().text().await.unwrap();
    assert_eq!(from_server.lines().count(), wanted + 1, "{from_server}");

    // A saved filter outlives a reload.
    browser.goto(&format!("{base}/#/")).await;
    browser.goto(&format!("{base}/#/topic/verdicts")).await;
    browser
        .wait_for(
            "return !!document.querySelector('#saved-filters li[data-filter]')",
            long,
            "the saved filter after a reload",
        )
        .await;

    // Re-send the first record in view to another topic.
    browser.wait_for("return !!document.querySelector('#stream button.resend')", long, "a re-send button").await;
    browser.eval("document.querySelector('#stream button.resend').click(); return true").await;
    browser.wait_for("return !!document.querySelector('#resend-to')", long, "the re-send form").await;
    browser
        .eval("document.querySelector('#resend-to').value = 'verdicts_copy'; document.querySelector('#resend').requestSubmit(); return true")
        .await;
    browser
        .wait_for(
            "return (document.querySelector('#resend-result')?.textContent || '').startsWith('sent to verdicts_copy partition 0 at offset 0')",
            long,
            "the re-send's result",
        )
        .await;
    browser.screenshot(&shot("topic-resend")).await;
    let copies: Vec<streamlab_wire::RecordView> = http
        .get(format!("{base}/api/topics/verdicts_copy/records?from=earliest"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(copies.len(), 1);
    assert!(
        copies[0]
            .headers
            .iter()
            .any(|h| h.key == "resent-from" && h.value.as_deref().is_some_and(|v| v.starts_with("verdicts/0/")))
    );

    // Redrive: a request the service refuses, then sent again from the inference page.
    let bad = serde_json::json!({"value": "hello"});
    let sent =
        http.post(format!("{base}/api/topics/mushroom_inference_request/records")).json(&bad).send().await.unwrap();
    assert!(sent.status().is_success());
    browser.goto(&format!("{base}/#/inference")).await;
    browser
        .wait_for("return !!document.querySelector('button[data-redrive=\"not_json\"]')", long, "the redrive button")
        .await;
    browser.eval("document.querySelector('button[data-redrive=\"not_json\"]').click(); return true").await;
    browser
        .wait_for(
            "return (document.querySelector('#redrive-result')?.textContent || '').startsWith('1 dead letter with reason not_json sent again to mushroom_inference_request')",
            long,
            "the redrive's result",
        )
        .await;
    browser.screenshot(&shot("inference-redrive")).await;
}

/// The topic `create` (a `POST /api/topics` body) made through the lab at `base`, and a
/// producer to the lab's broker.
async fn topic_and_producer(base: &str, create: serde_json::Value) -> rdkafka::producer::FutureProducer {
    let http = reqwest::Client::new();
    let created = http.post(format!("{base}/api/topics")).json(&create).send().await.unwrap();
    assert!(created.status().is_success(), "{create}");
    let cluster: streamlab_wire::ClusterInfo =
        http.get(format!("{base}/api/cluster")).send().await.unwrap().json().await.unwrap();
    rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &cluster.bootstrap)
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap()
}

/// Exercise 1's hint, "start the topic page at offset 1" (rpk topic consume --offset 1), and
/// a start at a time: the rows shown begin where she asked, in the partitions she chose.
#[tokio::test(flavor = "multi_thread")]
async fn the_topic_page_starts_at_an_offset_or_at_a_time() {
    use rdkafka::producer::FutureRecord;
    let Some(browser) = browser().await else { return };
    let (addr, _stop) = crate::support::serve_lab(false).await;
    let base = format!("http://{addr}");
    let long = Duration::from_secs(30);
    let producer = topic_and_producer(&base, serde_json::json!({"name": "dev_sandbox", "partitions": 2})).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let hour = 3_600_000;
    // Partition 0: offsets 0, 1, 2 three, two and one hour ago; partition 1: 0 and 1.
    for (partition, hours_ago) in [(0, 3), (0, 2), (0, 1), (1, 3), (1, 1)] {
        let value = format!("p{partition} {hours_ago}h ago");
        let record = FutureRecord::<(), str>::to("dev_sandbox")
            .partition(partition)
            .payload(&value)
            .timestamp(now - hours_ago * hour);
        producer.send(record, Duration::from_secs(30)).await.unwrap();
    }
    let shown = "return JSON.stringify([...document.querySelectorAll('#stream tbody tr')].map(r => r.dataset.partition + ':' + r.dataset.offset).sort())";
    let choose = |choice: &str| {
        format!(
            "const s = document.querySelector('#stream-from'); s.value = '{choice}'; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); return true"
        )
    };

    browser.goto(&format!("{base}/#/topic/dev_sandbox")).await;
    browser.wait_for("return !!document.querySelector('#stream-from')", long, "the topic page").await;
    browser.eval(&choose("offset")).await;
    browser.wait_for("return !!document.querySelector('#stream-offset')", long, "the offset field").await;
    browser
        .eval("document.querySelector('#stream-offset').value = '1'; document.querySelector('#stream-partitions').value = '0'; document.querySelector('#stream-from').closest('form').requestSubmit(); return true")
        .await;
    browser.wait_for(&format!("{shown} === '[\"0:1\",\"0:2\"]'"), long, "partition 0 from offset 1").await;
    browser.screenshot(&shot("topic-at-offset")).await;

    // An hour and a half ago, every partition: the newest record of each.
    browser.eval(&choose("time")).await;
    browser.wait_for("return !!document.querySelector('#stream-time')", long, "the time field").await;
    let at = now - 3 * hour / 2;
    browser
        .eval(&format!(
            "const d = new Date({at}); const local = new Date({at} - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19); \
             document.querySelector('#stream-time').value = local; document.querySelector('#stream-partitions').value = ''; \
             document.querySelector('#stream-from').closest('form').requestSubmit(); return true"
        ))
        .await;
    browser.wait_for(&format!("{shown} === '[\"0:2\",\"1:1\"]'"), long, "each partition from that time").await;

    // No offset typed: said, and the stream is left as it was.
    browser.eval(&choose("offset")).await;
    browser.wait_for("return !!document.querySelector('#stream-offset')", long, "the offset field").await;
    browser
        .eval("document.querySelector('#stream-offset').value = ''; document.querySelector('#stream-from').closest('form').requestSubmit(); return true")
        .await;
    browser
        .wait_for(
            "return [...document.querySelectorAll('p.error')].some(p => p.textContent.includes('is not an offset'))",
            long,
            "the mistake said",
        )
        .await;
    assert_eq!(browser.eval(shown).await.as_str(), Some(r#"["0:2","1:1"]"#));
}

/// A student opens an exercise: its conditions fail, then turn to passes as the work is
/// done (here through the lab's API), without a reload; the list shows the progress and the
/// classroom page the roster (alice and bob in the test lab).
#[tokio::test(flavor = "multi_thread")]
async fn an_exercise_turns_from_failing_to_passed_live() {
    let Some(browser) = browser().await else { return };
    let (addr, _stop) = crate::support::serve_lab(false).await;
    let base = format!("http://{addr}");
    let long = Duration::from_secs(30);

    browser.goto(&format!("{base}/#/exercises")).await;
    browser
        .wait_for(
            "return document.querySelectorAll('ol.exercises li[data-exercise]').length === 15",
            long,
            "the exercise list",
        )
        .await;
    browser
        .eval("const i = document.querySelector('#student'); i.value = 'alice'; i.dispatchEvent(new Event('change', {bubbles: true})); return true")
        .await;
    browser
        .wait_for(
            "return document.querySelector('#progress-summary')?.textContent.startsWith('0 of 15')",
            long,
            "alice's progress",
        )
        .await;

    browser.goto(&format!("{base}/#/exercise/01-sandbox-topic")).await;
    browser
        .wait_for(
            "return document.querySelector('.instructions code')?.textContent === 'dev_sandbox'",
            long,
            "the instructions",
        )
        .await;
    browser
        .wait_for("return [...document.querySelectorAll('[data-condition]')].filter(c => c.dataset.outcome === 'fail').length === 3", long, "three failing conditions")
        .await;
    assert!(
        browser
            .eval("return document.querySelector('[data-condition=\"topic\"] .message').textContent")
            .await
            .as_str()
            .unwrap()
            .contains("alice.dev_sandbox does not exist")
    );
    browser.screenshot(&shot("exercise-start")).await;

    // The work: the topic, two messages, and the answer, all with alice's prefix.
    let http = reqwest::Client::new();
    for (name, partitions) in [("alice.dev_sandbox", 1), ("alice.dev_sandbox_answers", 1)] {
        let r = http
            .post(format!("{base}/api/topics"))
            .json(&serde_json::json!({"name": name, "partitions": partitions}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{name}");
    }
    for value in ["hello", "world"] {
        let r = http
            .post(format!("{base}/api/topics/alice.dev_sandbox/records"))
            .json(&serde_json::json!({"value": value, "partition": 0}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let answer = serde_json::json!({"key": "read_by_offset", "value": r#"{"offset": 1, "value": "world"}"#});
    assert!(
        http.post(format!("{base}/api/topics/alice.dev_sandbox_answers/records"))
            .json(&answer)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    browser
        .wait_for(
            "return [...document.querySelectorAll('[data-condition]')].every(c => c.dataset.outcome === 'pass')",
            long,
            "every condition to pass",
        )
        .await;
    browser.screenshot(&shot("exercise")).await;

    browser.goto(&format!("{base}/#/exercises")).await;
    browser
        .wait_for(
            "return document.querySelector('#progress-summary')?.textContent.startsWith('1 of 15')",
            long,
            "the progress to count it",
        )
        .await;
    assert_eq!(
        browser
            .eval("return document.querySelector('li[data-exercise=\"01-sandbox-topic\"] .count').textContent")
            .await,
        "3/3"
    );
    browser.screenshot(&shot("exercises")).await;

    browser.goto(&format!("{base}/#/classroom")).await;
    browser.wait_for("return document.querySelectorAll('#classroom tbody tr').length === 2", long, "the roster").await;
    assert_eq!(
        browser
            .eval("return document.querySelector('#classroom tr[data-student=\"alice\"] td.pass').textContent")
            .await,
        "3/3"
    );
    assert_eq!(
        browser.eval("return document.querySelectorAll('#classroom tr[data-student=\"bob\"] td.pass').length").await,
        0
    );
    // The grade book the teacher downloads: the link's own address, as the browser has it.
    let csv_url = browser.eval("return document.querySelector('#classroom-csv').href").await;
    let csv_url = csv_url.as_str().expect("the Download CSV link").to_owned();
    let response = reqwest::get(&csv_url).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = response.text().await.unwrap();
    let mut rows = csv.lines();
    assert!(rows.next().unwrap().starts_with("student,01-sandbox-topic,02-offsets-and-groups,"), "{csv}");
    assert!(rows.any(|r| r.starts_with("alice,3,0,")), "alice earned exercise 1's 3 points: {csv}");
    browser.screenshot(&shot("classroom")).await;
}

/// A learner reading the course in German, as seed 000 was written: the switch turns the
/// exercise's instructions, conditions and failures German, the choice is kept, and an
/// exercise without a translation says so.
#[tokio::test(flavor = "multi_thread")]
async fn an_exercise_is_read_in_german() {
    let Some(browser) = browser().await else { return };
    let (addr, _stop) = crate::support::serve_lab(false).await;
    let base = format!("http://{addr}");
    let long = Duration::from_secs(30);
    browser.goto(&format!("{base}/#/exercise/04-request-generator")).await;
    browser.wait_for("return !!document.querySelector('#language-de')", long, "the language switch").await;
    browser.eval("document.querySelector('#language-de').click(); return true").await;
    browser
        .wait_for(
            "return document.querySelector('#exercise-title').textContent === '4. Der Generator für Mushroom-Anfragen' \
             && document.querySelector('#instructions').textContent.includes('Sende jede Anfrage mit einem eigenen Schlüssel')",
            long,
            "the German exercise",
        )
        .await;
    // The lab's request topic is empty: the first condition fails, said in German.
    browser
        .wait_for(
            "return (document.querySelector('[data-condition=\"valid-requests\"] .message')?.textContent || '').startsWith('eine Anfrage würde vom Modell abgelehnt, oder es sind weniger als 20 (')",
            long,
            "a German failure with what the checker saw",
        )
        .await;
    browser.screenshot(&shot("exercise-in-german")).await;
    browser.goto(&format!("{base}/#/exercise/06-commit-after-work")).await;
    browser.wait_for("return !!document.querySelector('#english-only')", long, "no German for exercise 6").await;
    browser.eval("location.reload(); return true").await;
    browser.wait_for("return !!document.querySelector('#english-only')", long, "the choice kept").await;
    browser.eval("document.querySelector('#language-en').click(); return true").await;
    browser.wait_for("return !document.querySelector('#english-only')", long, "English again").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_page_load_is_at_most_500_kb_gzipped() {
    if !crate::support::require(streamlab::web::assets::FRONTEND_BUILT, "the built frontend (./lab build)") {
        return;
    }
    let (addr, _stop) = crate::support::serve_lab(false).await;
    let http = reqwest::Client::new();
    let mut total = 0;
    // What index.html loads: itself, the stylesheet, the JS glue and the wasm module.
    for path in ["/", "/style.css", "/streamlab-frontend.js", "/streamlab-frontend_bg.wasm"] {
        let r = http.get(format!("http://{addr}{path}")).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.headers().get("content-encoding").map(|v| v.to_str().unwrap()),
            Some("gzip"),
            "{path} is served gzipped"
        );
        let bytes = r.bytes().await.unwrap().len();
        eprintln!("{path}: {bytes} bytes gzipped");
        total += bytes;
    }
    eprintln!("first page load: {total} bytes ({:.0} KB)", total as f64 / 1024.0);
    assert!(total <= 500 * 1024, "a first page load is {total} bytes, over 500 KB");
}

/// Class mode as a student meets it: the sign-in box, a token that is refused with its
/// reason, her own token kept across reloads, only her namespace and the lab's topics
/// listed, the connect card with the bootstrap address and the doctor, and signing out.
#[tokio::test(flavor = "multi_thread")]
async fn a_student_signs_in_with_her_class_token_and_sees_only_her_namespace() {
    use streamlab::exercises::class::Class;
    let Some(browser) = browser().await else { return };
    let class = Class::new("the browser test's class secret", vec!["alice".into(), "bob".into()]);
    let access = streamlab::web::access::Access {
        admin_token: Some("teach-token".into()),
        class: Some(class.clone()),
        ..crate::support::lab_access()
    };
    let (addr, _stop) =
        crate::support::serve_lab_opts(crate::support::LabOptions { access, ..Default::default() }).await;
    let base = format!("http://{addr}");
    let long = Duration::from_secs(30);
    let http = reqwest::Client::new();
    for name in ["alice.numbers", "bob.numbers"] {
        let r = http
            .post(format!("{base}/api/topics"))
            .bearer_auth("teach-token")
            .json(&serde_json::json!({"name": name, "partitions": 1}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{name}");
    }

    browser.goto(&format!("{base}/#/topics")).await;
    browser.wait_for("return !!document.querySelector('#sign-in #token')", long, "the sign-in box").await;
    let listed = "return [...document.querySelectorAll('#topics tr[data-topic]')].map(r => r.dataset.topic).join(' ')";
    browser.wait_for(&format!("{listed}.includes('mushroom_prediction')"), long, "the lab topics for a guest").await;
    assert!(!browser.eval(listed).await.as_str().unwrap().contains("numbers"), "a guest sees no student's topics");

    let sign_in = |token: String| {
        format!(
            "document.querySelector('#token').value = {}; document.querySelector('#sign-in').requestSubmit(); return true",
            serde_json::Value::String(token)
        )
    };
    browser.eval(&sign_in(format!("alice.{}", "A".repeat(22)))).await;
    browser
        .wait_for(
            "return (document.querySelector('#sign-in-error')?.textContent || '').includes('not valid for this lab')",
            long,
            "a forged token refused with its reason",
        )
        .await;

    browser.eval(&sign_in(class.token("alice", None).unwrap())).await;
    browser
        .wait_for(
            "return (document.querySelector('#signed-in-name')?.textContent || '').startsWith('alice')",
            long,
            "signed in as alice (after the reload)",
        )
        .await;
    browser.wait_for(&format!("{listed}.includes('alice.numbers')"), long, "alice's topic listed").await;
    let topics = browser.eval(listed).await.as_str().unwrap().to_owned();
    assert!(topics.contains("mushroom_prediction") && !topics.contains("bob."), "{topics}");
    browser.screenshot(&shot("class-signed-in")).await;

    // The token outlives a reload, and the exercises are checked in her namespace.
    browser.goto(&format!("{base}/#/exercises")).await;
    browser
        .wait_for(
            "return document.querySelector('#student-signed-in')?.textContent === 'alice'",
            long,
            "the exercises checked for alice",
        )
        .await;

    // The overview tells her where to connect and runs the doctor.
    browser.goto(&format!("{base}/#/")).await;
    browser.wait_for("return !!document.querySelector('#bootstrap')", long, "the connect card").await;
    assert!(
        browser
            .eval("return !!document.querySelector('#generator-state') && !document.querySelector('#generator-toggle')")
            .await
            .as_bool()
            .unwrap(),
        "a student sees the generator's state, not the teacher's switch"
    );
    let bootstrap = browser.eval("return document.querySelector('#bootstrap').textContent").await;
    let snippet = browser.eval("return document.querySelector('#python-snippet').textContent").await;
    let bootstrap = bootstrap.as_str().unwrap();
    assert!(snippet.as_str().unwrap().contains(&format!("bootstrap_servers=\"{bootstrap}\"")), "{snippet}");
    assert!(snippet.as_str().unwrap().contains("group_id=\"alice."), "a group in her namespace: {snippet}");
    let install = browser.eval("return document.querySelector('#python-install').textContent").await;
    assert_eq!(install.as_str(), Some(streamlab_wire::PYTHON_INSTALL), "the one command that installs the clients");
    assert!(
        browser.eval("return !!document.querySelector('#not-reachable')").await.as_bool().unwrap(),
        "a loopback broker is said to be for this machine only"
    );
    browser
        .eval("document.querySelector('#doctor-topic').value = 'alice.numbers'; document.querySelector('#doctor form').requestSubmit(); return true")
        .await;
    browser
        .wait_for(
            "return !!document.querySelector('#doctor-checks li.ok[data-check=\"advertised\"]') && !!document.querySelector('#doctor-checks li.fail[data-check=\"topic\"]')",
            long,
            "the doctor's checks: the broker fine, alice.numbers empty",
        )
        .await;
    let topics_check =
        browser.eval("return document.querySelector('#doctor-checks li[data-check=\"topics\"]').textContent").await;
    assert!(
        !topics_check.as_str().unwrap().contains("bob."),
        "the doctor lists no other student's topics: {topics_check}"
    );
    browser.screenshot(&shot("class-connect-and-doctor")).await;

    browser.eval("document.querySelector('#sign-out').click(); return true").await;
    browser.wait_for("return !!document.querySelector('#sign-in #token')", long, "signed out").await;
}

/// A topic's settings on its page (seed 002 §6.4: what a setting does, beside its value),
/// one changed from the page, and the oldest records deleted below an offset, after asking.
#[tokio::test(flavor = "multi_thread")]
async fn a_topics_settings_are_shown_changed_and_its_oldest_records_deleted() {
    use rdkafka::producer::FutureRecord;
    let Some(browser) = browser().await else { return };
    let (addr, _stop) = crate::support::serve_lab(false).await;
    let base = format!("http://{addr}");
    let long = Duration::from_secs(30);
    let producer =
        topic_and_producer(&base, serde_json::json!({"name": "kept", "configs": {"retention.ms": "600000"}})).await;
    let http = reqwest::Client::new();
    for i in 0..5 {
        let value = format!("record {i}");
        producer.send(FutureRecord::<(), str>::to("kept").payload(&value), Duration::from_secs(30)).await.unwrap();
    }
    let row =
        |name: &str, what: &str| format!("document.querySelector('#settings tr[data-setting=\"{name}\"] {what}')");

    browser.goto(&format!("{base}/#/topic/kept")).await;
    let value = row("retention.ms", ".value");
    browser.wait_for(&format!("return {value}?.textContent === '600000'"), long, "retention.ms with its value").await;
    let meaning = browser.eval(&format!("return {}.textContent", row("retention.ms", "td:nth-child(4)"))).await;
    assert!(meaning.as_str().unwrap_or_default().contains("how long a record is kept"), "{meaning}");

    browser
        .eval(
            "document.querySelector('#setting-key').value = 'cleanup.policy'; \
             document.querySelector('#setting-value').value = 'compact'; \
             document.querySelector('#setting-form').requestSubmit(); return true",
        )
        .await;
    let effect = row("cleanup.policy", ".effect");
    browser
        .wait_for(
            &format!("return ({effect}?.textContent || '').includes('does not compact')"),
            long,
            "compact, said not to happen",
        )
        .await;
    browser.eval("document.querySelector('#topic-settings').scrollIntoView(); return true").await;
    browser.screenshot(&shot("topic-settings")).await;

    // Deleting records asks first; a "no" deletes nothing.
    browser
        .eval(
            "window.confirm = () => false; document.querySelector('#trim-offset').value = '2'; \
             document.querySelector('#trim-form').requestSubmit(); return true",
        )
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let first = || async {
        let read: Vec<streamlab_wire::RecordView> = http
            .get(format!("{base}/api/topics/kept/records?from=earliest"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        read.first().map(|r| r.offset)
    };
    assert_eq!(first().await, Some(0), "nothing deleted without a yes");
    browser
        .eval("window.confirm = () => true; document.querySelector('#trim-form').requestSubmit(); return true")
        .await;
    browser
        .wait_for(
            "return (document.querySelector('#settings-result')?.textContent || '').includes('partition 0 now starts at offset 2')",
            long,
            "the new start of partition 0",
        )
        .await;
    assert_eq!(first().await, Some(2));
}
