//! One function per condition kind. Each reads the broker through a [`Probe`] and says
//! whether the condition holds and what it saw, in words a student can act on.

use super::Namespace;
use super::compare::{self, Difference};
use super::conditions::{Expect, Function, Kind, Match};
use super::probe::{Probe, ProbeError, Record};
use crate::kafka::avro::AvroValue;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// What a check saw: whether the condition holds, and the evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub holds: bool,
    /// What the checker saw and, for a failed comparison, what it expected.
    pub detail: String,
    /// `detail` without the expected value, where it names one: what `actual-only` shows.
    pub seen_only: Option<String>,
}

/// "1 record", "3 records".
fn n_records(n: usize) -> String {
    format!("{n} record{}", if n == 1 { "" } else { "s" })
}

fn pass(detail: impl Into<String>) -> Result<Found, ProbeError> {
    Ok(Found { holds: true, detail: detail.into(), seen_only: None })
}

fn fail(detail: impl Into<String>) -> Result<Found, ProbeError> {
    Ok(Found { holds: false, detail: detail.into(), seen_only: None })
}

/// A failed comparison: `detail` names the expected value, `seen_only` does not.
fn differs(detail: impl Into<String>, seen_only: impl Into<String>) -> Result<Found, ProbeError> {
    Ok(Found { holds: false, detail: detail.into(), seen_only: Some(seen_only.into()) })
}

/// Checks one condition. A missing topic is a failed condition, not an error: it is the
/// most common thing a student has not done yet.
pub fn evaluate(kind: &Kind, ns: &Namespace, probe: &Probe) -> Result<Found, ProbeError> {
    match evaluate_inner(kind, ns, probe) {
        Err(ProbeError::NoTopic(t)) => fail(format!("topic {t} does not exist")),
        other => other,
    }
}

