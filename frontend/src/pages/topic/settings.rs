//! The topic page's settings: what the topic is set to and what each setting means, changed
//! a key at a time, and its oldest records deleted below an offset. Changing either is
//! guarded as deleting the topic is (the server decides; the page asks first).

use super::form::input;
use crate::hooks::use_every;
use crate::http;
use streamlab_wire::{AlterTopicConfigs, Replication, TopicConfig, TopicConfigs, TrimPrefix, Trimmed};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct SettingsProps {
    pub topic: String,
    /// Whether the caller may change the topic (the server checks again).
    pub may_change: bool,
}

/// The settings worth showing: those set on the topic, and those the course teaches (Kafka
/// describes some forty; the embedded broker only the ones set).
fn shown(c: &TopicConfig) -> bool {
    c.source == "DYNAMIC_TOPIC_CONFIG" || c.meaning.is_some()
}

fn ask(question: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(false)
}

#[function_component(TopicSettings)]
pub fn topic_settings(p: &SettingsProps) -> Html {
    let configs = use_state(|| None::<Result<TopicConfigs, String>>);
    let result = use_state(|| None::<Result<String, String>>);
    let (key, value, partition, offset) = (use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref());
    {
        // Read again every ten seconds: a broker going away shows here without a reload.
        let (configs, topic) = (configs.clone(), p.topic.clone());
        use_every(
            10_000,
            p.topic.clone(),
            std::rc::Rc::new(move || {
                let (configs, topic) = (configs.clone(), topic.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    configs.set(Some(http::get::<TopicConfigs>(&format!("/api/topics/{topic}/configs")).await));
                });
            }),
        );
    }
    let change = {
        let (configs, result, topic) = (configs.clone(), result.clone(), p.topic.clone());
        Callback::from(move |(change, done): (AlterTopicConfigs, String)| {
            let (configs, result, topic) = (configs.clone(), result.clone(), topic.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let body = serde_json::to_string(&change).expect("serialises");
                match http::call("PATCH", &format!("/api/topics/{topic}/configs"), Some(body)).await {
                    Ok(text) => {
                        if let Ok(now) = serde_json::from_str::<TopicConfigs>(&text) {
                            configs.set(Some(Ok(now)));
                        }
                        result.set(Some(Ok(done)));
                    }
                    Err(e) => result.set(Some(Err(e))),
                }
            });
        })
    };
    let set = {
        let (key, value, change) = (key.clone(), value.clone(), change.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (k, v) = (input(&key).trim().to_owned(), input(&value).trim().to_owned());
            let mut alter = AlterTopicConfigs::default();
            alter.set.insert(k.clone(), v.clone());
            change.emit((alter, format!("{k} is now {v}")));
        })
    };
    let reset = |name: String| {
        let (change, topic) = (change.clone(), p.topic.clone());
        Callback::from(move |_: MouseEvent| {
            if ask(&format!("Return {name} of {topic} to the broker's default?")) {
                let alter = AlterTopicConfigs { delete: vec![name.clone()], ..Default::default() };
                change.emit((alter, format!("{name} is back to the broker's default")));
            }
        })
    };
    let trim = {
        let (partition, offset, result, topic) = (partition.clone(), offset.clone(), result.clone(), p.topic.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (Ok(partition), Ok(offset)) =
                (input(&partition).trim().parse::<i32>(), input(&offset).trim().parse::<i64>())
            else {
                result.set(Some(Err("a partition and an offset, both whole numbers".into())));
                return;
            };
            if !ask(&format!(
                "Delete the records of {topic} partition {partition} below offset {offset}? They cannot be brought back."
            )) {
                return;
            }
            let (result, topic) = (result.clone(), topic.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let body = serde_json::to_string(&TrimPrefix { partition, offset }).expect("serialises");
                let answer = http::call("POST", &format!("/api/topics/{topic}/trim"), Some(body)).await;
                result.set(Some(answer.map(|text| match serde_json::from_str::<Trimmed>(&text) {
                    Ok(t) => format!("partition {} now starts at offset {}", t.partition, t.log_start_offset),
                    Err(_) => "deleted".to_owned(),
                })));
            });
        })
    };
    html! {
        <section aria-labelledby="settings-title" id="topic-settings">
            <h3 id="settings-title">{ "Settings" }</h3>
            { match &*configs {
                None => html! { <p class="muted">{ "reading the settings…" }</p> },
                Some(Err(e)) => html! { <p class="error" role="alert">{ e }</p> },
                Some(Ok(c)) => html! { <>
                    <table id="settings">
                        <thead><tr>
                            <th scope="col">{ "Setting" }</th><th scope="col">{ "Value" }</th>
                            <th scope="col">{ "Where from" }</th><th scope="col">{ "What it does" }</th>
                            <th scope="col"><span class="sr-only">{ "Actions" }</span></th>
                        </tr></thead>
                        <tbody>
                            { for c.configs.iter().filter(|c| shown(c)).map(|c| html! {
                                <tr data-setting={c.name.clone()}>
                                    <td><code>{ &c.name }</code></td>
                                    <td class="value">{ c.value.clone().unwrap_or_else(|| "(hidden)".into()) }</td>
                                    <td class="muted">{ if c.source == "DYNAMIC_TOPIC_CONFIG" { "set on this topic" } else { "the broker's default" } }</td>
                                    <td>
                                        { c.meaning.clone().unwrap_or_default() }
                                        if let Some(effect) = &c.effect { <p class="warning effect">{ effect }</p> }
                                    </td>
                                    <td>
                                        if p.may_change && c.source == "DYNAMIC_TOPIC_CONFIG" && !c.read_only {
                                            <button type="button" class="link" onclick={reset(c.name.clone())}
                                                aria-label={format!("return {} to the default", c.name)}>{ "Reset" }</button>
                                        }
                                    </td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                    if let Some(r) = &c.replication { { replication(r) } }
                </> },
            } }
            if p.may_change {
                <form class="inline" id="setting-form" onsubmit={set} aria-label="change a setting">
                    <label>{ "Setting " }<input ref={key} id="setting-key" list="setting-keys" required=true placeholder="retention.ms" /></label>
                    <datalist id="setting-keys">
                        { for ["cleanup.policy", "retention.ms", "retention.bytes", "segment.ms", "segment.bytes", "min.insync.replicas", "max.message.bytes"]
                            .iter().map(|k| html! { <option value={*k} /> }) }
                    </datalist>
                    <label>{ "Value " }<input ref={value} id="setting-value" required=true placeholder="60000" /></label>
                    <button type="submit">{ "Set" }</button>
                </form>
                <form class="inline" id="trim-form" onsubmit={trim} aria-label="delete records below an offset">
                    <label>{ "Delete the records of partition " }<input ref={partition} id="trim-partition" type="number" min="0" step="1" value="0" /></label>
                    <label>{ " below offset " }<input ref={offset} id="trim-offset" type="number" min="0" step="1" /></label>
                    <button type="submit" class="danger">{ "Delete records" }</button>
                </form>
            }
            if let Some(r) = &*result {
                { match r {
                    Ok(m) => html! { <p class="ok" role="status" id="settings-result">{ m }</p> },
                    Err(e) => html! { <p class="error" role="alert" id="settings-result">{ e }</p> },
                } }
            }
        </section>
    }
}

/// Where the copies are and which are in sync, with what is wrong said first; nothing for a
/// topic with one copy and nothing wrong (every topic of the embedded broker).
fn replication(r: &Replication) -> Html {
    if r.problems.is_empty() && r.partitions.iter().all(|p| p.replicas.len() <= 1) {
        return html! {};
    }
    let ids = |v: &[i32]| v.iter().map(i32::to_string).collect::<Vec<_>>().join(", ");
    html! {
        <div id="replication">
            <h4>{ "Copies" }</h4>
            { for r.problems.iter().map(|m| html! { <p class="warning" role="status">{ m }</p> }) }
            if r.problems.is_empty() {
                <p class="ok">{ "Every copy is in sync." }</p>
            }
            <table>
                <thead><tr>
                    <th scope="col">{ "Partition" }</th><th scope="col">{ "Leader" }</th>
                    <th scope="col">{ "Copies on brokers" }</th><th scope="col">{ "In sync" }</th>
                </tr></thead>
                <tbody>
                    { for r.partitions.iter().map(|p| html! {
                        <tr data-partition={p.partition.to_string()}
                            class={classes!((p.in_sync.len() < p.replicas.len()).then_some("short"))}>
                            <td>{ p.partition }</td>
                            <td>{ if p.leader < 0 { "none".to_owned() } else { p.leader.to_string() } }</td>
                            <td>{ ids(&p.replicas) }</td>
                            <td>{ ids(&p.in_sync) }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}
