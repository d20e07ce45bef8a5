//! The topic page's form to produce one record: key, value, headers and partition.

use super::form::{area, header_lines, input};
use crate::http;
use streamlab_wire::{ProduceRecord, Produced};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ProduceProps {
    pub topic: AttrValue,
}

#[function_component(ProduceForm)]
pub fn produce_form(p: &ProduceProps) -> Html {
    let (key, value, headers, partition) = (use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref());
    let result = use_state(|| None::<Result<String, String>>);
    let submit = {
        let (key, value, headers, partition, result, topic) =
            (key.clone(), value.clone(), headers.clone(), partition.clone(), result.clone(), p.topic.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let k = input(&key);
            let part = input(&partition);
            let record = ProduceRecord {
                key: (!k.is_empty()).then_some(k),
                value: area(&value),
                headers: header_lines(&area(&headers)),
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
