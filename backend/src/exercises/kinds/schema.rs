//! `schema` and `framed`: the Schema Registry's side of an exercise, read from the
//! registry's `_schemas` topic on the broker (what every registry serving the cluster
//! answers, so the checker needs none running).
//!
//! - `schema`: a subject holds an Avro record schema with the asked fields; with `evolved`,
//!   a later version adds a field with a default, each version reads the one before
//!   (BACKWARD), and the subject still checks compatibility.
//! - `framed`: a topic's records are in the registry's wire format, written with the
//!   subject's versions, and decode.

use super::found::{Found, fail, n_records, pass};
use crate::exercises::Namespace;
use crate::exercises::probe::{Probe, ProbeError};
use crate::kafka::registry::compat::{self, Level};
use crate::kafka::registry::schema::{Schema, SchemaType};
use crate::kafka::registry::state::State;
use serde_json::Value;
use std::collections::BTreeSet;

/// A subject's live versions, oldest first, with their ids and schemas; a failure that says
/// which subjects there are when it has none.
fn versions<'s>(state: &'s State, subject: &str) -> Result<Vec<(i32, u32, &'s Schema)>, String> {
    state.live_schemas(subject).map_err(|_| {
        let subjects = state.subjects(false);
        let has = if subjects.is_empty() { "none yet".to_owned() } else { subjects.join(", ") };
        format!("the Schema Registry has no subject {subject} (its subjects: {has})")
    })
}

/// An Avro record's fields: name and whether it has a default.
fn fields(schema: &Schema) -> Vec<(&str, bool)> {
    schema
        .value
        .get("fields")
        .and_then(Value::as_array)
        .map(|fs| fs.iter().filter_map(|f| Some((f.get("name")?.as_str()?, f.get("default").is_some()))).collect())
        .unwrap_or_default()
}

pub fn check_subject(
    ns: &Namespace,
    probe: &Probe,
    subject: &str,
    wanted: &[String],
    evolved: bool,
) -> Result<Found, ProbeError> {
    let subject = ns.map(subject);
    let state = probe.schemas()?;
    let versions = match versions(&state, &subject) {
        Ok(v) => v,
        Err(why) => return fail(why),
    };
    // A subject whose versions were all deleted is no subject: `versions` said so above.
    let &(_, first_id, first) = versions.first().expect("a subject has a live version");
    if first.kind != SchemaType::Avro || first.value.get("type").and_then(Value::as_str) != Some("record") {
        return fail(format!("version {} of {subject} is not an Avro record: {}", versions[0].0, first.text));
    }
    let first_fields: Vec<&str> = fields(first).into_iter().map(|(name, _)| name).collect();
    let missing: Vec<&str> = wanted.iter().map(String::as_str).filter(|w| !first_fields.contains(w)).collect();
    if !missing.is_empty() {
        return fail(format!(
            "version {} of {subject} has the fields {}, without {}",
            versions[0].0,
            first_fields.join(", "),
            missing.join(", ")
        ));
    }
    if !evolved {
        let name = first.name().unwrap_or_default();
        return pass(format!(
            "{subject} holds the Avro record {name} (schema {first_id}) with {}",
            first_fields.join(", ")
        ));
    }
    let level = state.level(Some(&subject), true).unwrap_or_default();
    if level == Level::None {
        return fail(format!(
            "{subject}'s compatibility is NONE: the registry accepts any change there, compatible or not"
        ));
    }
    let &(last_version, last_id, last) = versions.last().expect("a subject has a live version");
    if versions.len() < 2 {
        return fail(format!("{subject} has one version ({last_version}): nothing has evolved yet"));
    }
    for pair in versions.windows(2) {
        let ((old_v, _, old), (new_v, _, new)) = (pair[0], pair[1]);
        let problems = compat::check(Level::Backward, new, &[(old_v, old)]);
        if let Some(first_problem) = problems.first() {
            return fail(format!(
                "version {new_v} of {subject} cannot read version {old_v}'s records: {first_problem}"
            ));
        }
    }
    let added: Vec<(&str, bool)> = fields(last).into_iter().filter(|(name, _)| !first_fields.contains(name)).collect();
    let with_default: Vec<&str> = added.iter().filter(|(_, d)| *d).map(|(name, _)| *name).collect();
    if with_default.is_empty() {
        let what = if added.is_empty() {
            "no field".to_owned()
        } else {
            format!("{} without a default", added.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))
        };
        return fail(format!("version {last_version} of {subject} adds {what} to version {}", versions[0].0));
    }
    pass(format!(
        "version {last_version} of {subject} (schema {last_id}) adds {} with a default; {} versions, each \
         reading the one before, under {level}",
        with_default.join(", "),
        versions.len()
    ))
}

