//! `long_messages`: an alert `{"message", "words"}` for each sentence of more than `words`
//! words, in any order, and nothing else.

use super::found::{Found, differs, fail, pass, preview};
use crate::exercises::probe::{ProbeError, Record};
use serde_json::{Value, json};

pub fn check(words: usize, inputs: &[Record], outputs: &[Record], output: &str) -> Result<Found, ProbeError> {
    // An alert names the sentence it answers, so alerts match their sentences in
    // any order: a sentences topic with several partitions is read in no one order.
    let want: Vec<Value> = inputs
        .iter()
        .filter_map(|i| {
            let text = i.text()?.trim().to_owned();
            let count = text.split_whitespace().count();
            (count > words).then(|| json!({ "message": text, "words": count }))
        })
        .collect();
    let alerts: Vec<Option<Value>> = outputs.iter().map(alert).collect();
    let mut used = vec![false; outputs.len()];
    for w in &want {
        match (0..outputs.len()).find(|&at| !used[at] && alerts[at].as_ref() == Some(w)) {
            Some(at) => used[at] = true,
            None => {
                let message = w["message"].as_str().unwrap_or_default();
                let same_text = outputs
                    .iter()
                    .filter_map(Record::json)
                    .find(|o| o.get("message").and_then(Value::as_str).map(str::trim) == Some(message));
                return match same_text {
                    Some(seen) => differs(
                        format!("the alert for \"{message}\" on {output} is {seen}, expected {w}"),
                        format!("the alert for \"{message}\" on {output} is {seen}"),
                    ),
                    None => fail(format!("{output} has no alert for \"{message}\" ({} words)", w["words"])),
                };
            }
        }
    }
    // Whatever is left answers no long sentence: an alert too many, or not an alert.
    if let Some(extra) = outputs.iter().zip(&used).find(|(_, u)| !**u).map(|(o, _)| o) {
        let what = if extra.json().is_none() {
            "is not JSON".to_owned()
        } else {
            format!("alerts on no sentence of more than {words} words")
        };
        return fail(format!(
            "{output} has {} records for {} long sentences; {} {what}: {}",
            outputs.len(),
            want.len(),
            extra.position(),
            preview(extra)
        ));
    }
    pass(format!("{output} alerts on each of the {} sentences of more than {words} words", want.len()))
}

/// An alert as JSON, its message trimmed and its count a whole number (JavaScript and
/// Python may print `9` or `9.0`).
fn alert(r: &Record) -> Option<Value> {
    let v = r.json()?;
    let message = v.get("message")?.as_str()?.trim().to_owned();
    let words = v.get("words")?.as_f64().filter(|w| w.fract() == 0.0)? as u64;
    (v.as_object()?.len() == 2).then(|| json!({ "message": message, "words": words }))
}
