//! `messages`: at least `min` records qualify (`all`: every one does), and each required
//! value is some record's.

use super::found::{Found, fail, field, lab_note, n_records, pass, preview};
use crate::exercises::Namespace;
use crate::exercises::conditions::Match;
use crate::exercises::probe::{Probe, ProbeError, Record};
use serde_json::Value;

pub fn check(
    ns: &Namespace,
    probe: &Probe,
    topic: &str,
    min: usize,
    all: bool,
    matcher: &Match,
    require_values: &[String],
) -> Result<Found, ProbeError> {
    let topic = ns.map(topic);
    let own = probe.own_records(&topic)?;
    let records = &own.records;
    let note = lab_note(&own, &topic);
    let mut matching = 0;
    let mut first_miss = None;
    for r in records.iter() {
        match matches(matcher, r) {
            Ok(()) => matching += 1,
            Err(why) => {
                first_miss.get_or_insert_with(|| format!("{} {why}", r.position()));
            }
        }
    }
    if all && let Some(miss) = first_miss {
        return fail(format!(
            "{} of {} records on {topic} do not qualify; the first: {miss}{note}",
            records.len() - matching,
            records.len()
        ));
    }
    if matching < min {
        let what =
            if matcher.is_empty() { n_records(matching) } else { format!("{} that qualify", n_records(matching)) };
        let extra = first_miss.map(|m| format!(" (for example {m})")).unwrap_or_default();
        return fail(format!("{topic} has {what}, fewer than {min}{extra}{note}"));
    }
    let missing: Vec<&String> =
        require_values.iter().filter(|v| !records.iter().any(|r| r.text() == Some(v.as_str()))).collect();
    if !missing.is_empty() {
        return fail(format!(
            "no record on {topic} has the value {}{note}",
            missing.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
        ));
    }
    let left_out = if own.lab > 0 { format!(" (and {} of the lab's own left out)", own.lab) } else { String::new() };
    pass(format!("{matching} of {} records on {topic} qualify{left_out}", records.len()))
}

impl Match {
    fn is_empty(&self) -> bool {
        self.value_equals.is_none()
            && self.header.is_none()
            && !self.mushroom_request
            && !self.json
            && self.json_field.is_none()
            && !self.prediction
    }
}

/// Whether a record qualifies; if not, why (said after its position).
fn matches(m: &Match, r: &Record) -> Result<(), String> {
    if let Some(want) = &m.value_equals
        && r.text() != Some(want.as_str())
    {
        return Err(format!("has the value \"{}\", not \"{want}\"", r.text().unwrap_or("(not text)")));
    }
    if let Some(name) = &m.header {
        match r.header(name) {
            None => return Err(format!("has no header {name}")),
            Some(v) => {
                if let Some(want) = &m.header_value
                    && v != Some(want.as_bytes())
                {
                    return Err(format!("has header {name}={}", v.map(String::from_utf8_lossy).unwrap_or_default()));
                }
            }
        }
    }
    if m.mushroom_request {
        crate::inference::answer::read_request(r.value.as_deref())
            .map_err(|e| format!("is not a valid request: {}", e.message))?;
    }
    if m.json || m.json_field.is_some() || m.prediction {
        let json = r.json().ok_or_else(|| format!("is not JSON: {}", preview(r)))?;
        if let Some(path) = &m.json_field
            && field(&json, path).is_none()
        {
            return Err(format!("has no field {path}"));
        }
        if m.prediction {
            let class = json.get("class").and_then(Value::as_str);
            if !matches!(class, Some("edible" | "poisonous")) {
                return Err(format!(
                    "has class {}, not \"edible\" or \"poisonous\"",
                    json.get("class").map_or("(none)".to_owned(), Value::to_string)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::found::sample::record;
    use super::*;

    #[test]
    fn predicates_say_why_a_record_does_not_qualify() {
        let m = Match { prediction: true, ..Match::default() };
        assert!(matches(&m, &record(0, r#"{"class":"edible"}"#)).is_ok());
        assert!(matches(&m, &record(0, r#"{"class":"maybe"}"#)).unwrap_err().contains("maybe"));
        assert!(matches(&m, &record(0, "text")).unwrap_err().contains("not JSON"));
        let m = Match { mushroom_request: true, ..Match::default() };
        assert!(matches(&m, &record(0, r#"{"cap-diameter": 1}"#)).unwrap_err().contains("not a valid request"));
    }
}
