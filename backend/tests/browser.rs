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

#[tokio::test(flavor = "multi_thread")]
async fn the_page_connects_its_websocket_and_lists_the_lab_topics() {
    if !common::require(streamlab::assets::FRONTEND_BUILT, "the built frontend (./lab build)") {
        return;
    }
    let Some(browser) = Browser::start().await else {
        common::require(false, "chromium and chromium-driver");
        return;
    };
    let (addr, _stop) = common::serve_lab(false).await;

    browser.goto(&format!("http://{addr}/")).await;
    browser
        .wait_for("return document.querySelector('#connection')?.textContent === 'live'", Duration::from_secs(20), "the websocket to open")
        .await;
    for topic in streamlab_wire::topics::ALL {
        browser
            .wait_for(&format!("return !!document.querySelector('tr[data-topic=\"{topic}\"]')"), Duration::from_secs(20), topic)
            .await;
    }
    let partitions = browser.eval("return document.querySelector('tr[data-topic=\"mushroom_prediction\"] td:nth-child(2)').textContent").await;
    assert_eq!(partitions, "3");
    browser.screenshot(&screenshots().join("foundation-topics.png")).await;
}
