//! The topic page's form to send one stored record again: to its topic or another, as
//! stored or edited first.

use super::form::{area, as_lines, header_lines, input};
use crate::http;
use streamlab_wire::{Decoded, RecordView, Resent};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ResendProps {
    pub record: RecordView,
    pub close: Callback<()>,
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
pub fn resend_form(p: &ResendProps) -> Html {
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
    let original_headers = as_lines(&r.headers);
    let submit = {
        let (to, key, value, headers, result) =
            (to.clone(), key.clone(), value.clone(), headers.clone(), result.clone());
        let (r, original_value, original_headers) = (r.clone(), original_value.clone(), original_headers.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            // Only what was changed is sent: the rest goes again byte for byte.
            let (k, v, hs) = (input(&key), area(&value), area(&headers));
            let edit = streamlab_wire::ResendRecord {
                to: Some(input(&to).trim().to_owned()).filter(|t| !t.is_empty() && *t != r.topic),
                key: (Some(&k) != r.key.as_ref()).then_some(k),
                value: original_value.as_ref().map_or(!v.is_empty(), |o| *o != v).then_some(v),
                headers: (hs != original_headers).then(|| header_lines(&hs)),
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
