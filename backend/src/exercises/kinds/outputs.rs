//! `outputs`: an output topic is a function of an input topic, over the newest `last` inputs.
//! Keys and values are matched here; each other function has a module of its own (`streams`
//! has Kafka Streams' count and join).

use super::found::{Found, fail, lab_note, n_records, pass, preview};
use super::{avro_to_json, long_messages, rolling_mean, route, streams};
use crate::exercises::Namespace;
use crate::exercises::conditions::Function;
use crate::exercises::probe::{Own, Probe, ProbeError, Record};
use std::collections::HashMap;

pub fn check(
    ns: &Namespace,
    probe: &Probe,
    input: &str,
    output: &str,
    function: &Function,
    last: Option<usize>,
    min_inputs: usize,
) -> Result<Found, ProbeError> {
    let (input, output) = (ns.map(input), ns.map(output));
    let all_inputs = probe.records(&input)?;
    if all_inputs.len() < min_inputs {
        return fail(format!("{input} has {}; the check needs at least {min_inputs}", n_records(all_inputs.len())));
    }
    let inputs = &all_inputs[all_inputs.len().saturating_sub(last.unwrap_or(usize::MAX))..];
    if let Function::Route { field, id_field, template } = function {
        return route::check(inputs, ns, probe, field, id_field, template);
    }
    if let Function::WindowedJoin { right, window_ms } = function {
        let right = ns.map(right);
        let (rights, right_parts) = (probe.records(&right)?, probe.partitions(&right)?);
        let left = (inputs, input.as_str(), probe.partitions(&input)?);
        return streams::windowed_join(
            left,
            (&rights, &right, right_parts),
            *window_ms,
            &probe.records(&output)?,
            &output,
        );
    }
    let own = probe.own_records(&output)?;
    without_the_labs(function, inputs, &own, &probe.records(&output)?, &input, &output)
}

/// [`follows`] over the student's outputs only. The lab's own inference service answers the
/// lab's request topic too; when only its answers would pass, the student is told so.
fn without_the_labs(
    function: &Function,
    inputs: &[Record],
    own: &Own,
    all_outputs: &[Record],
    input: &str,
    output: &str,
) -> Result<Found, ProbeError> {
    let found = follows(function, inputs, &own.records, input, output)?;
    if found.holds || own.lab == 0 {
        return Ok(found);
    }
    let cause = lab_note(own, output);
    if own.records.is_empty() && follows(function, inputs, all_outputs, input, output)?.holds {
        let cause = cause.trim_start_matches("; ");
        return fail(format!("only the lab's own answers are there: {cause}"));
    }
    Ok(Found {
        detail: format!("{}{cause}", found.detail),
        seen_only: found.seen_only.map(|s| format!("{s}{cause}")),
        ..found
    })
}

/// The outputs the functions other than `route` compare with, in input order.
pub(super) fn follows(
    function: &Function,
    inputs: &[Record],
    outputs: &[Record],
    input: &str,
    output: &str,
) -> Result<Found, ProbeError> {
    match function {
        Function::SameKey => same_key(inputs, outputs, input, output),
        Function::SameValue => same_value(inputs, outputs, input, output),
        Function::AvroToJson => avro_to_json::check(inputs, outputs, input, output),
        Function::RollingMean { n } => rolling_mean::check(*n, inputs, outputs, input, output),
        Function::LongMessages { words } => long_messages::check(*words, inputs, outputs, output),
        Function::CountPerKey => streams::count_per_key(inputs, outputs, input, output),
        Function::Route { .. } | Function::WindowedJoin { .. } => unreachable!("reads several topics"),
    }
}

/// Each input has an output with its key (an output counts once). Inputs that mostly share
/// one key (seed 000's generator sends every request with `key=b'key'`) fail by themselves:
/// no client could find its answer.
fn same_key(inputs: &[Record], outputs: &[Record], input: &str, output: &str) -> Result<Found, ProbeError> {
    if let Some(shared) = shared_key(inputs) {
        return fail(shared);
    }
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
        None => pass(format!("each of the {} records of {input} has one on {output} with its key", inputs.len())),
        Some(first) => fail(format!(
            "{} of {} records of {input} have none on {output} with their key; the first: key \"{}\" at {}",
            missing.len(),
            inputs.len(),
            first.key_text(),
            first.position()
        )),
    }
}

