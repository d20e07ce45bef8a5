//! All topics: partitions, messages, a rate sparkline; create and delete.

use crate::chart::{Sparkline, format_number};
use crate::hooks::use_lab;
use crate::http;
use streamlab_wire::CreateTopic;
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[function_component(Topics)]
pub fn topics() -> Html {
    let ctx = use_lab();
    let lab = &*ctx.lab;
    let (name, partitions) = (use_node_ref(), use_node_ref());
    let message = use_state(|| None::<Result<String, String>>);
    let create = {
        let (name, partitions, message) = (name.clone(), partitions.clone(), message.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let n = name.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let p = partitions.cast::<HtmlInputElement>().and_then(|i| i.value().parse().ok()).unwrap_or(1);
            let message = message.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let body = serde_json::to_string(&CreateTopic {
                    name: n.clone(),
                    partitions: p,
                    replicas: None,
                    configs: Default::default(),
                })
                .expect("serialises");
                message.set(Some(http::call("POST", "/api/topics", Some(body)).await.map(|_| format!("created {n}"))));
            });
        })
    };
    let delete = {
        let message = message.clone();
        Callback::from(move |topic: String| {
            let sure = web_sys::window()
                .and_then(|w| w.confirm_with_message(&format!("Delete topic {topic} and all its records?")).ok())
                .unwrap_or(false);
            if !sure {
                return;
            }
            let message = message.clone();
            wasm_bindgen_futures::spawn_local(async move {
                message.set(Some(
                    http::call("DELETE", &format!("/api/topics/{topic}"), None)
                        .await
                        .map(|_| format!("deleted {topic}")),
                ));
            });
        })
    };
    html! {
        <section aria-labelledby="topics-title">
            <h2 id="topics-title">{ "Topics" }</h2>
            <table id="topics">
                <thead><tr>
                    <th scope="col">{ "Topic" }</th><th scope="col">{ "Partitions" }</th><th scope="col">{ "Messages" }</th>
                    <th scope="col">{ "Messages/s" }</th><th scope="col">{ "Last 60 s" }</th><th scope="col"><span class="sr-only">{ "Actions" }</span></th>
                </tr></thead>
                <tbody>
                    { for lab.topics.iter().map(|t| {
                        let points: Vec<Option<f64>> = lab.history.iter().rev().take(60).rev().map(|s| s.topics.get(&t.name).copied().flatten()).collect();
                        let name = t.name.clone();
                        let on_delete = { let delete = delete.clone(); let name = name.clone(); Callback::from(move |_: MouseEvent| delete.emit(name.clone())) };
                        html! { <tr data-topic={t.name.clone()}>
                            <td><a href={format!("#/topic/{}", t.name)}>{ &t.name }</a></td>
                            <td>{ t.partitions.len() }</td>
                            <td>{ t.messages }</td>
                            <td>{ lab.rate(&t.name).map_or("–".into(), format_number) }</td>
                            <td><Sparkline points={points} label={format!("messages per second of {} over the last minute", t.name)} /></td>
                            <td><button class="danger" onclick={on_delete} aria-label={format!("delete topic {name}")}>{ "Delete" }</button></td>
                        </tr> }
                    }) }
                </tbody>
            </table>
            <h3>{ "Create a topic" }</h3>
            <form class="inline" onsubmit={create} id="create-topic">
                <label>{ "Name " }<input ref={name} name="name" required=true pattern="[A-Za-z0-9._-]{1,249}" /></label>
                <label>{ "Partitions " }<input ref={partitions} name="partitions" type="number" min="1" max="1000" value="1" /></label>
                <button type="submit">{ "Create" }</button>
            </form>
            { match &*message {
                Some(Ok(m)) => html! { <p class="ok" role="status">{ m }</p> },
                Some(Err(e)) => html! { <p class="error" role="alert">{ e }</p> },
                None => html! {},
            } }
        </section>
    }
}
