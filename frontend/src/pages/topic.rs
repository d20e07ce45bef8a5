//! One topic: its live stream (pause, start position, partitions, a filter the server
//! applies, saved filters), downloads of what is in view, re-sending a record, and a produce
//! form.

use super::{show_value, time_of};
use crate::hooks::{use_lab, use_tail};
use crate::http;
use streamlab_wire::export::{records_csv, records_jsonl};
use streamlab_wire::filter::Filter;
use streamlab_wire::{Decoded, Header, ProduceRecord, Produced, RecordView, Resent, StartPosition, Whoami};
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// The filters saved for `topic` in this browser.
fn saved_filters(topic: &str) -> Vec<String> {
    http::storage()
        .and_then(|s| s.get_item(&format!("streamlab-filters:{topic}")).ok().flatten())
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

fn save_filters(topic: &str, filters: &[String]) {
    if let Some(s) = http::storage() {
        let _ = s.set_item(&format!("streamlab-filters:{topic}"), &serde_json::to_string(filters).expect("serialises"));
    }
}

/// The filter typed, checked with the server's own parser: `Ok(None)` when there is none.
/// A mistake comes with the filter and a caret under its column.
fn read_filter(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    Filter::parse(text)
        .map(|_| Some(text.to_owned()))
        .map_err(|e| format!("{e}\n\n  {text}\n  {}^", " ".repeat(e.column - 1)))
}

/// Whether the server lets `who` re-send records to `topic` (the teacher, or a student into
/// their own names): the button is shown only then.
fn may_resend(who: &Whoami, topic: &str) -> bool {
    who.is_teacher()
        || who.student.as_deref().is_some_and(|s| topic.strip_prefix(s).is_some_and(|r| r.starts_with('.')))
}

/// A `data:` URL holding `text`, for a download link built in the browser.
fn data_url(kind: &str, text: &str) -> String {
    format!("data:{kind};charset=utf-8,{}", js_sys::encode_uri_component(text))
}

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
    let paused = use_state(|| None::<Vec<RecordView>>);
    let restart = use_state(|| 0u32);
    let filter = use_state(|| None::<String>);
    let id = use_tail(p.name.to_string(), *from, (*partitions).clone(), (*filter).clone(), *restart);
    let stream = ctx.lab.streams.get(&id).cloned().unwrap_or_default();
    let (from_select, partitions_input, filter_input) = (use_node_ref(), use_node_ref(), use_node_ref());
    let form_error = use_state(|| None::<String>);
    let filter_error = use_state(|| None::<String>);
    let saved = {
        let topic = p.name.to_string();
        use_state(move || saved_filters(&topic))
    };
    let resending = use_state(|| None::<RecordView>);
    let typed = {
        let filter_input = filter_input.clone();
        move || filter_input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default()
    };
    let apply = {
        let (from, partitions, restart, form_error, filter, filter_error) = (
            from.clone(),
            partitions.clone(),
            restart.clone(),
            form_error.clone(),
            filter.clone(),
            filter_error.clone(),
        );
        let (from_select, partitions_input, typed) = (from_select.clone(), partitions_input.clone(), typed.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let f = match read_filter(&typed()) {
                Ok(f) => f,
                Err(e) => return filter_error.set(Some(e)),
            };
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
            filter.set(f);
            restart.set(*restart + 1);
        })
    };
    // Each keystroke is parsed as the server will, so a mistake shows before it is sent.
    let check_filter = {
        let (filter_error, typed) = (filter_error.clone(), typed.clone());
        Callback::from(move |_: InputEvent| filter_error.set(read_filter(&typed()).err()))
    };
    let save_filter = {
        let (saved, filter_error, typed, topic) = (saved.clone(), filter_error.clone(), typed.clone(), p.name.clone());
        Callback::from(move |_: MouseEvent| match read_filter(&typed()) {
            Ok(Some(f)) => {
                let mut list = (*saved).clone();
                list.retain(|s| s != &f);
                list.push(f);
                save_filters(&topic, &list);
                saved.set(list);
            }
            Ok(None) => filter_error.set(Some("type a filter to save".into())),
            Err(e) => filter_error.set(Some(e)),
        })
    };
    let use_saved = |f: String| {
        let (filter, filter_input, filter_error, restart) =
            (filter.clone(), filter_input.clone(), filter_error.clone(), restart.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(i) = filter_input.cast::<HtmlInputElement>() {
                i.set_value(&f);
            }
            filter_error.set(None);
            filter.set(Some(f.clone()));
            restart.set(*restart + 1);
        })
    };
    let forget_saved = |f: String| {
        let (saved, topic) = (saved.clone(), p.name.clone());
        Callback::from(move |_: MouseEvent| {
            let list: Vec<String> = saved.iter().filter(|s| **s != f).cloned().collect();
            save_filters(&topic, &list);
            saved.set(list);
        })
    };
    let toggle_pause = {
        let (paused, records) = (paused.clone(), stream.records.clone());
        Callback::from(move |_: MouseEvent| {
            paused.set(if paused.is_some() { None } else { Some(records.iter().cloned().collect()) })
        })
    };
    let shown: Vec<RecordView> = match &*paused {
        Some(frozen) => frozen.clone(),
        None => stream.records.iter().cloned().collect(),
    };
    // The file is written when the link is clicked, from what is in view then.
    let download = |jsonl: bool| {
        let shown = shown.clone();
        Callback::from(move |e: MouseEvent| {
            let Some(link) = e.target_dyn_into::<web_sys::Element>() else { return };
            let href = if jsonl {
                data_url("application/x-ndjson", &records_jsonl(&shown))
            } else {
                data_url("text/csv", &records_csv(&shown))
            };
            let _ = link.set_attribute("href", &href);
        })
    };
    let server_export = {
        let mut path = format!("/api/topics/{}/records?from=earliest&limit=10000&format=csv", p.name);
        if let Some(f) = &*filter {
            path.push_str(&format!("&filter={}", js_sys::encode_uri_component(f)));
        }
        http::with_token(&path)
    };
    let can_resend = may_resend(&ctx.lab.who, &p.name);
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
                <label class="grow">{ "Filter " }
                    <input ref={filter_input.clone()} id="stream-filter" oninput={check_filter} spellcheck="false"
                        placeholder={"value.class == \"poisonous\" and value.probability < 0.6"}
                        aria-invalid={filter_error.is_some().to_string()} aria-describedby="filter-help" />
                </label>
                <button type="submit">{ "Apply" }</button>
                <button type="button" id="filter-save" onclick={save_filter}>{ "Save filter" }</button>
                <button type="button" id="stream-pause" aria-pressed={paused.is_some().to_string()} onclick={toggle_pause}>
                    { if paused.is_some() { "Resume" } else { "Pause" } }
                </button>
            </form>
            if let Some(e) = &*form_error { <p class="error" role="alert">{ e }</p> }
            if let Some(e) = &*filter_error { <pre class="error" role="alert" id="filter-error">{ e }</pre> }
            <details id="filter-help"><summary>{ "How to write a filter" }</summary>
                <p>{ "The server sends only the records a filter matches. Compare " }<code>{ "key" }</code>{ ", " }<code>{ "value" }</code>
                   { " (or a field inside it, " }<code>{ "value.class" }</code>{ "), " }<code>{ "headers.NAME" }</code>{ ", " }
                   <code>{ "partition" }</code>{ ", " }<code>{ "offset" }</code>{ " or " }<code>{ "timestamp" }</code>
                   { " with " }<code>{ "== != < <= > >= contains" }</code>{ " and a \"text\", a number, true, false or null; join with " }
                   <code>{ "and" }</code>{ ", " }<code>{ "or" }</code>{ ", " }<code>{ "not" }</code>{ " and parentheses." }</p>
                <ul>
                    <li><code>{ "value.class == \"poisonous\"" }</code></li>
                    <li><code>{ "value.probability < 0.6" }</code></li>
                    <li><code>{ "headers.record_name == \"experiment_started\"" }</code></li>
                    <li><code>{ "key contains \"m-\" and not (partition == 0)" }</code></li>
                </ul>
            </details>
            if !saved.is_empty() {
                <ul id="saved-filters" class="chips" aria-label="saved filters">
                    <li class="label muted">{ "Saved filters:" }</li>
                    { for saved.iter().map(|f| html! { <li data-filter={f.clone()}>
                        <button type="button" class="link" onclick={use_saved(f.clone())}><code>{ f }</code></button>
                        <button type="button" class="link" aria-label={format!("forget {f}")} onclick={forget_saved(f.clone())}>{ "×" }</button>
                    </li> }) }
                </ul>
            }
            <p class="muted" id="stream-counts" aria-live="polite">
                { format!("{} received", stream.received) }
                if filter.is_some() { <span id="filter-counts">{ format!(" · filter matched {} of {} scanned", stream.matched, stream.scanned) }</span> }
                if stream.skipped > 0 { { format!(", {} skipped because the page fell behind", stream.skipped) } }
                if paused.is_some() { { " (paused)" } }
                { " · download what is in view: " }
                <a id="export-jsonl" href="#" download={format!("{}.jsonl", p.name)} onclick={download(true)}>{ "JSON lines" }</a>{ ", " }
                <a id="export-csv" href="#" download={format!("{}.csv", p.name)} onclick={download(false)}>{ "CSV" }</a>
                { " · " }<a id="export-server" href={server_export}>{ "everything stored (CSV, from the server)" }</a>
            </p>
            <table id="stream" class="records">
                <thead><tr>
                    <th scope="col">{ "Partition" }</th><th scope="col">{ "Offset" }</th><th scope="col">{ "Time (UTC)" }</th>
                    <th scope="col">{ "Key" }</th><th scope="col">{ "Headers" }</th><th scope="col">{ "Value" }</th>
                    if can_resend { <th scope="col"><span class="visually-hidden">{ "Actions" }</span></th> }
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
                            if can_resend {
                                <td><button type="button" class="resend" onclick={{
                                    let (resending, r) = (resending.clone(), r.clone());
                                    Callback::from(move |_: MouseEvent| resending.set(Some(r.clone())))
                                }}>{ "Re-send…" }</button></td>
                            }
                        </tr> }
                    }) }
                </tbody>
            </table>
            if let Some(r) = &*resending {
                <ResendForm key={format!("{}-{}", r.partition, r.offset)} record={r.clone()} close={{
                    let resending = resending.clone();
                    Callback::from(move |_| resending.set(None))
                }} />
            }
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

