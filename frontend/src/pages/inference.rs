//! The inference service: predictions/s, classes, latency, dead letters and the live feed.

use super::{show_value, time_of};
use crate::chart::{BarChart, format_number};
use crate::hooks::{use_lab, use_tail};
use crate::http;
use streamlab_wire::{Decoded, Redrive, Redriven, StartPosition, topics};
use yew::prelude::*;

#[function_component(Inference)]
pub fn inference() -> Html {
    let ctx = use_lab();
    let id = use_tail(topics::PREDICTIONS.to_owned(), StartPosition::Newest { count: 10 }, None, None, 0);
    let feed = ctx.lab.streams.get(&id).cloned().unwrap_or_default();
    let redriven = use_state(|| None::<Result<String, String>>);
    let Some(s) = ctx.lab.inference.clone() else {
        return html! { <section><h2>{ "Inference" }</h2><p class="muted">{ "waiting for the server…" }</p></section> };
    };
    let total = (s.edible + s.poisonous).max(1);
    let edible_pct = s.edible as f64 * 100.0 / total as f64;
    let ms = |v: Option<f64>| {
        v.map_or("–".into(), |v| if v >= 1000.0 { format!("≤ {} s", v / 1000.0) } else { format!("≤ {v} ms") })
    };
    let max_p = s.latency_ms.p99.unwrap_or(1.0).max(1.0);
    let bars: Vec<(String, u64)> = s
        .latency_histogram
        .iter()
        .map(|b| (b.le_ms.map_or("more".to_owned(), |ms| format!("≤{}", bucket_label(ms))), b.count))
        .collect();
    let in_window: u64 = bars.iter().map(|(_, c)| c).sum();
    let teacher = ctx.lab.who.is_teacher();
    let redrive = |reason: String| {
        let redriven = redriven.clone();
        Callback::from(move |_: MouseEvent| {
            let (redriven, reason) = (redriven.clone(), reason.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let body = serde_json::to_string(&Redrive { reason }).expect("serialises");
                let answer = http::call("POST", "/api/inference/redrive", Some(body)).await.and_then(|t| {
                    let r: Redriven = serde_json::from_str(&t).map_err(|e| e.to_string())?;
                    let letters =
                        |n: u64| if n == 1 { "1 dead letter".to_owned() } else { format!("{n} dead letters") };
                    let mut said = format!("{} with reason {} sent again to {}", letters(r.sent), r.reason, r.to);
                    if !r.complete {
                        said.push_str(" (not all of them yet: redrive again for the rest)");
                    }
                    if r.failed_again > 0 {
                        said.push_str(&format!(
                            "; {} had been redriven before and failed again, so not sent again",
                            letters(r.failed_again)
                        ));
                    }
                    Ok(said)
                });
                redriven.set(Some(answer));
            });
        })
    };
    html! {
        <section aria-labelledby="inference-title">
            <h2 id="inference-title">{ "Inference" }</h2>
            <div class="cards">
                <div class="card"><h3>{ "Predictions/s" }</h3><p class="big" id="predictions-rate">{ s.predictions_per_s.map_or("–".into(), format_number) }</p>
                    <p class="muted">{ format!("{} requests, model {}", s.requests, s.model_version) }</p></div>
                <div class="card"><h3>{ "Classes" }</h3>
                    <div class="ratio" role="img" aria-label={format!("{edible_pct:.0} % edible")}>
                        <span class="edible" style={format!("width:{edible_pct}%")}></span>
                    </div>
                    <p><span id="edible-count">{ s.edible }</span>{ " edible · " }<span id="poisonous-count">{ s.poisonous }</span>{ " poisonous" }</p></div>
                <div class="card"><h3>{ "Latency" }</h3><p class="muted">{ "last minute" }</p>
                    <dl class="latency">
                        { for [("p50", s.latency_ms.p50), ("p95", s.latency_ms.p95), ("p99", s.latency_ms.p99)].into_iter().map(|(name, v)| html! { <>
                            <dt>{ name }</dt>
                            <dd><span class="bar" style={format!("width:{}%", v.unwrap_or(0.0) / max_p * 100.0)}></span>{ ms(v) }</dd>
                        </> }) }
                    </dl></div>
                <div class="card"><h3>{ "Dead letters" }</h3>
                    if s.dead_letters.is_empty() { <p class="muted">{ "none" }</p> }
                    <table id="dead-letters"><tbody>
                        { for s.dead_letters.iter().map(|(reason, n)| html! { <tr data-reason={reason.clone()}><td>{ reason }</td><td>{ n }</td>
                            if teacher {
                                <td><button type="button" data-redrive={reason.clone()} onclick={redrive(reason.clone())}
                                    title="send these requests again (after fixing what refused them)">{ "Redrive" }</button></td>
                            }
                        </tr> }) }
                    </tbody></table>
                    { match &*redriven {
                        Some(Ok(m)) => html! { <p class="ok" role="status" id="redrive-result">{ m }</p> },
                        Some(Err(e)) => html! { <p class="error" role="alert" id="redrive-result">{ e }</p> },
                        None => html! {},
                    } }
                    </div>
            </div>
            if in_window > 0 {
                <BarChart id="latency" bars={bars} title={format!("Request → prediction, ms, last minute ({in_window} predictions)")} />
            }
            <h3>{ "Live predictions" }</h3>
            <table id="predictions" class="records">
                <thead><tr><th scope="col">{ "Time (UTC)" }</th><th scope="col">{ "Key" }</th><th scope="col">{ "Class" }</th><th scope="col">{ "Probability" }</th></tr></thead>
                <tbody>
                    { for feed.records.iter().rev().take(50).map(|r| {
                        let (class, p) = match &r.value {
                            Some(Decoded::Json { json }) => (json["class"].as_str().unwrap_or("?").to_owned(), json["probability"].as_f64()),
                            other => (show_value(other).0, None),
                        };
                        html! { <tr class={class.clone()}>
                            <td>{ time_of(r.timestamp_ms) }</td><td><code>{ r.key.clone().unwrap_or_default() }</code></td>
                            <td>{ class }</td><td>{ p.map_or("–".into(), |p| format!("{:.1} %", p * 100.0)) }</td>
                        </tr> }
                    }) }
                </tbody>
            </table>
        </section>
    }
}

/// A bucket's bound as its label: 7.5, 20, 1s.
fn bucket_label(ms: f64) -> String {
    if ms >= 1000.0 { format!("{}s", ms / 1000.0) } else { format!("{ms}") }
}
