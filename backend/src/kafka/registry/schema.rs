//! A schema as the registry keeps it: its kind (Avro or JSON Schema), the text it was
//! registered with, and what it means (its parsed JSON), which is what two registrations are
//! compared by, so the same schema written with other spacing is the same schema.

use serde_json::Value;

/// The kinds of schema the registry takes. Confluent's third, Protobuf, is refused by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Avro,
    Json,
}

impl SchemaType {
    /// The `schemaType` of the REST API; absent means Avro, as in Confluent's.
    pub fn parse(name: Option<&str>) -> Result<SchemaType, String> {
        match name.map(str::to_ascii_uppercase).as_deref() {
            None | Some("AVRO") => Ok(SchemaType::Avro),
            Some("JSON") => Ok(SchemaType::Json),
            Some("PROTOBUF") => {
                Err("PROTOBUF schemas are not supported by the lab's registry: use AVRO or JSON".into())
            }
            Some(other) => Err(format!("unknown schemaType {other}: use AVRO or JSON")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
        }
    }
}

/// A schema that parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub kind: SchemaType,
    /// As registered: what the API gives back.
    pub text: String,
    /// What the text means, for comparing and checking.
    pub value: Value,
    /// Avro's own form, parsed once: records are decoded with it.
    avro: Option<apache_avro::Schema>,
}

impl Schema {
    /// Parses `text` as a schema of `kind`; the error is what is wrong with it, in the
    /// parser's words.
    pub fn parse(kind: SchemaType, text: &str) -> Result<Schema, String> {
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            // A bare Avro type name ("string") is valid Avro that is not quoted JSON.
            Err(_) if kind == SchemaType::Avro => Value::String(text.trim().to_owned()),
            Err(e) => return Err(format!("the schema is not JSON: {e}")),
        };
        let avro = match kind {
            SchemaType::Avro => Some(apache_avro::Schema::parse(&value).map_err(|e| e.to_string())?),
            SchemaType::Json => {
                if !(value.is_object() || value.is_boolean()) {
                    return Err("a JSON Schema is an object (or true or false)".into());
                }
                check_json_schema(&value, "#")?;
                None
            }
        };
        Ok(Schema { kind, text: text.to_owned(), value, avro })
    }

    /// Avro's own form of an Avro schema.
    pub fn avro(&self) -> Option<&apache_avro::Schema> {
        self.avro.as_ref()
    }

    /// What the schema is called: an Avro record's full name, a JSON Schema's title.
    pub fn name(&self) -> Option<String> {
        let name = self.value.get(if self.kind == SchemaType::Avro { "name" } else { "title" })?.as_str()?;
        match self.value.get("namespace").and_then(Value::as_str) {
            Some(ns) if self.kind == SchemaType::Avro && !name.contains('.') => Some(format!("{ns}.{name}")),
            _ => Some(name.to_owned()),
        }
    }
}

/// The mistakes a JSON Schema's author makes that a validator would only find on use: a
/// type that is not one of JSON Schema's, properties or required of the wrong shape.
fn check_json_schema(schema: &Value, at: &str) -> Result<(), String> {
    let Some(object) = schema.as_object() else { return Ok(()) };
    const TYPES: [&str; 7] = ["null", "boolean", "object", "array", "number", "string", "integer"];
    let known = |t: &Value| t.as_str().is_some_and(|t| TYPES.contains(&t));
    match object.get("type") {
        Some(Value::Array(types)) if !types.iter().all(known) => {
            return Err(format!("{at}/type: {} is not a JSON Schema type list", Value::Array(types.clone())));
        }
        Some(t @ Value::String(name)) if !known(t) => {
            return Err(format!("{at}/type: \"{name}\" is not a JSON Schema type (one of {})", TYPES.join(", ")));
        }
        Some(t) if !t.is_array() && !t.is_string() => return Err(format!("{at}/type must be a name or a list")),
        _ => {}
    }
    if let Some(required) = object.get("required")
        && !required.as_array().is_some_and(|r| r.iter().all(Value::is_string))
    {
        return Err(format!("{at}/required must be a list of property names"));
    }
    if let Some(properties) = object.get("properties") {
        let Some(properties) = properties.as_object() else {
            return Err(format!("{at}/properties must be an object"));
        };
        for (name, property) in properties {
            check_json_schema(property, &format!("{at}/properties/{name}"))?;
        }
    }
    if let Some(items) = object.get("items") {
        check_json_schema(items, &format!("{at}/items"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_avro_schema_with_other_spacing_is_the_same_schema() {
        let a = Schema::parse(SchemaType::Avro, r#"{"type":"record","name":"S","fields":[{"name":"x","type":"int"}]}"#);
        let b = Schema::parse(
            SchemaType::Avro,
            "{ \"type\": \"record\",\n \"name\": \"S\", \"fields\": [ {\"name\": \"x\", \"type\": \"int\"} ] }",
        );
        assert_eq!(a.unwrap().value, b.unwrap().value);
        assert!(Schema::parse(SchemaType::Avro, "string").is_ok());
    }

    #[test]
    fn a_schema_that_does_not_parse_says_why() {
        let e = Schema::parse(SchemaType::Avro, r#"{"type":"record","name":"S"}"#).unwrap_err();
        assert!(e.contains("fields"), "{e}");
        let e = Schema::parse(SchemaType::Avro, r#"{"type":"recrod","name":"S","fields":[]}"#).unwrap_err();
        assert!(e.contains("recrod"), "{e}");
        let e = Schema::parse(SchemaType::Json, r#"{"type":"object","properties":{"x":{"type":"str"}}}"#).unwrap_err();
        assert_eq!(
            e,
            "#/properties/x/type: \"str\" is not a JSON Schema type (one of null, boolean, object, array, number, string, integer)"
        );
        assert!(Schema::parse(SchemaType::Json, "[1]").is_err());
        assert!(SchemaType::parse(Some("PROTOBUF")).unwrap_err().contains("not supported"));
        assert_eq!(SchemaType::parse(None), Ok(SchemaType::Avro));
    }
}
