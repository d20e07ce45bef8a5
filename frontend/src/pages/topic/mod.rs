//! One topic: its live stream (pause, start position, partitions, a filter the server
//! applies, saved filters), downloads of what is in view, re-sending a record, and a produce
//! form.
//!
//! - [`filters`]: the filter box's parsing, saved filters and help.
//! - [`produce`]: the form to produce a record.
//! - [`resend`]: the form to send a stored record again.
//! - [`settings`]: the topic's settings and deleting its oldest records.
//! - [`form`]: reading the forms' fields and header lines.

mod filters;
mod form;
mod produce;
mod resend;
mod settings;

use super::{show_value, time_of};
use crate::hooks::{use_lab, use_tail};
use crate::http;
use filters::FilterHelp;
use produce::ProduceForm;
use resend::ResendForm;
use settings::TopicSettings;
use std::rc::Rc;
use streamlab_wire::export::{records_csv, records_jsonl};
use streamlab_wire::{RecordView, StartPosition};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

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

/// Where the stream starts, from the form: the select's `choice`, the offset typed and the
/// time chosen (ms since the epoch, read as the browser's local time).
fn start_from(choice: &str, offset: &str, time_ms: Option<f64>) -> Result<StartPosition, String> {
    match choice {
        "earliest" => Ok(StartPosition::Earliest),
        "latest" => Ok(StartPosition::Latest),
        "offset" => match offset.trim().parse::<i64>() {
            Ok(offset) if offset >= 0 => Ok(StartPosition::Offset { offset }),
            _ => Err(format!("`{}` is not an offset: a whole number, 0 or more", offset.trim())),
        },
        "time" => match time_ms {
            Some(ms) if ms.is_finite() => Ok(StartPosition::Timestamp { ms: ms as i64 }),
            _ => Err("choose the date and time to start at".into()),
        },
        _ => Ok(StartPosition::Newest { count: 20 }),
    }
}

/// What the live stream shows: where it starts, which partitions, which filter. They change
/// together (Apply) and each change opens a new tail, even when nothing differs, so Apply
/// also restarts the stream.
#[derive(Debug, Clone, PartialEq)]
struct Stream {
    from: StartPosition,
    partitions: Option<Vec<i32>>,
    filter: Option<String>,
    /// Counts the changes: a new value is a new subscription.
    generation: u32,
}

impl Default for Stream {
    fn default() -> Self {
        Stream { from: StartPosition::Newest { count: 20 }, partitions: None, filter: None, generation: 0 }
    }
}

enum StreamChange {
    /// The settings form: a start, partitions (unchanged when they did not parse) and a filter.
    Apply { from: StartPosition, partitions: Option<Option<Vec<i32>>>, filter: Option<String> },
    /// A saved filter chosen.
    Filter(String),
}

impl Reducible for Stream {
    type Action = StreamChange;

    fn reduce(self: Rc<Self>, change: StreamChange) -> Rc<Self> {
        let mut next = (*self).clone();
        match change {
            StreamChange::Apply { from, partitions, filter } => {
                next.from = from;
                if let Some(p) = partitions {
                    next.partitions = p;
                }
                next.filter = filter;
            }
            StreamChange::Filter(f) => next.filter = Some(f),
        }
        next.generation += 1;
        Rc::new(next)
    }
}

