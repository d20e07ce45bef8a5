//! Compatibility: whether a subject's new schema may follow the ones before it, by the rules
//! Confluent's registry applies and a course teaches. BACKWARD (the default): the new schema
//! reads what the old one wrote, so consumers upgrade first; FORWARD: the old reads the new,
//! producers upgrade first; FULL: both; `_TRANSITIVE`: against every version, not only the
//! latest; NONE: anything goes.
//!
//! Avro's rules are Avro's own (`apache_avro`'s reader/writer resolution); JSON Schema's are
//! the ones Confluent's checker applies to what a course writes: types, required properties,
//! open and closed content models, enums, nested objects and arrays.

use super::schema::{Schema, SchemaType};
use serde_json::{Map, Value};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    None,
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl Level {
    pub const ALL: [Level; 7] = [
        Level::None,
        Level::Backward,
        Level::BackwardTransitive,
        Level::Forward,
        Level::ForwardTransitive,
        Level::Full,
        Level::FullTransitive,
    ];

    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.to_string().eq_ignore_ascii_case(name.trim()))
    }

    fn transitive(self) -> bool {
        matches!(self, Level::BackwardTransitive | Level::ForwardTransitive | Level::FullTransitive)
    }

    /// Whether the new schema must read the old one's data, and the old the new one's.
    fn directions(self) -> (bool, bool) {
        match self {
            Level::None => (false, false),
            Level::Backward | Level::BackwardTransitive => (true, false),
            Level::Forward | Level::ForwardTransitive => (false, true),
            Level::Full | Level::FullTransitive => (true, true),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::None => "NONE",
            Level::Backward => "BACKWARD",
            Level::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Level::Forward => "FORWARD",
            Level::ForwardTransitive => "FORWARD_TRANSITIVE",
            Level::Full => "FULL",
            Level::FullTransitive => "FULL_TRANSITIVE",
        })
    }
}

/// Why `new` may not follow `earlier` (a subject's live versions, oldest first, with their
/// numbers) under `level`, in the shape of Confluent's messages; empty when it may.
pub fn check(level: Level, new: &Schema, earlier: &[(i32, &Schema)]) -> Vec<String> {
    let (new_reads_old, old_reads_new) = level.directions();
    let against = if level.transitive() { earlier } else { &earlier[earlier.len().saturating_sub(1)..] };
    let mut messages = Vec::new();
    for (version, old) in against.iter().rev() {
        let mut problems = Vec::new();
        if new_reads_old {
            problems.extend(reads(old, new, "new", "old"));
        }
        if old_reads_new {
            problems.extend(reads(new, old, "old", "new"));
        }
        if !problems.is_empty() {
            messages.extend(problems);
            messages.push(format!("{{oldSchemaVersion: {version}}}"));
            messages.push(format!("{{oldSchema: '{}'}}", old.text));
            messages.push(format!("{{compatibility: '{level}'}}"));
            // Confluent's checker reports the first version that fails.
            break;
        }
    }
    messages
}

/// Why the schema `reader` (called `reader_is`: "new" or "old") cannot read what `writer` wrote.
fn reads(writer: &Schema, reader: &Schema, reader_is: &str, writer_is: &str) -> Vec<String> {
    if writer.kind != reader.kind {
        return vec![problem(
            "TYPE_MISMATCH",
            &format!("the {reader_is} schema is {} and the {writer_is} is {}", reader.kind.name(), writer.kind.name()),
            "",
        )];
    }
    match reader.kind {
        SchemaType::Avro => match (writer.avro(), reader.avro()) {
            (Some(w), Some(r)) => match apache_avro::schema_compatibility::SchemaCompatibility::can_read(w, r) {
                Ok(()) => Vec::new(),
                Err(e) => vec![avro_problem(&e, reader_is, writer_is)],
            },
            _ => Vec::new(),
        },
        SchemaType::Json => {
            let mut out = Vec::new();
            json_reads(&writer.value, &reader.value, "#", (reader_is, writer_is), &mut out);
            out
        }
    }
}

fn problem(kind: &str, description: &str, info: &str) -> String {
    format!("{{errorType:'{kind}', description:'{description}', additionalInfo:'{info}'}}")
}

