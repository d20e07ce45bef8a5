//! The browser lab in real headless Chromium against the real server and embedded broker.
//! Screenshots go to $STREAMLAB_SCREENSHOTS (default target/screenshots), kept by CI.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use std::time::Duration;
use webdriver::Browser;

fn screenshots() -> PathBuf {
    std::env::var_os("STREAMLAB_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"))
}

/// Skips (or fails in CI) when the frontend or the browser is missing.
async fn browser() -> Option<Browser> {
    if !common::require(streamlab::web::assets::FRONTEND_BUILT, "the built frontend (./lab build)") {
        return None;
    }
    let browser = Browser::start().await;
    if browser.is_none() {
        common::require(false, "chromium and chromium-driver");
    }
    browser
}

fn shot(name: &str) -> PathBuf {
    screenshots().join(format!("lab-{name}.png"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_connects_its_websocket_and_lists_the_lab_topics() {
    let Some(browser) = browser().await else { return };
    let (addr, _stop) = common::serve_lab(false).await;

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
    let (addr, _stop) = common::serve_lab(true).await;
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
    browser.screenshot(&shot("groups")).await;

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

/// A student opens an exercise: its conditions fail, then turn to passes as the work is
/// done (here through the lab's API), without a reload; the list shows the progress and the
/// classroom page the roster (alice and bob in the test lab).
#[tokio::test(flavor = "multi_thread")]
async fn an_exercise_turns_from_failing_to_passed_live() {
    let Some(browser) = browser().await else { return };
    let (addr, _stop) = common::serve_lab(false).await;
    let base = format!("http://{addr}");
    let long = Duration::from_secs(30);

    browser.goto(&format!("{base}/#/exercises")).await;
    browser
        .wait_for(
            "return document.querySelectorAll('ol.exercises li[data-exercise]').length === 11",
            long,
            "the exercise list",
        )
        .await;
    browser
        .eval("const i = document.querySelector('#student'); i.value = 'alice'; i.dispatchEvent(new Event('change', {bubbles: true})); return true")
        .await;
    browser
        .wait_for(
            "return document.querySelector('#progress-summary')?.textContent.startsWith('0 of 11')",
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
            "return document.querySelector('#progress-summary')?.textContent.startsWith('1 of 11')",
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

#[tokio::test(flavor = "multi_thread")]
async fn a_first_page_load_is_at_most_500_kb_gzipped() {
    if !common::require(streamlab::web::assets::FRONTEND_BUILT, "the built frontend (./lab build)") {
        return;
    }
    let (addr, _stop) = common::serve_lab(false).await;
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
