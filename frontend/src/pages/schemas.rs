//! The Schema Registry the lab serves: each subject with its compatibility level and its
//! versions side by side, each with what changed from the one before (fields added, removed
//! or changed, with their types and defaults). Read every few seconds through the lab
//! (`GET /api/schemas`); schemas are registered by producers' serializers or with `curl`.

use crate::hooks::use_polled;
use streamlab_wire::{SchemaVersionView, SchemasView, SubjectView};
use yew::prelude::*;

/// What a student runs first (seed 003 exercise 3).
fn example(url: &str) -> String {
    format!(
        "curl {url}/subjects\n\ncurl -X POST {url}/subjects/sensor_readings-value/versions \\\n  \
         -H 'Content-Type: application/vnd.schemaregistry.v1+json' \\\n  \
         -d '{{\"schema\": \"{{\\\"type\\\": \\\"record\\\", \\\"name\\\": \\\"SensorReading\\\", \
         \\\"fields\\\": [{{\\\"name\\\": \\\"sensor_id\\\", \\\"type\\\": \\\"int\\\"}}]}}\"}}'"
    )
}

#[function_component(Schemas)]
pub fn schemas() -> Html {
    let view = use_polled::<SchemasView>("/api/schemas", 3_000);
    let body = match &*view {
        None => html! { <p class="muted">{ "reading the registry…" }</p> },
        Some(Err(e)) => html! { <p class="error" role="alert">{ e }</p> },
        Some(Ok(v)) => registry(v),
    };
    html! {
        <section aria-labelledby="schemas-title" class="schemas">
            <h2 id="schemas-title">{ "Schema Registry" }</h2>
            { body }
        </section>
    }
}

fn registry(v: &SchemasView) -> Html {
    let Some(url) = &v.url else {
        return html! { <p class="error" id="registry-error">{ v.error.clone().unwrap_or_default() }</p> };
    };
    html! { <>
        <p class="muted" id="registry-url">
            { "Confluent's REST API at " }<code>{ url }</code>
            { format!(" · subjects without their own level are checked {}", v.global_level) }
        </p>
        if v.subjects.is_empty() {
            <p class="muted">{ "No subject yet. A producer's AvroSerializer registers its schema as TOPIC-value; or with curl:" }</p>
            <pre class="example"><code>{ example(url) }</code></pre>
        }
        { for v.subjects.iter().map(subject) }
    </> }
}

fn subject(s: &SubjectView) -> Html {
    let level_title = if s.level_set { "this subject's own level" } else { "the registry's global level" };
    html! {
        <article class="card subject" data-subject={s.subject.clone()}>
            <h3>
                { &s.subject }{ " " }
                <span class={classes!("badge", (s.level == "NONE").then_some("growing"))} title={level_title}>{ &s.level }</span>
                <span class="muted">{ format!("{} version{}", s.versions.len(), if s.versions.len() == 1 { "" } else { "s" }) }</span>
            </h3>
            <div class="versions" role="list">
                { for s.versions.iter().map(version) }
            </div>
        </article>
    }
}

fn version(v: &SchemaVersionView) -> Html {
    let name = v.name.clone().map(|n| format!(" · {n}")).unwrap_or_default();
    html! {
        <div class="version" role="listitem" data-version={v.version.to_string()}>
            <h4>{ format!("Version {}", v.version) }<span class="muted">{ format!(" · schema {} · {}{name}", v.id, v.kind) }</span></h4>
            if !v.changes.is_empty() {
                <ul class="changes" aria-label={format!("what changed in version {}", v.version)}>
                    { for v.changes.iter().map(|c| html! {
                        <li class={classes!("change", c.kind.clone())}>
                            <span class="sign" aria-hidden="true">{ match c.kind.as_str() { "added" => "+", "removed" => "−", _ => "~" } }</span>
                            { format!("{} {}", c.kind, c.text) }
                        </li>
                    }) }
                </ul>
            }
            <pre><code>{ &v.schema }</code></pre>
        </div>
    }
}