#[function_component(Topic)]
pub fn topic(p: &TopicProps) -> Html {
    let ctx = use_lab();
    let settings = use_reducer(Stream::default);
    let paused = use_state(|| None::<Vec<RecordView>>);
    let id = use_tail(
        p.name.to_string(),
        settings.from,
        settings.partitions.clone(),
        settings.filter.clone(),
        settings.generation,
    );
    let stream = ctx.lab.streams.get(&id).cloned().unwrap_or_default();
    let (from_select, partitions_input, filter_input) = (use_node_ref(), use_node_ref(), use_node_ref());
    let (offset_input, time_input) = (use_node_ref(), use_node_ref());
    let choice = use_state(|| "newest".to_owned());
    let choose = {
        let choice = choice.clone();
        Callback::from(move |e: Event| {
            if let Some(select) = e.target_dyn_into::<HtmlSelectElement>() {
                choice.set(select.value());
            }
        })
    };
    let form_error = use_state(|| None::<String>);
    let filter_error = use_state(|| None::<String>);
    let saved = {
        let topic = p.name.to_string();
        use_state(move || filters::saved(&topic))
    };
    let resending = use_state(|| None::<RecordView>);
    let typed = {
        let filter_input = filter_input.clone();
        move || filter_input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default()
    };
    let apply = {
        let (settings, form_error, filter_error) = (settings.clone(), form_error.clone(), filter_error.clone());
        let (from_select, partitions_input, typed) = (from_select.clone(), partitions_input.clone(), typed.clone());
        let (offset_input, time_input) = (offset_input.clone(), time_input.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let filter = match filters::read(&typed()) {
                Ok(f) => f,
                Err(e) => return filter_error.set(Some(e)),
            };
            let choice = from_select.cast::<HtmlSelectElement>().map(|s| s.value()).unwrap_or_default();
            let offset = offset_input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            // A datetime-local value has no zone; Date reads it as the browser's local time.
            let time_ms = time_input
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .filter(|v| !v.is_empty())
                .map(|v| js_sys::Date::new(&v.into()).get_time());
            let from = match start_from(&choice, &offset, time_ms) {
                Ok(from) => from,
                Err(e) => return form_error.set(Some(e)),
            };
            let typed_partitions = partitions_input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let partitions = match parse_partitions(&typed_partitions) {
                Ok(ps) => {
                    form_error.set(None);
                    Some(ps)
                }
                Err(e) => {
                    form_error.set(Some(e));
                    None
                }
            };
            settings.dispatch(StreamChange::Apply { from, partitions, filter });
        })
    };
    // Each keystroke is parsed as the server will, so a mistake shows before it is sent.
    let check_filter = {
        let (filter_error, typed) = (filter_error.clone(), typed.clone());
        Callback::from(move |_: InputEvent| filter_error.set(filters::read(&typed()).err()))
    };
    let save_filter = {
        let (saved, filter_error, typed, topic) = (saved.clone(), filter_error.clone(), typed.clone(), p.name.clone());
        Callback::from(move |_: MouseEvent| match filters::read(&typed()) {
            Ok(Some(f)) => {
                let mut list = (*saved).clone();
                list.retain(|s| s != &f);
                list.push(f);
                filters::save(&topic, &list);
                saved.set(list);
            }
            Ok(None) => filter_error.set(Some("type a filter to save".into())),
            Err(e) => filter_error.set(Some(e)),
        })
    };
    let use_saved = |f: String| {
        let (settings, filter_input, filter_error) = (settings.clone(), filter_input.clone(), filter_error.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(i) = filter_input.cast::<HtmlInputElement>() {
                i.set_value(&f);
            }
            filter_error.set(None);
            settings.dispatch(StreamChange::Filter(f.clone()));
        })
    };
    let forget_saved = |f: String| {
        let (saved, topic) = (saved.clone(), p.name.clone());
        Callback::from(move |_: MouseEvent| {
            let list: Vec<String> = saved.iter().filter(|s| **s != f).cloned().collect();
            filters::save(&topic, &list);
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
        if let Some(f) = &settings.filter {
            path.push_str(&format!("&filter={}", js_sys::encode_uri_component(f)));
        }
        http::with_token(&path)
    };
    let can_resend = ctx.lab.who.may_change(&p.name);
    html! {
        <section aria-labelledby="topic-title">
            <h2 id="topic-title">{ "Topic " }<code>{ &p.name }</code></h2>
            <form class="inline" onsubmit={apply} aria-label="stream settings">
                <label>{ "Start at " }
                    <select ref={from_select} id="stream-from" onchange={choose}>
                        <option value="newest" selected=true>{ "the newest 20 per partition" }</option>
                        <option value="earliest">{ "the earliest record" }</option>
                        <option value="latest">{ "new records only" }</option>
                        <option value="offset">{ "an offset, in each partition shown" }</option>
                        <option value="time">{ "a time" }</option>
                    </select>
                </label>
                if *choice == "offset" {
                    <label>{ "Offset " }<input ref={offset_input} id="stream-offset" type="number" min="0" step="1" value="1"
                        title="rpk topic consume --offset N; with Partitions 0: partition 0 from offset N" /></label>
                }
                if *choice == "time" {
                    <label>{ "Time " }<input ref={time_input} id="stream-time" type="datetime-local" step="1"
                        title="the first record at or after this time, in each partition shown" /></label>
                }
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
            <FilterHelp />
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
                if settings.filter.is_some() { <span id="filter-counts">{ format!(" · filter matched {} of {} scanned", stream.matched, stream.scanned) }</span> }
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
            <TopicSettings topic={p.name.to_string()} may_change={can_resend} />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_is_read_from_the_form_with_clear_mistakes() {
        assert_eq!(start_from("offset", " 1 ", None), Ok(StartPosition::Offset { offset: 1 }));
        assert_eq!(
            start_from("time", "", Some(1_700_000_000_000.0)),
            Ok(StartPosition::Timestamp { ms: 1_700_000_000_000 })
        );
        assert_eq!(start_from("newest", "x", None), Ok(StartPosition::Newest { count: 20 }));
        assert_eq!(start_from("offset", "-1", None), Err("`-1` is not an offset: a whole number, 0 or more".into()));
        assert!(start_from("offset", "", None).is_err());
        assert_eq!(start_from("time", "", Some(f64::NAN)), Err("choose the date and time to start at".into()));
        assert!(start_from("time", "", None).is_err());
    }

    #[test]
    fn apply_changes_the_stream_together_and_keeps_partitions_that_did_not_parse() {
        let s = Rc::new(Stream::default());
        let s = s.reduce(StreamChange::Apply {
            from: StartPosition::Earliest,
            partitions: Some(Some(vec![0, 2])),
            filter: Some("key == \"a\"".into()),
        });
        assert_eq!((s.from, s.partitions.clone(), s.generation), (StartPosition::Earliest, Some(vec![0, 2]), 1));
        let s = s.reduce(StreamChange::Apply { from: StartPosition::Latest, partitions: None, filter: None });
        assert_eq!((s.partitions.clone(), s.filter.clone(), s.generation), (Some(vec![0, 2]), None, 2));
        let s = s.reduce(StreamChange::Filter("value.x > 1".into()));
        assert_eq!((s.filter.as_deref(), s.from, s.generation), (Some("value.x > 1"), StartPosition::Latest, 3));
    }
}
