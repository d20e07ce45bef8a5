//! `outputs`: an output topic is a function of an input topic, over the newest `last` inputs.
//! Keys and values are matched here; each other function has a module of its own.

use super::found::{Found, fail, n_records, pass, preview};
use super::{avro_to_json, long_messages, rolling_mean, route};
use crate::exercises::Namespace;
use crate::exercises::conditions::Function;
use crate::exercises::probe::{Probe, ProbeError, Record};
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
    let outputs = probe.records(&output)?;
    follows(function, inputs, &outputs, &input, &output)
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
        Function::Route { .. } => unreachable!("route reads several topics"),
    }
}

/// Each input has an output with its key (an output counts once).
fn same_key(inputs: &[Record], outputs: &[Record], input: &str, output: &str) -> Result<Found, ProbeError> {
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