#[derive(Properties, PartialEq)]
struct ResendProps {
    record: RecordView,
    close: Callback<()>,
}

/// The value as it can be edited: JSON and text as they read; other bytes cannot be typed,
/// so they are sent as stored unless replaced.
fn editable(value: &Option<Decoded>) -> Option<String> {
    match value {
        Some(Decoded::Json { json }) => serde_json::to_string(json).ok(),
        Some(Decoded::Text { text }) => Some(text.clone()),
        _ => None,
    }
}

/// Sends one stored record again: to its topic or another, as stored or edited first.
#[function_component(ResendForm)]
fn resend_form(p: &ResendProps) -> Html {
    let r = &p.record;
    let (to, key, value, headers) = (use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref());
    let form = use_node_ref();
    {
        // The form opens below the records: bring it into view, where it can be filled in.
        let form = form.clone();
        use_effect_with(p.record.offset, move |_| {
            if let Some(f) = form.cast::<web_sys::Element>() {
                f.scroll_into_view();
            }
        });
    }
    let result = use_state(|| None::<Result<String, String>>);
    let original_value = editable(&r.value);
    let original_headers: String =
        r.headers.iter().map(|h| format!("{}={}\n", h.key, h.value.clone().unwrap_or_default())).collect();
    let submit = {
        let (to, key, value, headers, result) =
            (to.clone(), key.clone(), value.clone(), headers.clone(), result.clone());
        let (r, original_value, original_headers) = (r.clone(), original_value.clone(), original_headers.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let text = |n: &NodeRef| n.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let area = |n: &NodeRef| n.cast::<HtmlTextAreaElement>().map(|i| i.value()).unwrap_or_default();
            // Only what was changed is sent: the rest goes again byte for byte.
            let (k, v, hs) = (text(&key), area(&value), area(&headers));
            let edit = streamlab_wire::ResendRecord {
                to: Some(text(&to).trim().to_owned()).filter(|t| !t.is_empty() && *t != r.topic),
                key: (Some(&k) != r.key.as_ref()).then_some(k),
                value: original_value.as_ref().map_or(!v.is_empty(), |o| *o != v).then_some(v),
                headers: (hs != original_headers).then(|| {
                    hs.lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| match l.split_once('=') {
                            Some((k, v)) => Header { key: k.trim().into(), value: Some(v.trim().into()) },
                            None => Header { key: l.trim().into(), value: None },
                        })
                        .collect()
                }),
            };
            let path = format!("/api/topics/{}/records/{}/{}/resend", r.topic, r.partition, r.offset);
            let result = result.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let body = serde_json::to_string(&edit).expect("serialises");
                let answer = http::call("POST", &path, Some(body)).await.and_then(|t| {
                    serde_json::from_str::<Resent>(&t)
                        .map(|s| format!("sent to {} partition {} at offset {}", s.topic, s.partition, s.offset))
                        .map_err(|e| e.to_string())
                });
                result.set(Some(answer));
            });
        })
    };
    let close = p.close.clone();
    html! {
        <form id="resend" ref={form} class="stack card" onsubmit={submit} aria-labelledby="resend-title">
            <h3 id="resend-title">{ format!("Re-send partition {} offset {}", r.partition, r.offset) }</h3>
            <p class="muted">{ "What you leave as it is goes again byte for byte; the copy gets a header resent-from." }</p>
            <label>{ "To topic" }<input ref={to} id="resend-to" value={r.topic.clone()} /></label>
            <label>{ "Key" }<input ref={key} id="resend-key" value={r.key.clone().unwrap_or_default()} /></label>
            <label>{ if original_value.is_some() { "Value" } else { "Value (binary: leave empty to send it as stored)" } }
                <textarea ref={value} id="resend-value" rows="4" value={original_value.clone().unwrap_or_default()} /></label>
            <label>{ "Headers (one key=value per line)" }<textarea ref={headers} id="resend-headers" rows="2" value={original_headers} /></label>
            <div class="inline">
                <button type="submit">{ "Send again" }</button>
                <button type="button" onclick={move |_| close.emit(())}>{ "Close" }</button>
            </div>
            { match &*result {
                Some(Ok(m)) => html! { <p class="ok" role="status" id="resend-result">{ m }</p> },
                Some(Err(e)) => html! { <p class="error" role="alert" id="resend-result">{ e }</p> },
                None => html! {},
            } }
        </form>
    }
}