pub fn check_framed(
    ns: &Namespace,
    probe: &Probe,
    topic: &str,
    subject: &str,
    min: usize,
    wanted_versions: usize,
) -> Result<Found, ProbeError> {
    let (topic, subject) = (ns.map(topic), ns.map(subject));
    let own = probe.own_records(&topic)?;
    let records = &own.records;
    if records.is_empty() {
        return fail(format!("{topic} has no records"));
    }
    let plain: Vec<_> = records.iter().filter(|r| r.schema_id().is_none()).collect();
    if let Some(r) = plain.first() {
        return fail(format!(
            "{} of {} on {topic} are not in the Schema Registry's wire format (magic byte 0, then a \
             schema id), the first at {}",
            plain.len(),
            n_records(records.len()),
            r.position()
        ));
    }
    let state = probe.schemas()?;
    let versions = match versions(&state, &subject) {
        Ok(v) => v,
        Err(why) => return fail(why),
    };
    let mut used = BTreeSet::new();
    for r in records.iter() {
        let id = r.schema_id().expect("framed");
        let Some(&(version, _, _)) = versions.iter().find(|(_, vid, _)| *vid == id) else {
            return fail(format!("the record at {} names schema {id}, which is no version of {subject}", r.position()));
        };
        if r.decoded.is_none() {
            return fail(format!("the record at {} does not decode with schema {id}", r.position()));
        }
        used.insert(version);
    }
    let list = used.iter().map(i32::to_string).collect::<Vec<_>>().join(" and ");
    if records.len() < min {
        return fail(format!("{} on {topic}, written with version {list} of {subject}", n_records(records.len())));
    }
    if used.len() < wanted_versions {
        return fail(format!(
            "all {} on {topic} were written with version {list} of {subject}",
            n_records(records.len())
        ));
    }
    pass(format!("{} on {topic} decode, written with versions {list} of {subject}", n_records(records.len())))
}

/// Whether `given` — an Avro schema, or the body posted to the registry
/// (`{"schema": "…"}`) — is one the subject's compatibility refuses.
pub fn check_refused(given: &str, subject: &str, probe: &Probe) -> Result<Found, ProbeError> {
    let text = match serde_json::from_str::<Value>(given) {
        Ok(Value::Object(body)) if body.get("schema").is_some_and(Value::is_string) => {
            body["schema"].as_str().unwrap_or_default().to_owned()
        }
        _ => given.to_owned(),
    };
    let schema = match Schema::parse(SchemaType::Avro, &text) {
        Ok(s) => s,
        Err(why) => return fail(format!("the answer is not an Avro schema: {why}")),
    };
    let state = probe.schemas()?;
    if let Err(why) = versions(&state, subject) {
        return fail(why);
    }
    let level = state.level(Some(subject), true).unwrap_or_default();
    let problems = state.compatibility(subject, &schema, None).unwrap_or_default();
    match problems.first() {
        Some(problem) => pass(format!("the registry refuses it for {subject} under {level}: {problem}")),
        None => fail(format!("{subject}'s compatibility ({level}) accepts that schema: registering it would succeed")),
    }
}