fn avro_problem(e: &apache_avro::error::CompatibilityError, reader_is: &str, writer_is: &str) -> String {
    use apache_avro::error::CompatibilityError as E;
    // The innermost cause names what differs; the outer ones name the fields on its way.
    let mut path = Vec::new();
    let mut inner = e;
    while let E::FieldTypeMismatch(field, cause) = inner {
        path.push(field.as_str());
        inner = cause;
    }
    let at = if path.is_empty() { String::new() } else { format!("the field '{}': ", path.join(".")) };
    let (kind, what, info) = match inner {
        E::MissingDefaultValue(field) => (
            "READER_FIELD_MISSING_DEFAULT_VALUE",
            format!(
                "The field '{field}' in the {reader_is} schema has no default value and is missing in the {writer_is} schema"
            ),
            field.clone(),
        ),
        E::MissingSymbols => (
            "MISSING_ENUM_SYMBOLS",
            format!("The {reader_is} schema's enum lacks symbols of the {writer_is} schema's"),
            String::new(),
        ),
        E::MissingUnionElements => (
            "MISSING_UNION_BRANCH",
            format!("The {reader_is} schema's union lacks a branch of the {writer_is} schema's"),
            String::new(),
        ),
        E::NameMismatch { writer_name, reader_name } => (
            "NAME_MISMATCH",
            format!("The {reader_is} schema's name {reader_name} is not the {writer_is} schema's {writer_name}"),
            reader_name.clone(),
        ),
        E::FixedMismatch => ("FIXED_SIZE_MISMATCH", "The fixed types differ in name or size".into(), String::new()),
        other => ("TYPE_MISMATCH", format!("{other} (the {reader_is} schema reading the {writer_is})"), String::new()),
    };
    problem(kind, &format!("{at}{what}"), &info)
}

