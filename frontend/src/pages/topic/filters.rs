//! The topic page's filter: checked as typed with the server's own parser, saved per topic
//! in the browser, and explained.

use crate::http;
use streamlab_wire::filter::Filter;
use yew::prelude::*;

/// The filters saved for `topic` in this browser.
pub fn saved(topic: &str) -> Vec<String> {
    http::storage()
        .and_then(|s| s.get_item(&format!("streamlab-filters:{topic}")).ok().flatten())
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

pub fn save(topic: &str, filters: &[String]) {
    if let Some(s) = http::storage() {
        let _ = s.set_item(&format!("streamlab-filters:{topic}"), &serde_json::to_string(filters).expect("serialises"));
    }
}

/// The filter typed, checked with the server's own parser: `Ok(None)` when there is none.
/// A mistake comes with the filter and a caret under its column.
pub fn read(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    Filter::parse(text)
        .map(|_| Some(text.to_owned()))
        .map_err(|e| format!("{e}\n\n  {text}\n  {}^", " ".repeat(e.column - 1)))
}

/// "How to write a filter", folded under the filter box.
#[function_component(FilterHelp)]
pub fn filter_help() -> Html {
    html! {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistake_is_shown_with_a_caret_under_its_column() {
        assert_eq!(read("  "), Ok(None));
        assert_eq!(read(" value.class == \"edible\" "), Ok(Some("value.class == \"edible\"".into())));
        let e = read("value.class = \"poisonous\"").unwrap_err();
        assert!(e.ends_with("\n  value.class = \"poisonous\"\n              ^"), "{e}");
    }
}
