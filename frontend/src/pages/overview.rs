//! The first page: broker, lab topics and their rates, the model and the generator switch,
//! how to connect a client of one's own, and the doctor for when nothing arrives.

use crate::chart::format_number;
use crate::hooks::use_lab;
use crate::http;
use streamlab_wire::{DoctorCheck, GeneratorControl, ModelSummary, topics};
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[function_component(Overview)]
pub fn overview() -> Html {
    let ctx = use_lab();
    let lab = &*ctx.lab;
    let model = use_state(|| None::<ModelSummary>);
    {
        let model = model.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(m) = http::get::<ModelSummary>("/api/model").await {
                    model.set(Some(m));
                }
            });
        });
    }
    let broker = match &lab.brokers {
        Some((b, true)) => format!("{b} (embedded)"),
        Some((b, false)) => b.clone(),
        None => "…".to_owned(),
    };
    let running = lab.inference.as_ref().is_some_and(|i| i.running);
    html! {
        <section aria-labelledby="overview-title">
            <h2 id="overview-title">{ "Overview" }</h2>
            <div class="cards">
                <div class="card">
                    <h3>{ "Broker" }</h3>
                    <p><code id="broker">{ broker }</code></p>
                    <p class="muted">{ format!("{} topics", lab.topics.len()) }</p>
                    if let Some(s) = &lab.storage {
                        <p class="muted" id="broker-storage" title="what a topic keeps unless it sets retention.ms or retention.bytes">
                            { format!("holds {} records, {} {}; keeps {}", format_number(s.records as f64), bytes(s.bytes),
                                if s.on_disk { "on disk" } else { "in memory" }, s.kept) }
                        </p>
                    }
                </div>
                <div class="card">
                    <h3>{ "Inference" }</h3>
                    <p id="inference-state" class={if running { "ok" } else { "muted" }}>{ if running { "running" } else { "not running" } }</p>
                    if let Some(i) = &lab.inference {
                        <p class="muted">{ format!("{} requests, {} predictions/s", i.requests, i.predictions_per_s.map_or("–".into(), format_number)) }</p>
                    }
                </div>
                <Generator />
            </div>
            <h3>{ "Lab topics" }</h3>
            <table id="lab-topics">
                <thead><tr><th scope="col">{ "Topic" }</th><th scope="col">{ "Messages" }</th><th scope="col">{ "Messages/s" }</th></tr></thead>
                <tbody>
                    { for topics::ALL.iter().map(|name| {
                        let t = lab.topics.iter().find(|t| t.name == *name);
                        html! { <tr data-topic={*name}>
                            <td><a href={format!("#/topic/{name}")}>{ *name }</a></td>
                            <td>{ t.map_or("–".into(), |t| t.messages.to_string()) }</td>
                            <td>{ lab.rate(name).map_or("–".into(), format_number) }</td>
                        </tr> }
                    }) }
                </tbody>
            </table>
            <Connect />
            if let Some(m) = &*model { <ModelCard model={m.clone()} /> }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ModelCardProps {
    model: ModelSummary,
}

#[function_component(ModelCard)]
fn model_card(p: &ModelCardProps) -> Html {
    let m = &p.model;
    let pct = |v: f64| format!("{:.2} %", v * 100.0);
    html! {
        <div class="card model" id="model-card">
            <h3>{ "Model " }<code>{ &m.version }</code></h3>
            <p class="muted">{ format!("{}; trained on {} rows, tested on {} held-out rows", m.algorithm, m.train_rows, m.test_rows) }</p>
            <dl class="metrics">
                <dt>{ "accuracy" }</dt><dd id="model-accuracy">{ pct(m.accuracy) }</dd>
                <dt>{ "precision (poisonous)" }</dt><dd>{ pct(m.precision) }</dd>
                <dt>{ "recall (poisonous)" }</dt><dd>{ pct(m.recall) }</dd>
                <dt>{ "5-fold cross-validation" }</dt><dd>{ format!("{} ± {}", pct(m.cv_mean), pct(m.cv_std)) }</dd>
            </dl>
            <table class="confusion" aria-label="confusion matrix: predicted class by actual class">
                <thead><tr><th></th><th scope="col">{ "actually poisonous" }</th><th scope="col">{ "actually edible" }</th></tr></thead>
                <tbody>
                    <tr><th scope="row">{ "predicted poisonous" }</th><td class="hit">{ m.confusion[0][0] }</td><td class="miss">{ m.confusion[0][1] }</td></tr>
                    <tr><th scope="row">{ "predicted edible" }</th><td class="miss">{ m.confusion[1][0] }</td><td class="hit">{ m.confusion[1][1] }</td></tr>
                </tbody>
            </table>
        </div>
    }
}

/// The built-in request generator's switch: predictions flow in one click.
#[function_component(Generator)]
pub fn generator() -> Html {
    let ctx = use_lab();
    let status = ctx.lab.generator.clone().unwrap_or_default();
    let rate_input = use_node_ref();
    let error = use_state(|| None::<String>);
    let send = {
        let (rate_input, error) = (rate_input.clone(), error.clone());
        move |running: bool| {
            let rate = rate_input.cast::<HtmlInputElement>().and_then(|i| i.value().parse::<f64>().ok());
            let error = error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let body = serde_json::to_string(&GeneratorControl { running, rate }).expect("serialises");
                match http::call("POST", "/api/generator", Some(body)).await {
                    Ok(_) => error.set(None),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let toggle = {
        let (send, running) = (send.clone(), status.running);
        Callback::from(move |_: MouseEvent| send(!running))
    };
    let apply = Callback::from(move |e: SubmitEvent| {
        e.prevent_default();
        send(true)
    });
    let sent = format!(
        "{} requests sent to {}",
        status.sent,
        if status.topic.is_empty() { topics::REQUESTS } else { &status.topic }
    );
    if !ctx.lab.who.is_teacher() {
        // The switch changes what everyone sees: only the teacher (or the lab's machine) has it.
        return html! {
            <div class="card">
                <h3>{ "Request generator" }</h3>
                <p id="generator-state">{ if status.running { format!("on, {} /s", status.rate) } else { "off".to_owned() } }</p>
                <p class="muted">{ sent }{ ". The teacher switches it." }</p>
            </div>
        };
    }
    html! {
        <div class="card">
            <h3>{ "Request generator" }</h3>
            <form class="inline" onsubmit={apply}>
                <button type="button" id="generator-toggle" role="switch" aria-checked={status.running.to_string()} onclick={toggle}>
                    { if status.running { "On" } else { "Off" } }
                </button>
                <label>{ "rate " }<input id="generator-rate" ref={rate_input} type="number" min="1" max="20000" step="1" value={status.rate.to_string()} aria-label="requests per second" />{ " /s" }</label>
                <button type="submit">{ "Apply" }</button>
            </form>
            <p class="muted">{ sent }</p>
            if let Some(e) = &*error { <p class="error" role="alert">{ e }</p> }
        </div>
    }
}

/// A ready consumer for the prediction topic, in the course's client library; on a cluster
/// whose clients sign in (`sasl` names the mechanism), as `user` with her class token.
fn python_snippet(bootstrap: &str, group: &str, sasl: Option<(&str, &str)>) -> String {
    let sign_in = match sasl {
        Some((mechanism, user)) => format!(
            "security_protocol=\"SASL_PLAINTEXT\",\n    sasl_mechanism=\"{mechanism}\",\n    \
             sasl_plain_username=\"{user}\",\n    sasl_plain_password=\"YOUR_CLASS_TOKEN\",\n    "
        ),
        None => String::new(),
    };
    format!(
        "from kafka import KafkaConsumer\n\n\
         consumer = KafkaConsumer(\n    \"{}\",\n    bootstrap_servers=\"{bootstrap}\",\n    {sign_in}\
         group_id=\"{group}\",\n    auto_offset_reset=\"earliest\",\n    \
         # the lab's broker holds an empty fetch this long: 20 ms, not 500, keeps records quick\n    \
         fetch_max_wait_ms=20,\n)\n\
         for record in consumer:\n    print(record.key, record.value)\n",
        topics::PREDICTIONS
    )
}

/// How to connect a program of one's own to the broker, and the doctor when nothing arrives.
#[function_component(Connect)]
fn connect() -> Html {
    let ctx = use_lab();
    let lab = &*ctx.lab;
    let Some((bootstrap, _)) = &lab.brokers else { return html! {} };
    let group = match &lab.who.student {
        Some(s) => format!("{s}.predictions-reader"),
        None => "predictions-reader".to_owned(),
    };
    let sasl = lab.sasl.as_deref().map(|m| (m, lab.who.student.as_deref().unwrap_or("YOUR_NAME")));
    html! {
        <div class="cards">
            <div class="card connect" id="connect">
                <h3>{ "Connect a client" }</h3>
                <p>{ "Bootstrap servers: " }<code id="bootstrap">{ bootstrap }</code></p>
                if !lab.reachable {
                    <p class="warn" id="not-reachable">
                        { "Only programs on the lab's own machine can reach this broker. For a class on the network, \
                           start the lab with " }<code>{ "./lab run --public HOST" }</code>
                        { ", HOST being how the students' machines reach it (its IP address or name)." }
                    </p>
                }
                if let Some(mechanism) = &lab.sasl {
                    <p id="connect-sign-in">{ format!("This cluster wants clients to sign in ({mechanism}): as your name, with your class token as password.") }</p>
                }
                <pre id="python-snippet"><code>{ python_snippet(bootstrap, &group, sasl) }</code></pre>
                <p>{ "The exercises are solved in Python with kafka-python and fastavro; install them with " }
                    <code id="python-install">{ streamlab_wire::PYTHON_INSTALL }</code>
                    { ", and " }<code>{ "streamlab doctor" }</code>{ " checks that they import and reach the broker." }</p>
                <p class="muted">{ "The same address works for confluent-kafka ('bootstrap.servers')." }</p>
            </div>
            <Doctor />
        </div>
    }
}

/// `streamlab doctor` in the page: the checks a student needs when nothing arrives.
#[function_component(Doctor)]
fn doctor() -> Html {
    let checks = use_state(|| None::<Result<Vec<DoctorCheck>, String>>);
    let running = use_state(|| false);
    let (group, topic) = (use_node_ref(), use_node_ref());
    let submit = {
        let (checks, running, group, topic) = (checks.clone(), running.clone(), group.clone(), topic.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let value =
                |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value().trim().to_owned()).unwrap_or_default();
            let mut query = Vec::new();
            for (key, v) in [("group", value(&group)), ("topic", value(&topic))] {
                if !v.is_empty() {
                    query.push(format!("{key}={}", js_sys::encode_uri_component(&v)));
                }
            }
            let path =
                if query.is_empty() { "/api/doctor".to_owned() } else { format!("/api/doctor?{}", query.join("&")) };
            let (checks, running) = (checks.clone(), running.clone());
            running.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                checks.set(Some(http::get::<Vec<DoctorCheck>>(&path).await));
                running.set(false);
            });
        })
    };
    html! {
        <div class="card doctor" id="doctor">
            <h3>{ "Nothing arrives?" }</h3>
            <form class="inline" onsubmit={submit}>
                <label>{ "group " }<input id="doctor-group" ref={group} placeholder="my-group" /></label>
                <label>{ "topic " }<input id="doctor-topic" ref={topic} placeholder="mushroom_prediction" /></label>
                <button type="submit" disabled={*running}>{ if *running { "checking…" } else { "Check" } }</button>
            </form>
            { match &*checks {
                None => html! { <p class="muted">{ "Checks the broker as your client sees it, and a group's offsets (streamlab doctor)." }</p> },
                Some(Err(e)) => html! { <p class="error" role="alert">{ e }</p> },
                Some(Ok(list)) => html! {
                    <ol id="doctor-checks" aria-live="polite">
                        { for list.iter().map(|c| html! {
                            <li class={if c.ok { "ok" } else { "fail" }} data-check={c.name.clone()}>
                                <span class="mark" aria-hidden="true">{ if c.ok { "✓ " } else { "✗ " } }</span>
                                <strong>{ &c.name }</strong>{ ": " }{ &c.detail }
                                if let Some(f) = &c.fix { <p class="fix">{ "→ " }{ f }</p> }
                            </li>
                        }) }
                    </ol>
                },
            } }
        </div>
    }
}

/// A size in the unit that reads best.
fn bytes(n: u64) -> String {
    match n {
        n if n >= 10 << 30 => format!("{} GiB", n >> 30),
        n if n >= 10 << 20 => format!("{} MiB", n >> 20),
        n if n >= 10 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}