/// The types a JSON schema allows; `None` is any.
fn json_types(schema: &Map<String, Value>) -> Option<Vec<&str>> {
    match schema.get("type")? {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn properties(schema: &Map<String, Value>) -> Option<&Map<String, Value>> {
    schema.get("properties")?.as_object()
}

fn required(schema: &Map<String, Value>) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map_or(Vec::new(), |r| r.iter().filter_map(Value::as_str).collect())
}

/// `additionalProperties: false`: no property but the listed ones.
fn closed(schema: &Map<String, Value>) -> bool {
    schema.get("additionalProperties") == Some(&Value::Bool(false))
}

fn json_reads(writer: &Value, reader: &Value, at: &str, (reader_is, writer_is): (&str, &str), out: &mut Vec<String>) {
    let (w, r) = match (writer, reader) {
        (_, Value::Bool(true)) => return,
        (Value::Bool(false), _) => return,
        (_, Value::Bool(false)) => {
            out.push(problem("TYPE_NARROWED", &format!("{at}: the {reader_is} schema accepts nothing"), at));
            return;
        }
        (Value::Object(w), Value::Object(r)) => (w, r),
        (Value::Bool(true), Value::Object(r)) => (&Map::new(), r),
        _ => return,
    };
    if let Some(read) = json_types(r) {
        let accepted = |t: &str| read.contains(&t) || (t == "integer" && read.contains(&"number"));
        let written = json_types(w);
        let lost: Vec<&str> = match &written {
            Some(ws) => ws.iter().copied().filter(|t| !accepted(t)).collect(),
            None => vec!["any type"],
        };
        if !lost.is_empty() {
            let was = written.map_or("any type".to_owned(), |ws| ws.join(" or "));
            out.push(problem(
                "TYPE_CHANGED",
                &format!("{at}: the {reader_is} schema reads {} where the {writer_is} wrote {was}", read.join(" or ")),
                at,
            ));
            return;
        }
    }
    if let Some(values) = r.get("enum").and_then(Value::as_array) {
        let narrowed = match w.get("enum").and_then(Value::as_array) {
            Some(written) => written.iter().any(|v| !values.contains(v)),
            None => true,
        };
        if narrowed {
            out.push(problem(
                "ENUM_ARRAY_NARROWED",
                &format!("{at}: the {reader_is} schema's enum lacks values the {writer_is} allows"),
                at,
            ));
        }
    }
    let empty = Map::new();
    let (w_props, r_props) = (properties(w).unwrap_or(&empty), properties(r).unwrap_or(&empty));
    let w_required = required(w);
    for name in required(r) {
        if !w_required.contains(&name) {
            out.push(problem(
                "REQUIRED_ATTRIBUTE_ADDED",
                &format!(
                    "{at}/properties/{name}: the {reader_is} schema requires '{name}', which the {writer_is} schema's data may lack"
                ),
                name,
            ));
        }
    }
    for (name, written) in w_props {
        match r_props.get(name) {
            Some(read) => json_reads(written, read, &format!("{at}/properties/{name}"), (reader_is, writer_is), out),
            None if closed(r) => out.push(problem(
                "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
                &format!(
                    "{at}/properties/{name}: the {writer_is} schema has '{name}', which the {reader_is} schema's closed content model (additionalProperties: false) refuses"
                ),
                name,
            )),
            None => {}
        }
    }
    for (name, read) in r_props {
        // What the old schema let through as an extra property may be anything.
        if !w_props.contains_key(name) && !closed(w) && read != &Value::Bool(true) && read != &Value::Object(Map::new())
        {
            out.push(problem(
                "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
                &format!(
                    "{at}/properties/{name}: the {reader_is} schema constrains '{name}', which the {writer_is} schema's open content model let be anything (close it with additionalProperties: false, or leave '{name}' unconstrained)"
                ),
                name,
            ));
        }
    }
    if closed(r) && !closed(w) && !r_props.is_empty() && w_props.keys().all(|k| r_props.contains_key(k)) {
        out.push(problem(
            "ADDITIONAL_PROPERTIES_REMOVED",
            &format!("{at}: the {reader_is} schema closes the content model the {writer_is} schema left open"),
            at,
        ));
    }
    if let (Some(wi), Some(ri)) = (w.get("items"), r.get("items")) {
        json_reads(wi, ri, &format!("{at}/items"), (reader_is, writer_is), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avro(text: &str) -> Schema {
        Schema::parse(SchemaType::Avro, text).unwrap()
    }

    fn json(text: &str) -> Schema {
        Schema::parse(SchemaType::Json, text).unwrap()
    }

    const V1: &str = r#"{"type":"record","name":"Sensor","fields":[{"name":"id","type":"string"},{"name":"value","type":"double"}]}"#;
    const WITH_DEFAULT: &str = r#"{"type":"record","name":"Sensor","fields":[{"name":"id","type":"string"},{"name":"value","type":"double"},{"name":"unit","type":"string","default":"C"}]}"#;
    const WITHOUT_DEFAULT: &str = r#"{"type":"record","name":"Sensor","fields":[{"name":"id","type":"string"},{"name":"value","type":"double"},{"name":"unit","type":"string"}]}"#;

    #[test]
    fn a_field_with_a_default_is_backward_compatible_and_one_without_is_not() {
        let (v1, good, bad) = (avro(V1), avro(WITH_DEFAULT), avro(WITHOUT_DEFAULT));
        assert!(check(Level::Backward, &good, &[(1, &v1)]).is_empty());
        let m = check(Level::Backward, &bad, &[(1, &v1)]);
        assert!(m[0].starts_with("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'"), "{m:?}");
        assert!(m[0].contains("'unit' in the new schema has no default value"), "{m:?}");
        assert_eq!(m[1], "{oldSchemaVersion: 1}");
        assert_eq!(m[3], "{compatibility: 'BACKWARD'}");
        // The old schema reads the new one's data either way: forward holds for both.
        assert!(check(Level::Forward, &bad, &[(1, &v1)]).is_empty());
        assert!(!check(Level::Full, &bad, &[(1, &v1)]).is_empty());
        assert!(check(Level::None, &avro(r#""string""#), &[(1, &v1)]).is_empty());
    }

    #[test]
    fn transitive_levels_look_past_the_latest_version() {
        let (v1, v2) = (avro(V1), avro(WITH_DEFAULT));
        // v3 drops `value`, which v1 and v2 both have; then re-adding value without a default...
        let v3 = avro(
            r#"{"type":"record","name":"Sensor","fields":[{"name":"id","type":"string"},{"name":"unit","type":"string","default":"C"}]}"#,
        );
        let v4 = avro(
            r#"{"type":"record","name":"Sensor","fields":[{"name":"id","type":"string"},{"name":"unit","type":"string","default":"C"},{"name":"value","type":"double","default":0}]}"#,
        );
        assert!(check(Level::Backward, &v3, &[(1, &v1), (2, &v2)]).is_empty());
        // Forward from v2: v2 needs `value`, v3 lacks it.
        assert!(!check(Level::Forward, &v3, &[(1, &v1), (2, &v2)]).is_empty());
        assert!(check(Level::ForwardTransitive, &v4, &[(1, &v1), (2, &v2)]).is_empty());
        let renamed = avro(r#"{"type":"record","name":"Probe","fields":[{"name":"id","type":"string"}]}"#);
        let m = check(Level::BackwardTransitive, &renamed, &[(1, &v1), (2, &v2)]);
        assert!(m[0].contains("NAME_MISMATCH"), "{m:?}");
        assert_eq!(m[1], "{oldSchemaVersion: 2}");
    }

    #[test]
    fn json_schema_rules() {
        let open =
            json(r#"{"type":"object","properties":{"id":{"type":"string"},"v":{"type":"number"}},"required":["id"]}"#);
        let closed = json(
            r#"{"type":"object","properties":{"id":{"type":"string"},"v":{"type":"number"}},"required":["id"],"additionalProperties":false}"#,
        );
        // Requiring a property old data may lack.
        let requires_v = json(
            r#"{"type":"object","properties":{"id":{"type":"string"},"v":{"type":"number"}},"required":["id","v"]}"#,
        );
        let m = check(Level::Backward, &requires_v, &[(1, &open)]);
        assert!(m[0].contains("REQUIRED_ATTRIBUTE_ADDED") && m[0].contains("'v'"), "{m:?}");
        // A type changed.
        let v_text =
            json(r#"{"type":"object","properties":{"id":{"type":"string"},"v":{"type":"string"}},"required":["id"]}"#);
        let m = check(Level::Backward, &v_text, &[(1, &open)]);
        assert!(m[0].contains("TYPE_CHANGED") && m[0].contains("#/properties/v"), "{m:?}");
        // integer widens to number, not the other way.
        let int =
            json(r#"{"type":"object","properties":{"id":{"type":"string"},"v":{"type":"integer"}},"required":["id"]}"#);
        assert!(check(Level::Backward, &open, &[(1, &int)]).is_empty());
        assert!(!check(Level::Backward, &int, &[(1, &open)]).is_empty());
        // Adding a property: compatible to a closed model, not to an open one.
        let added = r#"{"type":"object","properties":{"id":{"type":"string"},"v":{"type":"number"},"unit":{"type":"string"}},"required":["id"]ADD}"#;
        let to_closed = json(&added.replace("ADD", r#","additionalProperties":false"#));
        assert!(check(Level::Backward, &to_closed, &[(1, &closed)]).is_empty());
        let to_open = json(&added.replace("ADD", ""));
        let m = check(Level::Backward, &to_open, &[(1, &open)]);
        assert!(m[0].contains("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"), "{m:?}");
        // Removing a property from a closed model breaks reading old data.
        let fewer = json(
            r#"{"type":"object","properties":{"id":{"type":"string"}},"required":["id"],"additionalProperties":false}"#,
        );
        let m = check(Level::Backward, &fewer, &[(1, &closed)]);
        assert!(m[0].contains("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"), "{m:?}");
        assert!(check(Level::Backward, &open, &[(1, &open)]).is_empty());
        // An Avro schema never follows a JSON one.
        assert!(check(Level::Backward, &avro(V1), &[(1, &open)])[0].contains("TYPE_MISMATCH"));
    }

    #[test]
    fn levels_parse_in_any_case() {
        assert_eq!(Level::parse("full_transitive"), Some(Level::FullTransitive));
        assert_eq!(Level::parse("Backward"), Some(Level::Backward));
        assert_eq!(Level::parse("sideways"), None);
    }
}