/// Said when more than half of at least three inputs have one key (or none).
fn shared_key(inputs: &[Record]) -> Option<String> {
    let mut uses: HashMap<Option<&[u8]>, usize> = HashMap::new();
    for i in inputs {
        *uses.entry(i.key.as_deref()).or_default() += 1;
    }
    let (key, n) = uses.into_iter().max_by_key(|(_, n)| *n)?;
    if inputs.len() < 3 || n * 2 <= inputs.len() {
        return None;
    }
    let which = match key {
        Some(k) => format!("have the same key \"{}\"", String::from_utf8_lossy(k)),
        None => "have no key".to_owned(),
    };
    Some(format!(
        "{n} of the {} requests checked {which}: a client finds its answer by its request's key, so each \
         request needs a key of its own (seed 000 sent every request with key=b'key'; use a counter or \
         uuid.uuid4())",
        inputs.len()
    ))
}

/// Each input's value is an output's value (an output counts once).
fn same_value(inputs: &[Record], outputs: &[Record], input: &str, output: &str) -> Result<Found, ProbeError> {
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

#[cfg(test)]
mod tests {
    use super::super::found::sample::{at, record};
    use super::*;
    use crate::kafka::records::{FROM_INFERENCE, LAB_SOURCE};

    fn keyed(key: Option<&str>, source: Option<&str>) -> Record {
        let mut r = record(0, r#"{"class":"edible"}"#);
        r.key = key.map(|k| k.as_bytes().to_vec());
        if let Some(s) = source {
            r.headers.push((LAB_SOURCE.to_owned(), Some(s.as_bytes().to_vec())));
        }
        r
    }

    fn judge(requests: &[Record], outputs: Vec<Record>) -> Result<Found, ProbeError> {
        let outputs = std::sync::Arc::new(outputs);
        without_the_labs(&Function::SameKey, requests, &Own::of(&outputs), &outputs, "in", "out")
    }

    #[test]
    fn only_the_students_answers_count() {
        let requests: Vec<Record> = (0..5).map(|i| keyed(Some(&format!("req-{i}")), None)).collect();
        let labs: Vec<Record> = (0..5).map(|i| keyed(Some(&format!("req-{i}")), Some(FROM_INFERENCE))).collect();
        let f = judge(&requests, labs.clone()).unwrap();
        assert!(!f.holds, "the lab's answers alone passed");
        assert!(
            f.detail.starts_with(
                "only the lab's own answers are there: 5 records on out come from the lab's own inference service"
            ),
            "{}",
            f.detail
        );
        let mut both = labs.clone();
        both.extend((0..5).map(|i| keyed(Some(&format!("req-{i}")), None)));
        assert!(judge(&requests, both.clone()).unwrap().holds);
        let f = judge(&requests, both[..9].to_vec()).unwrap();
        assert!(!f.holds && f.detail.contains("1 of 5 records of in have none on out"), "{}", f.detail);
        assert!(f.detail.contains("5 records on out come from the lab's own inference service"), "{}", f.detail);
    }

    #[test]
    fn requests_sharing_the_seeds_constant_key_are_named_as_the_cause() {
        let requests: Vec<Record> = (0..10).map(|_| keyed(Some("key"), None)).collect();
        let f = follows(&Function::SameKey, &requests, &requests, "in", "out").unwrap();
        assert!(
            !f.holds && f.detail.starts_with("10 of the 10 requests checked have the same key \"key\""),
            "{}",
            f.detail
        );
        assert!(f.detail.contains("key=b'key'"));
        let unkeyed: Vec<Record> = (0..4).map(|_| keyed(None, None)).collect();
        assert!(follows(&Function::SameKey, &unkeyed, &unkeyed, "in", "out").unwrap().detail.contains("have no key"));
        // A counter restarted once repeats a few keys: not the seed's mistake.
        let mut restarted: Vec<Record> = (0..6).map(|i| keyed(Some(&format!("req-{i}")), None)).collect();
        restarted.extend((0..3).map(|i| keyed(Some(&format!("req-{i}")), None)));
        assert!(follows(&Function::SameKey, &restarted, &restarted, "in", "out").unwrap().holds);
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
}
