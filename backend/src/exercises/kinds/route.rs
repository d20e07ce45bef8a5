//! `route`: each input is in exactly one topic of a template (`SENSOR_ID_{}`), the one its
//! field names, found by its id.

use super::found::{Found, fail, field, pass, preview, scalar};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError, Record};
use std::collections::HashMap;

pub fn check(
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