fn evaluate_inner(kind: &Kind, ns: &Namespace, probe: &Probe) -> Result<Found, ProbeError> {
    match kind {
        Kind::Topic { topic, partitions, min_partitions } => {
            let topic = ns.map(topic);
            let n = probe.partitions(&topic)? as i32;
            match (partitions, min_partitions) {
                (Some(want), _) if n != *want => fail(format!("{topic} has {n} partitions, not {want}")),
                (_, Some(min)) if n < *min => fail(format!("{topic} has {n} partitions, fewer than {min}")),
                _ => pass(format!("{topic} exists with {n} partition{}", if n == 1 { "" } else { "s" })),
            }
        }
        Kind::Messages { topic, min, all, matcher, require_values } => {
            let topic = ns.map(topic);
            let records = probe.records(&topic)?;
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
            if *all && let Some(miss) = first_miss {
                return fail(format!(
                    "{} of {} records on {topic} do not qualify; the first: {miss}",
                    records.len() - matching,
                    records.len()
                ));
            }
            if matching < *min {
                let what = if matcher.is_empty() {
                    n_records(matching)
                } else {
                    format!("{} that qualify", n_records(matching))
                };
                let extra = first_miss.map(|m| format!(" (for example {m})")).unwrap_or_default();
                return fail(format!("{topic} has {what}, fewer than {min}{extra}"));
            }
            let missing: Vec<&String> =
                require_values.iter().filter(|v| !records.iter().any(|r| r.text() == Some(v.as_str()))).collect();
            if !missing.is_empty() {
                return fail(format!(
                    "no record on {topic} has the value {}",
                    missing.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
                ));
            }
            pass(format!("{matching} of {} records on {topic} qualify", records.len()))
        }
        Kind::Answer { answers, key, expect, tolerance } => {
            let answers = ns.map(answers);
            let records = probe.records(&answers)?;
            // The newest answer by when it was written: a corrected answer may be in another
            // partition than the first one (another client, another partitioner).
            let Some(answer) = records
                .iter()
                .filter(|r| r.key.as_deref() == Some(key.as_bytes()))
                .max_by_key(|r| (r.timestamp_ms, r.offset))
            else {
                return fail(format!("no record with key \"{key}\" on {answers}"));
            };
            let given = answer.text().unwrap_or("").trim().to_owned();
            if let Expect::ReadAtOffset { topic, partition } = expect {
                return read_at_offset(&given, &ns.map(topic), *partition, probe);
            }
            let accepted = expected(expect, ns, probe)?;
            let Some(first) = accepted.first() else {
                return fail("there is nothing to compare the answer with yet".to_owned());
            };
            let agree = |want: &String| match (compare::number(&given), compare::number(want)) {
                (Some(g), Some(e)) => (g - e).abs() <= tolerance * e.abs() + 1e-9,
                _ => given == *want,
            };
            if let Some(want) = accepted.iter().find(|w| agree(w)) {
                return pass(format!("answered \"{given}\"; the broker says {want}"));
            }
            let apart = match (compare::number(&given), compare::number(first)) {
                (Some(g), Some(e)) => format!(" — {}", compare::apart(g, e)),
                _ => String::new(),
            };
            let within =
                if *tolerance > 0.0 { format!(" (±{:.0} % accepted)", tolerance * 100.0) } else { String::new() };
            let others = if accepted.len() > 1 { format!(" or {}", accepted[1..].join(" or ")) } else { String::new() };
            differs(
                format!("answered \"{given}\", expected {first}{others}{within}{apart}"),
                format!("answered \"{given}\", which is not what the broker's data says"),
            )
        }
        Kind::Committed { group, topic } => {
            let (group, topic) = (ns.map(group), ns.map(topic));
            let marks = probe.watermarks(&topic)?;
            let committed = probe.committed(&group, &topic)?;
            let mut behind = Vec::new();
            for (p, _, high) in &marks {
                let c = committed.iter().find(|c| c.0 == *p).and_then(|c| c.1);
                match c {
                    Some(c) if c >= *high => {}
                    None if *high == 0 => {}
                    Some(c) => behind.push(format!("partition {p} at {c} of {high}")),
                    None => behind.push(format!("partition {p} nothing of {high}")),
                }
            }
            if behind.is_empty() {
                pass(format!(
                    "{group} has committed all {} records of {topic}",
                    marks.iter().map(|m| m.2 - m.1).sum::<i64>()
                ))
            } else {
                fail(format!("{group} has committed on {topic}: {}", behind.join(", ")))
            }
        }
        Kind::Members { group, topic, min } => {
            let (group, topic) = (ns.map(group), ns.map(topic));
            let partitions = probe.partitions(&topic)?;
            let members = probe.members(&group, &topic)?;
            if members.len() < *min {
                return fail(format!(
                    "{group} has {} active member{}, fewer than {min}",
                    members.len(),
                    if members.len() == 1 { "" } else { "s" }
                ));
            }
            let reported: Vec<&Vec<i32>> = members.iter().filter_map(|m| m.1.as_ref()).collect();
            if reported.len() < members.len() {
                return pass(format!(
                    "{group} has {} active members (this broker does not report their assignments)",
                    members.len()
                ));
            }
            let mut seen = HashSet::new();
            for a in &reported {
                for p in a.iter() {
                    if !seen.insert(*p) {
                        return fail(format!("partition {p} of {topic} is assigned to two members of {group}"));
                    }
                }
            }
            if seen.len() < partitions {
                return fail(format!(
                    "{group}'s members are assigned {} of {topic}'s {partitions} partitions",
                    seen.len()
                ));
            }
            let sizes: Vec<String> = reported.iter().map(|a| a.len().to_string()).collect();
            pass(format!(
                "{group} has {} members splitting {partitions} partitions ({})",
                members.len(),
                sizes.join(" + ")
            ))
        }
        Kind::Keys { topic, min_keys, min_partitions } => {
            let topic = ns.map(topic);
            let records = probe.records(&topic)?;
            let mut partition_of: HashMap<&[u8], i32> = HashMap::new();
            for r in records.iter() {
                let Some(k) = r.key.as_deref() else { continue };
                if let Some(&p) = partition_of.get(k)
                    && p != r.partition
                {
                    return fail(format!("key \"{}\" is in partitions {p} and {}", r.key_text(), r.partition));
                }
                partition_of.insert(k, r.partition);
            }
            let used: HashSet<i32> = records.iter().map(|r| r.partition).collect();
            if partition_of.len() < *min_keys {
                return fail(format!("{topic} has {} distinct keys, fewer than {min_keys}", partition_of.len()));
            }
            if used.len() < *min_partitions {
                return fail(format!(
                    "{topic}'s records are in {} partition{}, fewer than {min_partitions}",
                    used.len(),
                    if used.len() == 1 { "" } else { "s" }
                ));
            }
            pass(format!("{} keys, each in one partition, over {} partitions", partition_of.len(), used.len()))
        }
        Kind::Rate { topic, window_secs, min, max } => {
            let topic = ns.map(topic);
            let records = probe.records(&topic)?;
            let (Some(first), Some(last)) = (records.first(), records.last()) else {
                return fail(format!("{topic} is empty"));
            };
            let window_ms = (window_secs * 1000.0) as i64;
            if last.timestamp_ms - first.timestamp_ms < window_ms - 1000 {
                return fail(format!(
                    "{topic}'s records span {:.1} s; the rate is measured over the newest {window_secs} s",
                    (last.timestamp_ms - first.timestamp_ms) as f64 / 1000.0
                ));
            }
            let n = records.iter().filter(|r| r.timestamp_ms > last.timestamp_ms - window_ms).count();
            let rate = n as f64 / window_secs;
            if rate < *min || rate > *max {
                fail(format!("{rate:.1} messages/s over the newest {window_secs} s, outside {min}–{max}"))
            } else {
                pass(format!("{rate:.1} messages/s over the newest {window_secs} s"))
            }
        }
        Kind::Outputs { input, output, function, last, min_inputs } => {
            let (input, output) = (ns.map(input), ns.map(output));
            let all_inputs = probe.records(&input)?;
            if all_inputs.len() < *min_inputs {
                return fail(format!(
                    "{input} has {}; the check needs at least {min_inputs}",
                    n_records(all_inputs.len())
                ));
            }
            let inputs = &all_inputs[all_inputs.len().saturating_sub(last.unwrap_or(usize::MAX))..];
            if let Function::Route { field, id_field, template } = function {
                return route(inputs, ns, probe, field, id_field, template);
            }
            let outputs = probe.records(&output)?;
            follows(function, inputs, &outputs, &input, &output)
        }
        Kind::Duplicates { topic, min } => {
            let topic = ns.map(topic);
            let records = probe.records(&topic)?;
            let mut counts: HashMap<&[u8], usize> = HashMap::new();
            for r in records.iter() {
                *counts.entry(r.value.as_deref().unwrap_or_default()).or_default() += 1;
            }
            let twice: Vec<String> = counts
                .iter()
                .filter(|(_, n)| **n > 1)
                .map(|(v, n)| format!("\"{}\" ×{n}", String::from_utf8_lossy(v)))
                .collect();
            if twice.len() < *min {
                fail(format!("every value on {topic} occurs once ({})", n_records(records.len())))
            } else {
                pass(format!("on {topic}: {}", twice.join(", ")))
            }
        }
    }
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

fn preview(r: &Record) -> String {
    let text = r.value.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() { format!("\"{cut}…\"") } else { format!("\"{cut}\"") }
}

/// A dotted path into JSON; names compare without case, and a string that holds JSON is
/// looked into (ksqlDB's `payload STRING` columns).
pub fn field<'a>(json: &'a Value, path: &str) -> Option<std::borrow::Cow<'a, Value>> {
    use std::borrow::Cow;
    let mut current: Cow<'a, Value> = Cow::Borrowed(json);
    for name in path.split('.') {
        if let Value::String(s) = current.as_ref()
            && let Ok(inner) = serde_json::from_str::<Value>(s)
        {
            current = Cow::Owned(inner);
        }
        let next = match current.as_ref() {
            Value::Object(map) => map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()),
            _ => None,
        }?;
        current = Cow::Owned(next);
    }
    Some(current)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn read_at_offset(given: &str, topic: &str, partition: i32, probe: &Probe) -> Result<Found, ProbeError> {
    let parsed: Option<(i64, String)> = serde_json::from_str::<Value>(given).ok().and_then(|v| {
        let offset = v.get("offset")?;
        let offset = offset.as_i64().or_else(|| offset.as_str()?.trim().parse().ok())?;
        Some((offset, v.get("value")?.as_str()?.to_owned()))
    });
    let Some((offset, value)) = parsed else {
        return fail(format!("the answer \"{given}\" is not JSON like {{\"offset\": 1, \"value\": \"..\"}}"));
    };
    let records = probe.records(topic)?;
    match records.iter().find(|r| r.partition == partition && r.offset == offset) {
        None => fail(format!("{topic} has no record at partition {partition} offset {offset}")),
        Some(r) if r.text().map(str::trim) == Some(value.trim()) => {
            pass(format!("the record at offset {offset} is \"{value}\""))
        }
        Some(r) => differs(
            format!("you answered \"{value}\" for offset {offset}, but the record there is {}", preview(r)),
            format!("you answered \"{value}\" for offset {offset}, which is not the record there"),
        ),
    }
}

