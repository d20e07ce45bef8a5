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
    if !common::require(streamlab::assets::FRONTEND_BUILT, "the built frontend (./lab build)") {
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
        .wait_for("return document.querySelector('#connection')?.textContent === 'live'", Duration::from_secs(20), "the websocket to open")
        .await;
    for topic in streamlab_wire::topics::ALL {
        browser
            .wait_for(&format!("return !!document.querySelector('#topics tr[data-topic=\"{topic}\"]')"), Duration::from_secs(20), topic)
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
    browser.wait_for("return document.querySelector('#connection')?.textContent === 'live'", long, "the websocket to open").await;
    browser.wait_for("return (document.querySelector('#model-accuracy')?.textContent || '').startsWith('99.')", long, "the model card").await;
    browser
        .eval("document.querySelector('#generator-rate').value = '100'; document.querySelector('#generator-toggle').closest('form').requestSubmit(); return true")
        .await;
    browser.wait_for("return document.querySelector('#generator-toggle')?.getAttribute('aria-checked') === 'true'", long, "the generator to run").await;
    browser.wait_for("return document.querySelector('#inference-state')?.textContent === 'running'", long, "inference running").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    browser.screenshot(&shot("overview")).await;

    // Production rate: the chart's newest value for the request topic within ±10 % of 100/s.
    browser.goto(&format!("{base}/#/rates")).await;
    let rate_js = "return Number(document.querySelector('[data-chart=\"production\"] [data-series=\"mushroom_inference_request\"]')?.dataset.value || 0)";
    browser.wait_for(&format!("{{ const r = (() => {{ {rate_js} }})(); return r >= 90 && r <= 110; }}"), long, "the chart to show ~100/s").await;
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
        .wait_for("return document.querySelectorAll('[data-group=\"streamlab-inference\"] tr[data-member]').length >= 1", long, "the inference group's member")
        .await;
    browser.screenshot(&shot("groups")).await;

    // Inference: predictions arriving.
    browser.goto(&format!("{base}/#/inference")).await;
    browser.wait_for("return document.querySelectorAll('#predictions tbody tr').length >= 10", long, "predictions in the live feed").await;
    let first = browser.eval("return Number(document.querySelector('#edible-count').textContent) + Number(document.querySelector('#poisonous-count').textContent)").await.as_f64().unwrap();
    browser
        .wait_for(&format!("return Number(document.querySelector('#edible-count').textContent) + Number(document.querySelector('#poisonous-count').textContent) > {first}"), long, "the counts to grow")
        .await;
    browser.screenshot(&shot("inference")).await;

    // A topic: a record sent with the form appears in the live stream with its header.
    let created = reqwest::Client::new().post(format!("{base}/api/topics")).json(&serde_json::json!({"name": "browser_topic", "partitions": 2})).send().await.unwrap();
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
    browser.wait_for("return (document.querySelector('#produce-result')?.textContent || '').startsWith('stored in partition')", long, "the produce result").await;
    browser
        .wait_for("return [...document.querySelectorAll('#stream tbody tr')].some(r => r.textContent.includes('from-the-form') && !!r.querySelector('[data-header=\"record_name\"]') && r.textContent.includes('cap-diameter'))", long, "the record in the live stream")
        .await;
    browser.screenshot(&shot("topic")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_page_load_is_at_most_500_kb_gzipped() {
    if !common::require(streamlab::assets::FRONTEND_BUILT, "the built frontend (./lab build)") {
        return;
    }
    let (addr, _stop) = common::serve_lab(false).await;
    let http = reqwest::Client::new();
    let mut total = 0;
    // What index.html loads: itself, the stylesheet, the JS glue and the wasm module.
    for path in ["/", "/style.css", "/streamlab-frontend.js", "/streamlab-frontend_bg.wasm"] {
        let r = http.get(format!("http://{addr}{path}")).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"), "{path} is served gzipped");
        let bytes = r.bytes().await.unwrap().len();
        eprintln!("{path}: {bytes} bytes gzipped");
        total += bytes;
    }
    eprintln!("first page load: {total} bytes ({:.0} KB)", total as f64 / 1024.0);
    assert!(total <= 500 * 1024, "a first page load is {total} bytes, over 500 KB");
}
