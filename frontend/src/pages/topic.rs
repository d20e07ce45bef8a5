//! One topic: its live stream (pause, start position, partitions) and a produce form.

use super::{show_value, time_of};
use crate::hooks::{use_lab, use_tail};
use crate::http;
use streamlab_wire::{Header, ProduceRecord, Produced, StartPosition};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TopicProps {
    pub name: AttrValue,
}

fn parse_partitions(s: &str) -> Result<Option<Vec<i32>>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    s.split(',')
        .map(|p| p.trim().parse::<i32>().map_err(|_| format!("`{p}` is not a partition number")))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[function_component(Topic)]
pub fn topic(p: &TopicProps) -> Html {
    let ctx = use_lab();
    let from = use_state(|| StartPosition::Newest { count: 20 });
    let partitions = use_state(|| None::<Vec<i32>>);
    let paused = use_state(|| None::<Vec<streamlab_wire::RecordView>>);
    let restart = use_state(|| 0u32);
    let id = use_tail(p.name.to_string(), *from, (*partitions).clone(), *restart);
    let stream = ctx.lab.streams.get(&id).cloned().unwrap_or_default();
    let (from_select, partitions_input) = (use_node_ref(), use_node_ref());
    let form_error = use_state(|| None::<String>);
    let apply = {
        let (from, partitions, restart, form_error) =
            (from.clone(), partitions.clone(), restart.clone(), form_error.clone());
        let (from_select, partitions_input) = (from_select.clone(), partitions_input.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let choice = from_select.cast::<HtmlSelectElement>().map(|s| s.value()).unwrap_or_default();
            from.set(match choice.as_str() {
                "earliest" => StartPosition::Earliest,
                "latest" => StartPosition::Latest,
                _ => StartPosition::Newest { count: 20 },
            });
            match parse_partitions(&partitions_input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default())
            {
                Ok(ps) => {
                    partitions.set(ps);
                    form_error.set(None);
                }
                Err(e) => form_error.set(Some(e)),
            }
            restart.set(*restart + 1);
        })
    };
    let toggle_pause = {
        let (paused, records) = (paused.clone(), stream.records.clone());
        Callback::from(move |_: MouseEvent| {
            paused.set(if paused.is_some() { None } else { Some(records.iter().cloned().collect()) })
        })
    };
    let shown: Vec<streamlab_wire::RecordView> = match &*paused {
        Some(frozen) => frozen.clone(),
        None => stream.records.iter().cloned().collect(),
    };
    html! {
        <section aria-labelledby="topic-title">
            <h2 id="topic-title">{ "Topic " }<code>{ &p.name }</code></h2>
            <form class="inline" onsubmit={apply} aria-label="stream settings">
                <label>{ "Start at " }
                    <select ref={from_select} id="stream-from">
                        <option value="newest" selected=true>{ "the newest 20 per partition" }</option>
                        <option value="earliest">{ "the earliest record" }</option>
                        <option value="latest">{ "new records only" }</option>
                    </select>
                </label>
                <label>{ "Partitions " }<input ref={partitions_input} id="stream-partitions" placeholder="all, or e.g. 0,2" /></label>
                <button type="submit">{ "Apply" }</button>
                <button type="button" id="stream-pause" aria-pressed={paused.is_some().to_string()} onclick={toggle_pause}>
                    { if paused.is_some() { "Resume" } else { "Pause" } }
                </button>
            </form>
            if let Some(e) = &*form_error { <p class="error" role="alert">{ e }</p> }
            <p class="muted" id="stream-counts" aria-live="polite">
                { format!("{} received", stream.received) }
                if stream.skipped > 0 { { format!(", {} skipped because the page fell behind", stream.skipped) } }
                if paused.is_some() { { " (paused)" } }
            </p>
            <table id="stream" class="records">
                <thead><tr>
                    <th scope="col">{ "Partition" }</th><th scope="col">{ "Offset" }</th><th scope="col">{ "Time (UTC)" }</th>
                    <th scope="col">{ "Key" }</th><th scope="col">{ "Headers" }</th><th scope="col">{ "Value" }</th>
                </tr></thead>
                <tbody>
                    { for shown.iter().rev().map(|r| {
                        let (value, format) = show_value(&r.value);
                        html! { <tr data-offset={r.offset.to_string()} data-partition={r.partition.to_string()}>
                            <td>{ r.partition }</td><td>{ r.offset }</td><td>{ time_of(r.timestamp_ms) }</td>
                            <td><code>{ r.key.clone().unwrap_or_else(|| "–".into()) }</code></td>
                            <td>{ for r.headers.iter().map(|h| html! { <span class="header-chip" data-header={h.key.clone()}>{ format!("{}={}", h.key, h.value.clone().unwrap_or_default()) }</span> }) }</td>
                            <td>
                                if let Some(f) = format { <span class="badge">{ f }</span> }
                                <pre class="value">{ value }</pre>
                            </td>
                        </tr> }
                    }) }
                </tbody>
            </table>
            <ProduceForm topic={p.name.clone()} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ProduceProps {
    topic: AttrValue,
}

#[function_component(ProduceForm)]
fn produce_form(p: &ProduceProps) -> Html {
    let (key, value, headers, partition) = (use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref());
    let result = use_state(|| None::<Result<String, String>>);
    let submit = {
        let (key, value, headers, partition, result, topic) =
            (key.clone(), value.clone(), headers.clone(), partition.clone(), result.clone(), p.topic.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let area = |r: &NodeRef| r.cast::<HtmlTextAreaElement>().map(|i| i.value()).unwrap_or_default();
            let k = text(&key);
            let hs: Vec<Header> = area(&headers)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| match l.split_once('=') {
                    Some((k, v)) => Header { key: k.trim().into(), value: Some(v.trim().into()) },
                    None => Header { key: l.trim().into(), value: None },
                })
                .collect();
            let part = text(&partition);
            let record = ProduceRecord {
                key: (!k.is_empty()).then_some(k),
                value: area(&value),
                headers: hs,
                partition: if part.trim().is_empty() { None } else { part.trim().parse().ok() },
            };
            let (result, topic) = (result.clone(), topic.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let body = serde_json::to_string(&record).expect("serialises");
                let r = http::call("POST", &format!("/api/topics/{topic}/records"), Some(body)).await.and_then(|t| {
                    serde_json::from_str::<Produced>(&t)
                        .map(|p| format!("stored in partition {} at offset {}", p.partition, p.offset))
                        .map_err(|e| e.to_string())
                });
                result.set(Some(r));
            });
        })
    };
    html! {
        <form id="produce" class="stack" onsubmit={submit} aria-labelledby="produce-title">
            <h3 id="produce-title">{ "Produce a record" }</h3>
            <label>{ "Key" }<input ref={key} id="produce-key" /></label>
            <label>{ "Value" }<textarea ref={value} id="produce-value" rows="3" placeholder="{\"cap-diameter\": 5, ...}" /></label>
            <label>{ "Headers (one key=value per line)" }<textarea ref={headers} id="produce-headers" rows="2" /></label>
            <label>{ "Partition (empty: by key)" }<input ref={partition} id="produce-partition" type="number" min="0" /></label>
            <button type="submit">{ "Send" }</button>
            { match &*result {
                Some(Ok(m)) => html! { <p class="ok" role="status" id="produce-result">{ m }</p> },
                Some(Err(e)) => html! { <p class="error" role="alert" id="produce-result">{ e }</p> },
                None => html! {},
            } }
        </form>
    }
}