/// The answers that are right, best first: several where the data allows several (a value
/// written twice has two offsets).
fn expected(expect: &Expect, ns: &Namespace, probe: &Probe) -> Result<Vec<String>, ProbeError> {
    Ok(match expect {
        Expect::Equals(text) => vec![text.clone()],
        Expect::ReadAtOffset { .. } => Vec::new(),
        Expect::Count(topic) => vec![probe.records(&ns.map(topic))?.len().to_string()],
        Expect::ValueAt { topic, partition, offset } => probe
            .records(&ns.map(topic))?
            .iter()
            .filter(|r| r.partition == *partition && r.offset == *offset)
            .map(|r| r.text().unwrap_or("").trim().to_owned())
            .collect(),
        Expect::OffsetOf { topic, value } => {
            let mut offsets: Vec<String> = probe
                .records(&ns.map(topic))?
                .iter()
                .filter(|r| r.text() == Some(value.as_str()))
                .map(|r| r.offset.to_string())
                .collect();
            offsets.dedup();
            offsets
        }
        Expect::Committed { group, topic, partition } => probe
            .committed(&ns.map(group), &ns.map(topic))?
            .into_iter()
            .filter(|c| c.0 == *partition)
            .filter_map(|c| c.1)
            .map(|o| o.to_string())
            .collect(),
        Expect::PeakRate { topic, window_ms } => {
            let records = probe.records(&ns.map(topic))?;
            let mut peak = 0;
            let mut start = 0;
            for (end, r) in records.iter().enumerate() {
                while r.timestamp_ms - records[start].timestamp_ms >= *window_ms {
                    start += 1;
                }
                peak = peak.max(end + 1 - start);
            }
            if peak > 0 { vec![format!("{}", (peak as f64 * 1000.0 / *window_ms as f64).round())] } else { Vec::new() }
        }
    })
}

