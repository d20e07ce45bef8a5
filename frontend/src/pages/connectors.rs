//! Kafka Connect beside the lab: the worker, its connectors and their tasks, a failed one's
//! Java trace, and a sink's consumer group with its lag (the groups page has it over time).
//! Read from the worker every few seconds through the lab (`GET /api/connect`); connectors
//! are posted with `curl`, as the course does.

use crate::hooks::{use_lab, use_polled};
use streamlab_wire::{ConnectView, ConnectorView};
use yew::prelude::*;

/// What the course posts first (seed 003 exercise 7), with a file in place of HDFS.
const EXAMPLE: &str = r#"curl -X POST http://127.0.0.1:8083/connectors \
  -H 'Content-Type: application/json' \
  -d '{"name": "hdfs-sink", "config": {"connector.class": "FileStreamSink", "tasks.max": "1",
       "topics": "INGESTION", "file": "/tmp/hdfs-sink.txt",
       "value.converter": "org.apache.kafka.connect.json.JsonConverter",
       "value.converter.schemas.enable": "false"}}'"#;

#[function_component(Connectors)]
pub fn connectors() -> Html {
    let view = use_polled::<ConnectView>("/api/connect", 3_000);
    // A sink's group is one of the groups the lab samples each second: its lag comes live.
    let ctx = use_lab();
    let lags: Vec<(String, i64)> = ctx.lab.groups.iter().map(|g| (g.group.clone(), g.total_lag())).collect();
    let body = match &*view {
        None => html! { <p class="muted">{ "asking the worker…" }</p> },
        Some(Err(e)) => html! { <p class="error" role="alert">{ e }</p> },
        Some(Ok(v)) => worker(v, &lags),
    };
    html! {
        <section aria-labelledby="connectors-title" class="connectors">
            <h2 id="connectors-title">{ "Connectors" }</h2>
            { body }
        </section>
    }
}

fn worker(v: &ConnectView, lags: &[(String, i64)]) -> Html {
    if let Some(e) = &v.error {
        return html! { <>
            <p class="error" id="connect-error">{ e }</p>
            <p class="muted">{ "Start a worker beside the lab, then post a connector to it:" }</p>
            <pre class="example"><code>{ "./lab connect start\n\n" }{ EXAMPLE }</code></pre>
        </> };
    }
    html! { <>
        <p class="muted" id="connect-worker">{ format!("Kafka Connect {} at {}", v.version.as_deref().unwrap_or("?"), v.url) }</p>
        if v.connectors.is_empty() {
            <p class="muted">{ "No connector yet. Post one with curl:" }</p>
            <pre class="example"><code>{ EXAMPLE }</code></pre>
        }
        { for v.connectors.iter().map(|c| connector(c, lags)) }
    </> }
}

fn connector(c: &ConnectorView, lags: &[(String, i64)]) -> Html {
    let lag = c.group.as_ref().and_then(|g| lags.iter().find(|(name, _)| name == g).map(|(_, lag)| *lag));
    let running = c.tasks.iter().filter(|t| t.state == "RUNNING").count();
    html! {
        <article class="card connector" data-connector={c.name.clone()} data-state={c.state.clone()}>
            <h3>{ &c.name }{ " " }<span class={classes!("badge", state_class(&c.state))}>{ &c.state }</span></h3>
            <dl class="facts">
                <dt>{ "Kind" }</dt><dd>{ &c.kind }</dd>
                <dt>{ "Class" }</dt><dd><code>{ &c.class }</code></dd>
                <dt>{ if c.kind == "source" { "Writes" } else { "Reads" } }</dt><dd>{ c.topics.clone().unwrap_or_else(|| "–".into()) }</dd>
                <dt>{ "Tasks" }</dt><dd class="tasks">{ format!("{running} of {} running", c.tasks.len()) }</dd>
                if let Some(g) = &c.group {
                    <dt>{ "Group" }</dt>
                    <dd class="group"><a href="#/groups">{ g }</a>{ lag.map(|l| format!(", total lag {l}")).unwrap_or_else(|| ", no offsets committed yet".into()) }</dd>
                }
            </dl>
            if let Some(t) = &c.trace { { trace("connector", t) } }
            <table class="tasks">
                <thead><tr><th scope="col">{ "Task" }</th><th scope="col">{ "State" }</th><th scope="col">{ "Worker" }</th></tr></thead>
                <tbody>
                    { for c.tasks.iter().map(|t| html! {
                        <tr data-task={t.id.to_string()} data-state={t.state.clone()}>
                            <td>{ t.id }</td>
                            <td><span class={classes!("badge", state_class(&t.state))}>{ &t.state }</span>
                                if let Some(tr) = &t.trace { { trace(&format!("task {}", t.id), tr) } }</td>
                            <td>{ &t.worker }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </article>
    }
}

/// A Java trace, folded: its first line says what went wrong.
fn trace(what: &str, t: &str) -> Html {
    let first = t.lines().next().unwrap_or_default().to_owned();
    html! {
        <details class="trace">
            <summary>{ format!("{what} failed: {first}") }</summary>
            <pre>{ t }</pre>
        </details>
    }
}

fn state_class(state: &str) -> &'static str {
    match state {
        "RUNNING" => "stable",
        "FAILED" => "growing",
        _ => "empty",
    }
}
