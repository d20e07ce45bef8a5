//! What changed from one version of a subject to the next, in the words a student compares
//! them in: an Avro record's fields (or a JSON Schema's properties) added, removed or
//! changed, with their types and defaults. The Schema Registry page shows it beside the
//! versions.

use super::schema::{Schema, SchemaType};
use serde_json::Value;
use streamlab_wire::SchemaChange;

pub fn changes(old: &Schema, new: &Schema) -> Vec<SchemaChange> {
    if old.kind != new.kind {
        return vec![change("changed", format!("the schema's type: {} → {}", old.kind.name(), new.kind.name()))];
    }
    let mut out = Vec::new();
    match new.kind {
        SchemaType::Avro => {
            let name = |s: &Schema| s.name().unwrap_or_default();
            if name(old) != name(new) {
                out.push(change("changed", format!("the record's name: {} → {}", name(old), name(new))));
            }
            members(&avro_fields(&old.value), &avro_fields(&new.value), "field", &mut out);
        }
        SchemaType::Json => {
            members(&json_properties(&old.value), &json_properties(&new.value), "property", &mut out);
            let closed = |s: &Schema| s.value.get("additionalProperties") == Some(&Value::Bool(false));
            if closed(old) != closed(new) {
                let now = if closed(new) { "closed: no other properties" } else { "open to other properties" };
                out.push(change("changed", format!("the object is now {now}")));
            }
        }
    }
    if out.is_empty() && old.value != new.value {
        out.push(change("changed", "the schema, outside its fields (see the two texts)".to_owned()));
    }
    out
}

fn change(kind: &str, text: String) -> SchemaChange {
    SchemaChange { kind: kind.to_owned(), text }
}

/// A field or property: its name and how it reads (`unit: string = "celsius"`).
type Member = (String, String);

fn members(old: &[Member], new: &[Member], what: &str, out: &mut Vec<SchemaChange>) {
    for (name, shown) in new {
        match old.iter().find(|(n, _)| n == name) {
            None => out.push(change("added", format!("{what} {shown}"))),
            Some((_, was)) if was != shown => out.push(change("changed", format!("{what} {was} → {shown}"))),
            Some(_) => {}
        }
    }
    for (name, shown) in old {
        if !new.iter().any(|(n, _)| n == name) {
            out.push(change("removed", format!("{what} {shown}")));
        }
    }
}

/// An Avro type as a reader writes it: `string`, `null | string`, a named type by its name.
fn avro_type(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        Value::Array(branches) => branches.iter().map(avro_type).collect::<Vec<_>>().join(" | "),
        Value::Object(o) => match (o.get("type").and_then(Value::as_str), o.get("name").and_then(Value::as_str)) {
            (Some("array"), _) => format!("array<{}>", o.get("items").map(avro_type).unwrap_or_default()),
            (Some("map"), _) => format!("map<{}>", o.get("values").map(avro_type).unwrap_or_default()),
            (Some(kind), Some(name)) => format!("{kind} {name}"),
            (Some(kind), None) => match o.get("logicalType").and_then(Value::as_str) {
                Some(logical) => format!("{kind} ({logical})"),
                None => kind.to_owned(),
            },
            _ => t.to_string(),
        },
        other => other.to_string(),
    }
}

fn avro_fields(schema: &Value) -> Vec<Member> {
    let Some(fields) = schema.get("fields").and_then(Value::as_array) else { return Vec::new() };
    fields
        .iter()
        .filter_map(|f| {
            let name = f.get("name")?.as_str()?.to_owned();
            let mut shown = format!("{name}: {}", f.get("type").map(avro_type).unwrap_or_default());
            if let Some(default) = f.get("default") {
                shown.push_str(&format!(" = {default}"));
            }
            Some((name, shown))
        })
        .collect()
}

fn json_properties(schema: &Value) -> Vec<Member> {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return Vec::new() };
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    properties
        .iter()
        .map(|(name, p)| {
            let kind = match p.get("type") {
                Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | "),
                Some(Value::String(t)) => t.clone(),
                _ => "any".to_owned(),
            };
            let mut shown = format!("{name}: {kind}");
            if required.contains(&name.as_str()) {
                shown.push_str(" (required)");
            }
            if let Some(values) = p.get("enum") {
                shown.push_str(&format!(" one of {values}"));
            }
            (name.clone(), shown)
        })
        .collect()
}

/// A schema's text pretty-printed for reading, its keys in the order its author wrote them
/// (`type`, `name`, then `fields`; parsing into a map would sort them).
pub fn pretty(schema: &Schema) -> String {
    if !(schema.value.is_object() || schema.value.is_array()) {
        return schema.text.clone();
    }
    let (mut out, mut depth, mut in_string, mut escaped) = (String::new(), 0usize, false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut chars = schema.text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // An empty object or array stays on its line.
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.push(chars.next().unwrap_or_default());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avro(fields: &str) -> Schema {
        Schema::parse(SchemaType::Avro, &format!(r#"{{"type":"record","name":"R","fields":[{fields}]}}"#)).unwrap()
    }

    fn said(c: &[SchemaChange]) -> Vec<String> {
        c.iter().map(|c| format!("{}: {}", c.kind, c.text)).collect()
    }

    #[test]
    fn avro_fields_added_removed_and_changed_are_named_with_types_and_defaults() {
        let v1 =
            avro(r#"{"name":"sensor_id","type":"int"},{"name":"value","type":"float"},{"name":"x","type":"string"}"#);
        let v2 = avro(
            r#"{"name":"sensor_id","type":"int"},{"name":"value","type":"double"},
               {"name":"unit","type":"string","default":"celsius"},{"name":"note","type":["null","string"],"default":null}"#,
        );
        assert_eq!(
            said(&changes(&v1, &v2)),
            [
                "changed: field value: float → value: double",
                "added: field unit: string = \"celsius\"",
                "added: field note: null | string = null",
                "removed: field x: string",
            ]
        );
        assert!(changes(&v2, &v2).is_empty());
    }

    #[test]
    fn json_schema_properties_and_closing_are_named() {
        let v1 = Schema::parse(SchemaType::Json, r#"{"type":"object","properties":{"a":{"type":"integer"}}}"#).unwrap();
        let v2 = Schema::parse(
            SchemaType::Json,
            r#"{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"string","enum":["x"]}},
                "required":["b"],"additionalProperties":false}"#,
        )
        .unwrap();
        assert_eq!(
            said(&changes(&v1, &v2)),
            [
                "changed: property a: integer → a: number",
                "added: property b: string (required) one of [\"x\"]",
                "changed: the object is now closed: no other properties",
            ]
        );
        assert_eq!(said(&changes(&v1, &avro(""))), ["changed: the schema's type: JSON → AVRO"]);
    }

    #[test]
    fn a_schema_is_shown_indented_in_its_authors_order() {
        let s = Schema::parse(
            SchemaType::Avro,
            r#"{"type": "record", "name": "R", "doc": "a, b: {c}", "fields": [{"name":"a","type":{"type":"array","items":"int"}}], "x": []}"#,
        )
        .unwrap();
        let want = "{\n  \"type\": \"record\",\n  \"name\": \"R\",\n  \"doc\": \"a, b: {c}\",\n  \"fields\": [\n    {\n      \
                    \"name\": \"a\",\n      \"type\": {\n        \"type\": \"array\",\n        \"items\": \"int\"\n      }\n    }\n  ],\n  \
                    \"x\": []\n}";
        assert_eq!(pretty(&s), want);
        let bare = Schema::parse(SchemaType::Avro, "\"string\"").unwrap();
        assert_eq!(pretty(&bare), "\"string\"");
    }
}