/// The outputs the functions other than `route` compare with, in input order.
fn follows(
    function: &Function,
    inputs: &[Record],
    outputs: &[Record],
    input: &str,
    output: &str,
) -> Result<Found, ProbeError> {
    match function {
        Function::SameKey => {
            let mut have: HashMap<&[u8], usize> = HashMap::new();
            for o in outputs {
                *have.entry(o.key.as_deref().unwrap_or_default()).or_default() += 1;
            }
            let mut missing = Vec::new();
            for i in inputs {
                match have.get_mut(i.key.as_deref().unwrap_or_default()) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => missing.push(i),
                }
            }
            match missing.first() {
                None => {
                    pass(format!("each of the {} records of {input} has one on {output} with its key", inputs.len()))
                }
                Some(first) => fail(format!(
                    "{} of {} records of {input} have none on {output} with their key; the first: key \"{}\" at {}",
                    missing.len(),
                    inputs.len(),
                    first.key_text(),
                    first.position()
                )),
            }
        }
        Function::SameValue => {
            let mut have: HashMap<&[u8], usize> = HashMap::new();
            for o in outputs {
                *have.entry(o.value.as_deref().unwrap_or_default()).or_default() += 1;
            }
            let missing: Vec<&Record> = inputs
                .iter()
                .filter(|i| match have.get_mut(i.value.as_deref().unwrap_or_default()) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        false
                    }
                    _ => true,
                })
                .collect();
            match missing.first() {
                None => pass(format!("each of the {} values of {input} is on {output}", inputs.len())),
                Some(first) => fail(format!(
                    "{} of {} values of {input} are not on {output}; the first: {} at {}",
                    missing.len(),
                    inputs.len(),
                    preview(first),
                    first.position()
                )),
            }
        }
        Function::AvroToJson => avro_to_json(inputs, outputs, input, output),
        Function::RollingMean { n } => {
            // The mean of "the last three" is defined by the input's order, which only a
            // single partition keeps.
            let partitions: HashSet<i32> = inputs.iter().map(|i| i.partition).collect();
            if partitions.len() > 1 {
                return fail(format!(
                    "{input}'s records are in {} partitions: create {input} with one partition before writing, \
                     order only holds within a partition",
                    partitions.len()
                ));
            }
            let mut ordered: Vec<&Record> = inputs.iter().collect();
            ordered.sort_by_key(|r| r.offset);
            let mut numbers = Vec::new();
            for i in ordered {
                match i.text().and_then(compare::number) {
                    Some(x) => numbers.push(x),
                    None => return fail(format!("{input} {} is not a number: {}", i.position(), preview(i))),
                }
            }
            let want: Vec<f64> = numbers.windows(*n).map(|w| w.iter().sum::<f64>() / *n as f64).collect();
            sequence(
                &want,
                outputs,
                output,
                |o| o.text().and_then(compare::number),
                // Sums in another order differ in the last bits; a mean printed in full agrees to far
                // better than this.
                |got, want| (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                |x| format!("{x}"),
                |got, want| Some(compare::apart(*got, *want)),
            )
        }
        Function::LongMessages { words } => {
            // An alert names the sentence it answers, so alerts match their sentences in
            // any order: a sentences topic with several partitions is read in no one order.
            let want: Vec<Value> = inputs
                .iter()
                .filter_map(|i| {
                    let text = i.text()?.trim().to_owned();
                    let count = text.split_whitespace().count();
                    (count > *words).then(|| json!({ "message": text, "words": count }))
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
        Function::Route { .. } => unreachable!("route reads several topics"),
    }
}

/// An alert as JSON, its message trimmed and its count a whole number (JavaScript and
/// Python may print `9` or `9.0`).
fn alert(r: &Record) -> Option<Value> {
    let v = r.json()?;
    let message = v.get("message")?.as_str()?.trim().to_owned();
    let words = v.get("words")?.as_f64().filter(|w| w.fract() == 0.0)? as u64;
    (v.as_object()?.len() == 2).then(|| json!({ "message": message, "words": words }))
}

/// Every Avro input is an output `{"record_name", "record"}` holding the same values,
/// compared by [`compare::avro_json`] (floats at f32 precision). An output counts once.
///
/// Outputs are bucketed by their text fields (which compare exactly), so a topic of a few
/// thousand events costs a few thousand comparisons, not millions.
fn avro_to_json(inputs: &[Record], outputs: &[Record], input: &str, output: &str) -> Result<Found, ProbeError> {
    let parsed: Vec<Option<Value>> = outputs.iter().map(Record::json).collect();
    let mut buckets: HashMap<Vec<(String, String)>, Vec<usize>> = HashMap::new();
    for (at, o) in parsed.iter().enumerate() {
        if let Some(o) = o {
            let mut leaves = Vec::new();
            compare::json_text_leaves(o, "", &mut leaves);
            leaves.sort();
            buckets.entry(leaves).or_default().push(at);
        }
    }
    let mut used = vec![false; outputs.len()];
    // An input without an output: its decoded values (none if it is not Avro) and name.
    type Missing<'a> = (&'a Record, Option<Vec<AvroValue>>, Option<String>);
    let mut missing: Vec<Missing> = Vec::new();
    for i in inputs {
        let Ok(value) = i.value.as_deref().map_or(Err(()), |v| crate::kafka::avro::decode_values(v).map_err(drop))
        else {
            missing.push((i, None, None));
            continue;
        };
        let name = i.header("record_name").flatten().map(|v| String::from_utf8_lossy(v).into_owned());
        let mut leaves: Vec<(String, String)> = name.iter().map(|n| ("record_name".to_owned(), n.clone())).collect();
        compare::avro_text_leaves(&value[0], "record", &mut leaves);
        leaves.sort();
        let found = buckets.get(&leaves).and_then(|candidates| {
            candidates.iter().copied().find(|&at| {
                !used[at] && parsed[at].as_ref().is_some_and(|o| republished(o, name.as_deref(), &value[0]).is_ok())
            })
        });
        match found {
            Some(at) => used[at] = true,
            None => missing.push((i, Some(value), name)),
        }
    }
    let Some((first, value, name)) = missing.first() else {
        return pass(format!("each of the {} records of {input} is on {output} as JSON", inputs.len()));
    };
    let head = format!(
        "{} of {} records of {input} are not on {output}; the first, at {}",
        missing.len(),
        inputs.len(),
        first.position()
    );
    let Some(value) = value else {
        return fail(format!("{head}, is not an Avro object container file"));
    };
    let label = name.as_deref().unwrap_or("(no record_name header)");
    // The unused output most like it: the most text fields in common, then its difference.
    let mut want = Vec::new();
    compare::avro_text_leaves(&value[0], "record", &mut want);
    let nearest = parsed
        .iter()
        .enumerate()
        .filter(|(at, o)| !used[*at] && o.as_ref().and_then(|o| o.get("record_name")?.as_str()) == name.as_deref())
        .filter_map(|(_, o)| o.as_ref())
        .max_by_key(|o| {
            let mut seen = Vec::new();
            compare::json_text_leaves(o, "", &mut seen);
            want.iter().filter(|w| seen.contains(w)).count()
        });
    match nearest.and_then(|o| republished(o, name.as_deref(), &value[0]).err()) {
        Some(d) => differs(
            format!("{head}, {label}, matches no output; the nearest differs {}", d.full()),
            format!("{head}, {label}, matches no output; the nearest differs {}", d.seen_only()),
        ),
        None => fail(format!("{head}, {label}, has no output with its record_name")),
    }
}

/// Is `o` the JSON `{"record_name": name, "record": value}`?
fn republished(o: &Value, name: Option<&str>, value: &AvroValue) -> Result<(), Difference> {
    let seen_name = o.get("record_name").cloned().unwrap_or(Value::Null);
    if seen_name.as_str() != name {
        return Err(Difference {
            path: "record_name".into(),
            expected: json!(name).to_string(),
            seen: seen_name.to_string(),
            apart: None,
        });
    }
    if let Some(extra) = o.as_object().and_then(|m| m.keys().find(|k| *k != "record_name" && *k != "record")) {
        return Err(Difference {
            path: String::new(),
            expected: "only record_name and record".into(),
            seen: format!("a field {extra}"),
            apart: None,
        });
    }
    compare::avro_json(value, o.get("record").unwrap_or(&Value::Null), "record")
}

/// The outputs equal `want`, one for one and in the order they were written. Records are
/// ordered by timestamp; within a partition their offsets order them; records of different
/// partitions written in the same millisecond have no order between them (an output topic
/// created by the first write has several partitions), so such a bunch matches its share of
/// `want` in any order.
fn sequence<T>(
    want: &[T],
    outputs: &[Record],
    output: &str,
    read: impl Fn(&Record) -> Option<T>,
    same: impl Fn(&T, &T) -> bool,
    show: impl Fn(&T) -> String,
    apart: impl Fn(&T, &T) -> Option<String>,
) -> Result<Found, ProbeError> {
    let mut ordered: Vec<&Record> = outputs.iter().collect();
    ordered.sort_by_key(|r| (r.timestamp_ms, r.partition, r.offset));
    let mut at = 0;
    while at < ordered.len().min(want.len()) {
        let stamp = ordered[at].timestamp_ms;
        let bunch_end = ordered[at..].iter().position(|r| r.timestamp_ms != stamp).map_or(ordered.len(), |n| at + n);
        let share_end = bunch_end.min(want.len());
        let mut open: Vec<usize> = (at..share_end).collect();
        for o in &ordered[at..share_end] {
            let Some(got) = read(o) else {
                return fail(format!("{output} {} cannot be read: {}", o.position(), preview(o)));
            };
            match open.iter().position(|&w| same(&got, &want[w])) {
                Some(k) => {
                    open.remove(k);
                }
                None => {
                    let w = &want[open[0]];
                    let far = apart(&got, w).map(|a| format!(" — {a}")).unwrap_or_default();
                    let head =
                        format!("record {} of {output} by time ({}) is {}", open[0] + 1, o.position(), show(&got));
                    return differs(format!("{head}, expected {}{far}", show(w)), head);
                }
            }
        }
        at = share_end;
    }
    if outputs.len() < want.len() {
        return differs(
            format!(
                "{output} has {}; expected {}, the next being {}",
                n_records(outputs.len()),
                want.len(),
                show(&want[outputs.len()])
            ),
            format!("{output} has {}, fewer than expected", n_records(outputs.len())),
        );
    }
    if outputs.len() > want.len() {
        return fail(format!(
            "{output} has {} records, {} more than expected; the first extra: {}",
            outputs.len(),
            outputs.len() - want.len(),
            preview(ordered[want.len()])
        ));
    }
    pass(format!("{output} holds the {} expected records in order", want.len()))
}

fn route(
    inputs: &[Record],
    ns: &Namespace,
    probe: &Probe,
    field_path: &str,
    id_field: &str,
    template: &str,
) -> Result<Found, ProbeError> {
    let (prefix, suffix) = template.split_once("{}").unwrap_or((template, ""));
    let (prefix, suffix) = (ns.map(prefix), suffix.to_owned());
    // Every topic of the template: where records should be, and where they should not.
    let routed: Vec<String> = probe
        .topics()?
        .into_iter()
        .map(|t| t.0)
        .filter(|t| t.starts_with(&prefix) && t.ends_with(&suffix) && t.len() > prefix.len() + suffix.len())
        .collect();
    let mut found: HashMap<String, Vec<String>> = HashMap::new();
    for topic in &routed {
        for r in probe.records(topic)?.iter() {
            if let Some(id) = r.json().as_ref().and_then(|j| field(j, id_field)) {
                found.entry(scalar(&id)).or_default().push(topic.clone());
            }
        }
    }
    for i in inputs {
        let json = i.json();
        let (Some(id), Some(key)) =
            (json.as_ref().and_then(|j| field(j, id_field)), json.as_ref().and_then(|j| field(j, field_path)))
        else {
            return fail(format!("input {} has no {id_field} or {field_path}: {}", i.position(), preview(i)));
        };
        let (id, key) = (scalar(&id), scalar(&key));
        let want = format!("{prefix}{key}{suffix}");
        match found.get(&id).map(Vec::as_slice).unwrap_or_default() {
            [one] if *one == want => {}
            [] => return fail(format!("record {id} ({field_path} {key}) is in no topic; expected in {want}")),
            [one] => return fail(format!("record {id} ({field_path} {key}) is in {one}, not {want}")),
            many => return fail(format!("record {id} is in {} topics: {}", many.len(), many.join(", "))),
        }
    }
    pass(format!("each of the {} records is once in its topic ({} topics)", inputs.len(), routed.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_without_case_and_inside_json_strings() {
        let v = json!({"PAYLOAD": "{\"sensor_id\": 3}", "correlation_id": "x"});
        assert_eq!(field(&v, "payload.sensor_id").unwrap().into_owned(), json!(3));
        assert_eq!(field(&v, "CORRELATION_ID").unwrap().into_owned(), json!("x"));
        assert!(field(&v, "payload.nope").is_none());
    }

    fn record(offset: i64, value: &str) -> Record {
        Record {
            partition: 0,
            offset,
            timestamp_ms: offset,
            key: None,
            value: Some(value.as_bytes().to_vec()),
            headers: vec![],
        }
    }

    #[test]
    fn rolling_means_and_long_messages_compare_in_order() {
        let inputs: Vec<Record> = ["1", "2", "3", "4"].iter().enumerate().map(|(i, v)| record(i as i64, v)).collect();
        let good: Vec<Record> = ["2", "3.0"].iter().enumerate().map(|(i, v)| record(i as i64, v)).collect();
        assert!(follows(&Function::RollingMean { n: 3 }, &inputs, &good, "in", "out").unwrap().holds);
        let bad: Vec<Record> = ["2", "3.5"].iter().enumerate().map(|(i, v)| record(i as i64, v)).collect();
        let f = follows(&Function::RollingMean { n: 3 }, &inputs, &bad, "in", "out").unwrap();
        assert!(!f.holds && f.detail.contains("3.5") && f.detail.contains("expected 3"), "{}", f.detail);

        let sentences = [record(0, "short one"), record(1, "this sentence has more than six words in it")];
        let alert = [record(0, r#"{"message":"this sentence has more than six words in it","words":9}"#)];
        assert!(follows(&Function::LongMessages { words: 6 }, &sentences, &alert, "in", "out").unwrap().holds);
        assert!(!follows(&Function::LongMessages { words: 6 }, &sentences, &[], "in", "out").unwrap().holds);
    }

    fn at(partition: i32, offset: i64, timestamp_ms: i64, value: &str) -> Record {
        Record { partition, timestamp_ms, ..record(offset, value) }
    }

    #[test]
    fn outputs_spread_over_partitions_in_one_millisecond_have_no_order_between_them() {
        let inputs: Vec<Record> =
            ["1", "2", "3", "4", "10"].iter().enumerate().map(|(i, v)| record(i as i64, v)).collect();
        // An output topic created by the first write: 4 partitions, a fast producer writes
        // all three means in one millisecond. Partition order would read 5.67, 2, 3.
        let outputs = [at(0, 0, 7, "5.666666666666667"), at(2, 0, 7, "2.0"), at(3, 0, 7, "3"), at(1, 0, 9, "ignored")];
        let f = follows(&Function::RollingMean { n: 3 }, &inputs, &outputs[..3], "in", "out").unwrap();
        assert!(f.holds, "{}", f.detail);
        // Later records stay later: 5.67 written after 2 and 3 is the third mean.
        let late = [at(1, 0, 5, "3"), at(0, 0, 4, "2"), at(0, 1, 9, "5.666666666666667")];
        assert!(follows(&Function::RollingMean { n: 3 }, &inputs, &late, "in", "out").unwrap().holds);
        let wrong = [at(1, 0, 4, "3"), at(0, 0, 5, "2"), at(0, 1, 9, "5.666666666666667")];
        let f = follows(&Function::RollingMean { n: 3 }, &inputs, &wrong, "in", "out").unwrap();
        assert!(!f.holds && f.detail.contains("is 3, expected 2 — 1 apart (50 %)"), "{}", f.detail);
        assert_eq!(f.seen_only.as_deref(), Some("record 1 of out by time (partition 1 offset 0) is 3"));
    }

    #[test]
    fn a_rolling_mean_over_several_input_partitions_says_to_create_one() {
        let inputs = [at(0, 0, 1, "1"), at(1, 0, 2, "2"), at(0, 1, 3, "3")];
        let f = follows(&Function::RollingMean { n: 3 }, &inputs, &[at(0, 0, 4, "2")], "S.numbers", "out").unwrap();
        assert!(!f.holds && f.detail.contains("S.numbers's records are in 2 partitions: create S.numbers with one"));
    }

    #[test]
    fn alerts_match_their_sentences_in_any_order() {
        let long = "this sentence has more than six words in it";
        let longer = "and this one has even more than six words in it";
        let sentences = [at(0, 0, 1, long), at(1, 0, 1, "short"), at(2, 0, 1, longer)];
        let alerts = [
            at(3, 0, 2, &format!(r#"{{"message": "{longer}", "words": 11.0}}"#)),
            at(0, 0, 2, &format!(r#"{{"message":"{long}","words":9}}"#)),
        ];
        let f = follows(&Function::LongMessages { words: 6 }, &sentences, &alerts, "in", "out").unwrap();
        assert!(f.holds, "{}", f.detail);
        let stray = [alerts[0].clone(), alerts[1].clone(), at(1, 0, 3, r#"{"message":"short","words":1,"x":0}"#)];
        let f = follows(&Function::LongMessages { words: 6 }, &sentences, &stray, "in", "out").unwrap();
        assert!(
            !f.holds && f.detail.contains("partition 1 offset 0 alerts on no sentence of more than 6"),
            "{}",
            f.detail
        );
        let miscounted = [alerts[0].clone(), at(0, 0, 2, &format!(r#"{{"message":"{long}","words":8}}"#))];
        let f = follows(&Function::LongMessages { words: 6 }, &sentences, &miscounted, "in", "out").unwrap();
        assert!(!f.holds && f.detail.contains(r#""words":8}, expected"#), "{}", f.detail);
        assert!(!f.seen_only.unwrap().contains("expected"));
    }

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
