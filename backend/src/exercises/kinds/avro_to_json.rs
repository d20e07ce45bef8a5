//! `avro_to_json`: every Avro input republished as JSON `{"record_name", "record"}`.

use super::found::{Found, differs, fail, pass};
use crate::exercises::compare::{self, Difference};
use crate::exercises::probe::{ProbeError, Record};
use crate::kafka::avro::AvroValue;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Every Avro input is an output `{"record_name", "record"}` holding the same values,
/// compared by [`compare::avro_json`] (floats at f32 precision). An output counts once.
///
/// Outputs are bucketed by their text fields (which compare exactly), so a topic of a few
/// thousand events costs a few thousand comparisons, not millions.
pub fn check(inputs: &[Record], outputs: &[Record], input: &str, output: &str) -> Result<Found, ProbeError> {
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
