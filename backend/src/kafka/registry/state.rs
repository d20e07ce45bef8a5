//! What the registry holds — schemas by id, each subject's versions, the compatibility
//! levels — and the records of the `_schemas` topic that change it.
//!
//! The topic is the truth and this is its index: at start every record is applied in order,
//! and a change is planned here ([`Change`]), written to the topic, and only then applied. The
//! records are Confluent's (`{"keytype":"SCHEMA","subject":…,"version":…,"magic":1}` →
//! the version, `{"keytype":"CONFIG",…}` → a level, a null value deleting), so the topic
//! reads the same as a Confluent registry's, and the newest record per key is the state,
//! which is what a compacted topic keeps.

use super::RegistryError;
use super::compat::{self, Level};
use super::diff;
use super::schema::{Schema, SchemaType};
use crate::kafka::avro;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use streamlab_wire::{Decoded, SchemaVersionView, SubjectView};

/// One version of a subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub version: i32,
    pub id: u32,
    /// Soft-deleted: hidden unless asked for, its number never reused.
    pub deleted: bool,
}

/// A subject's version with its schema, as the API answers it.
#[derive(Debug, Clone)]
pub struct Registered {
    pub subject: String,
    pub version: i32,
    pub id: u32,
    pub schema: Schema,
}

/// A record for the `_schemas` topic: its key and value (`None` deletes the key).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub key: Value,
    pub value: Option<Value>,
}

/// What registering a schema comes to.
#[derive(Debug)]
pub enum Registration {
    /// The subject has it already: its id, nothing written.
    Known(u32),
    /// A new version to write.
    New(u32, Change),
}

#[derive(Debug, Default)]
pub struct State {
    schemas: BTreeMap<u32, Schema>,
    subjects: BTreeMap<String, Vec<Version>>,
    global: Level,
    levels: BTreeMap<String, Level>,
}

fn schema_key(subject: &str, version: i32) -> Value {
    json!({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1})
}

fn config_key(subject: Option<&str>) -> Value {
    json!({"keytype": "CONFIG", "subject": subject, "magic": 0})
}

fn schema_value(subject: &str, version: i32, id: u32, schema: &Schema, deleted: bool) -> Value {
    let mut value =
        json!({"subject": subject, "version": version, "id": id, "schema": schema.text, "deleted": deleted});
    if schema.kind != SchemaType::Avro {
        value["schemaType"] = json!(schema.kind.name());
    }
    value
}

impl State {
    /// Applies a record read from the topic. What this registry does not write (another
    /// registry's NOOP or mode records, say) is passed over; a record that does not parse is
    /// passed over with a warning, as one bad record must not keep the lab from starting.
    pub fn apply_record(&mut self, key: &[u8], value: Option<&[u8]>) {
        let Ok(key) = serde_json::from_slice::<Value>(key) else {
            tracing::warn!("_schemas: a key that is not JSON, passed over");
            return;
        };
        let value = match value.map(serde_json::from_slice::<Value>) {
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => {
                tracing::warn!("_schemas: the value of {key} is not JSON, passed over");
                return;
            }
            None => None,
        };
        self.apply(&Change { key, value });
    }

    pub fn apply(&mut self, change: &Change) {
        let key = &change.key;
        let subject = key.get("subject").and_then(Value::as_str);
        match (key.get("keytype").and_then(Value::as_str), subject) {
            (Some("SCHEMA"), Some(subject)) => {
                let Some(version) = key.get("version").and_then(Value::as_i64).map(|v| v as i32) else { return };
                let versions = self.subjects.entry(subject.to_owned()).or_default();
                versions.retain(|v| v.version != version);
                if let Some(value) = &change.value {
                    let kind = SchemaType::parse(value.get("schemaType").and_then(Value::as_str));
                    let text = value.get("schema").and_then(Value::as_str);
                    let id = value.get("id").and_then(Value::as_u64).map(|i| i as u32);
                    let (Ok(kind), Some(text), Some(id)) = (kind, text, id) else {
                        tracing::warn!("_schemas: {key} has no schema or id, passed over");
                        return;
                    };
                    if let std::collections::btree_map::Entry::Vacant(slot) = self.schemas.entry(id) {
                        match Schema::parse(kind, text) {
                            Ok(schema) => {
                                slot.insert(schema);
                            }
                            Err(e) => {
                                tracing::warn!("_schemas: schema {id} does not parse ({e}), passed over");
                                return;
                            }
                        }
                    }
                    let deleted = value.get("deleted").and_then(Value::as_bool).unwrap_or(false);
                    versions.push(Version { version, id, deleted });
                    versions.sort_by_key(|v| v.version);
                }
                if versions.is_empty() {
                    self.subjects.remove(subject);
                }
            }
            (Some("CONFIG"), subject) => {
                let level =
                    change.value.as_ref().and_then(|v| v.get("compatibilityLevel")?.as_str().and_then(Level::parse));
                match (subject, level) {
                    (None, Some(level)) => self.global = level,
                    (None, None) => self.global = Level::default(),
                    (Some(s), Some(level)) => {
                        self.levels.insert(s.to_owned(), level);
                    }
                    (Some(s), None) => {
                        self.levels.remove(s);
                    }
                }
            }
            _ => {}
        }
    }

    /// A record in the registry's wire format (magic byte 0, the schema's id in four bytes,
    /// then the data), decoded with the schema it names; `None` for any other record, or one
    /// whose schema is not here.
    pub fn decode(&self, bytes: &[u8]) -> Option<Decoded> {
        let id = super::schema_id(bytes)?;
        let data = &bytes[5..];
        let schema = self.schema(id).ok()?;
        match schema.kind {
            SchemaType::Avro => {
                let value = apache_avro::from_avro_datum(schema.avro()?, &mut &data[..], None).ok()?;
                let name = schema.name().unwrap_or_else(|| "Avro".to_owned());
                Some(Decoded::Avro { schema: Some(format!("{name}, schema {id}")), record: avro::to_json(value) })
            }
            SchemaType::Json => serde_json::from_slice(data).ok().map(|json| Decoded::Json { json }),
        }
    }

    /// The live subjects `shown` keeps, each with its level and its versions side by side
    /// with what changed from the one before: the lab's Schema Registry page.
    pub fn view(&self, shown: impl Fn(&str) -> bool) -> Vec<SubjectView> {
        self.subjects
            .keys()
            .filter(|subject| shown(subject))
            .filter_map(|subject| Some((subject, self.live_schemas(subject).ok()?)))
            .map(|(subject, live)| {
                let mut before: Option<&Schema> = None;
                let versions = live
                    .into_iter()
                    .map(|(version, id, schema)| {
                        let changes = before.map(|b| diff::changes(b, schema)).unwrap_or_default();
                        before = Some(schema);
                        SchemaVersionView {
                            version,
                            id,
                            kind: schema.kind.name().to_owned(),
                            name: schema.name(),
                            schema: diff::pretty(schema),
                            changes,
                        }
                    })
                    .collect();
                SubjectView {
                    subject: subject.clone(),
                    level: self.level(Some(subject), true).unwrap_or_default().to_string(),
                    level_set: self.levels.contains_key(subject),
                    versions,
                }
            })
            .collect()
    }

    pub fn subjects(&self, deleted: bool) -> Vec<String> {
        self.subjects
            .iter()
            .filter(|(_, vs)| deleted || vs.iter().any(|v| !v.deleted))
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// A subject's versions; an error when it has none to show.
    fn live(&self, subject: &str, deleted: bool) -> Result<Vec<&Version>, RegistryError> {
        let versions = self.subjects.get(subject).ok_or_else(|| RegistryError::subject_not_found(subject))?;
        let shown: Vec<&Version> = versions.iter().filter(|v| deleted || !v.deleted).collect();
        if shown.is_empty() {
            return Err(RegistryError::subject_not_found(subject));
        }
        Ok(shown)
    }

    /// A subject's live versions, oldest first, each with its schema's id and the schema.
    pub fn live_schemas(&self, subject: &str) -> Result<Vec<(i32, u32, &Schema)>, RegistryError> {
        Ok(self.live(subject, false)?.iter().map(|v| (v.version, v.id, &self.schemas[&v.id])).collect())
    }

    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>, RegistryError> {
        Ok(self.live(subject, deleted)?.iter().map(|v| v.version).collect())
    }

    fn registered(&self, subject: &str, v: &Version) -> Registered {
        Registered { subject: subject.to_owned(), version: v.version, id: v.id, schema: self.schemas[&v.id].clone() }
    }

    /// `version` as the API takes it: a number, or `latest` (or -1).
    pub fn version(&self, subject: &str, version: &str, deleted: bool) -> Result<Registered, RegistryError> {
        let wanted = parse_version(version)?;
        let versions = self.live(subject, deleted)?;
        let found = match wanted {
            None => versions.last().copied(),
            Some(n) => versions.iter().copied().find(|v| v.version == n),
        };
        found.map(|v| self.registered(subject, v)).ok_or_else(|| RegistryError::version_not_found(version))
    }

    pub fn schema(&self, id: u32) -> Result<&Schema, RegistryError> {
        self.schemas.get(&id).ok_or_else(|| RegistryError::schema_not_found(id))
    }

    /// The subjects and versions that hold schema `id`.
    pub fn uses_of(&self, id: u32, deleted: bool) -> Result<Vec<(String, i32)>, RegistryError> {
        self.schema(id)?;
        Ok(self
            .subjects
            .iter()
            .flat_map(|(s, vs)| {
                vs.iter().filter(|v| v.id == id && (deleted || !v.deleted)).map(|v| (s.clone(), v.version))
            })
            .collect())
    }

    /// The version of `subject` that holds `schema`.
    pub fn lookup(&self, subject: &str, schema: &Schema, deleted: bool) -> Result<Registered, RegistryError> {
        let versions = self.live(subject, deleted)?;
        versions
            .iter()
            .rev()
            .find(|v| self.schemas[&v.id].kind == schema.kind && self.schemas[&v.id].value == schema.value)
            .map(|v| self.registered(subject, v))
            .ok_or_else(RegistryError::schema_not_registered)
    }

    /// The level a subject is checked at: its own, else the global one. `None` asks for the
    /// global level; `fallback` false makes a subject without its own an error (Confluent's
    /// `GET /config/SUBJECT` without `defaultToGlobal`).
    pub fn level(&self, subject: Option<&str>, fallback: bool) -> Result<Level, RegistryError> {
        match subject {
            None => Ok(self.global),
            Some(s) => match self.levels.get(s) {
                Some(level) => Ok(*level),
                None if fallback => Ok(self.global),
                None => Err(RegistryError::level_not_configured(s)),
            },
        }
    }

    /// Why `schema` may not follow `subject`'s versions (the latest, or `version`), under the
    /// subject's level; empty when it may. A subject without versions takes anything.
    pub fn compatibility(
        &self,
        subject: &str,
        schema: &Schema,
        version: Option<&str>,
    ) -> Result<Vec<String>, RegistryError> {
        let level = self.level(Some(subject), true)?;
        let versions = self.live_schemas(subject).unwrap_or_default();
        let earlier: Vec<(i32, &Schema)> = match version {
            None => versions.iter().map(|&(version, _, schema)| (version, schema)).collect(),
            Some(version) => {
                if versions.is_empty() {
                    parse_version(version)?;
                    return Err(RegistryError::subject_not_found(subject));
                }
                let one = self.version(subject, version, false)?;
                // One version named: checked against it alone, whatever the level's reach.
                let level = match level {
                    Level::BackwardTransitive => Level::Backward,
                    Level::ForwardTransitive => Level::Forward,
                    Level::FullTransitive => Level::Full,
                    other => other,
                };
                return Ok(compat::check(level, schema, &[(one.version, &self.schemas[&one.id])]));
            }
        };
        Ok(compat::check(level, schema, &earlier))
    }

    /// Registering `schema` under `subject`: its id if the subject holds it already, else the
    /// new version to write, checked against the subject's level.
    pub fn register(&self, subject: &str, schema: Schema) -> Result<Registration, RegistryError> {
        if let Ok(known) = self.lookup(subject, &schema, false) {
            return Ok(Registration::Known(known.id));
        }
        let problems = self.compatibility(subject, &schema, None)?;
        if !problems.is_empty() {
            return Err(RegistryError::incompatible(subject, &problems));
        }
        // The same schema keeps its id across subjects, as in Confluent's registry.
        let id = self
            .schemas
            .iter()
            .find(|(_, s)| s.kind == schema.kind && s.value == schema.value)
            .map(|(id, _)| *id)
            .unwrap_or_else(|| self.schemas.keys().last().map_or(1, |id| id + 1));
        let version = self.subjects.get(subject).and_then(|vs| vs.last()).map_or(1, |v| v.version + 1);
        let value = schema_value(subject, version, id, &schema, false);
        Ok(Registration::New(id, Change { key: schema_key(subject, version), value: Some(value) }))
    }

    /// Deleting a subject: softly (its versions hidden, their numbers kept) or, once soft
    /// deleted, for good.
    pub fn delete_subject(&self, subject: &str, permanent: bool) -> Result<(Vec<i32>, Vec<Change>), RegistryError> {
        let versions = self.subjects.get(subject).ok_or_else(|| RegistryError::subject_not_found(subject))?;
        let live: Vec<&Version> = versions.iter().filter(|v| !v.deleted).collect();
        if permanent {
            if !live.is_empty() {
                return Err(RegistryError::subject_not_soft_deleted(subject));
            }
            let changes =
                versions.iter().map(|v| Change { key: schema_key(subject, v.version), value: None }).collect();
            return Ok((versions.iter().map(|v| v.version).collect(), changes));
        }
        if live.is_empty() {
            return Err(RegistryError::subject_soft_deleted(subject));
        }
        let changes = live.iter().map(|v| self.soft_delete(subject, v)).collect();
        Ok((live.iter().map(|v| v.version).collect(), changes))
    }

    fn soft_delete(&self, subject: &str, v: &Version) -> Change {
        let value = schema_value(subject, v.version, v.id, &self.schemas[&v.id], true);
        Change { key: schema_key(subject, v.version), value: Some(value) }
    }

    pub fn delete_version(
        &self,
        subject: &str,
        version: &str,
        permanent: bool,
    ) -> Result<(i32, Change), RegistryError> {
        let found = self.version(subject, version, permanent)?;
        let v = self.subjects[subject].iter().find(|v| v.version == found.version).expect("found above");
        match (permanent, v.deleted) {
            (true, true) => Ok((v.version, Change { key: schema_key(subject, v.version), value: None })),
            (true, false) => Err(RegistryError::version_not_soft_deleted(subject, v.version)),
            (false, _) => Ok((v.version, self.soft_delete(subject, v))),
        }
    }

    /// Setting (`Some`) or removing a level, the global one when `subject` is `None`.
    pub fn set_level(subject: Option<&str>, level: Option<Level>) -> Change {
        Change { key: config_key(subject), value: level.map(|l| json!({"compatibilityLevel": l.to_string()})) }
    }
}

/// A version as the API takes it; `None` is the latest.
fn parse_version(version: &str) -> Result<Option<i32>, RegistryError> {
    match version {
        "latest" | "-1" => Ok(None),
        n => match n.parse::<i32>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(RegistryError::invalid_version(version)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"{"type":"record","name":"S","fields":[{"name":"id","type":"string"}]}"#;
    const V2: &str = r#"{"type":"record","name":"S","fields":[{"name":"id","type":"string"},{"name":"u","type":"string","default":"C"}]}"#;

    fn avro(text: &str) -> Schema {
        Schema::parse(SchemaType::Avro, text).unwrap()
    }

    fn register(state: &mut State, subject: &str, text: &str) -> Result<u32, RegistryError> {
        match state.register(subject, avro(text))? {
            Registration::Known(id) => Ok(id),
            Registration::New(id, change) => {
                state.apply(&change);
                Ok(id)
            }
        }
    }

    #[test]
    fn versions_ids_and_deletes_follow_confluents_rules() {
        let mut s = State::default();
        assert_eq!(register(&mut s, "a-value", V1).unwrap(), 1);
        assert_eq!(register(&mut s, "a-value", V1).unwrap(), 1, "registering again changes nothing");
        assert_eq!(register(&mut s, "a-value", V2).unwrap(), 2);
        assert_eq!(register(&mut s, "b-value", V1).unwrap(), 1, "the same schema keeps its id in another subject");
        assert_eq!(s.versions("a-value", false).unwrap(), vec![1, 2]);
        assert_eq!(s.version("a-value", "latest", false).unwrap().id, 2);
        assert_eq!(s.uses_of(1, false).unwrap(), vec![("a-value".into(), 1), ("b-value".into(), 1)]);

        let e = s.delete_version("a-value", "1", true).unwrap_err();
        assert_eq!((e.code, e.status), (40407, 404));
        let (v, change) = s.delete_version("a-value", "1", false).unwrap();
        s.apply(&change);
        assert_eq!(v, 1);
        assert_eq!(s.versions("a-value", false).unwrap(), vec![2]);
        assert_eq!(s.versions("a-value", true).unwrap(), vec![1, 2]);
        let (_, change) = s.delete_version("a-value", "1", true).unwrap();
        s.apply(&change);
        assert_eq!(s.versions("a-value", true).unwrap(), vec![2]);

        assert_eq!(s.delete_subject("b-value", true).unwrap_err().code, 40405);
        let (versions, changes) = s.delete_subject("b-value", false).unwrap();
        changes.iter().for_each(|c| s.apply(c));
        assert_eq!(versions, vec![1]);
        assert_eq!(s.subjects(false), vec!["a-value".to_owned()]);
        assert_eq!(s.delete_subject("b-value", false).unwrap_err().code, 40404);
        // A soft-deleted subject's numbers go on.
        assert_eq!(register(&mut s, "b-value", V2).unwrap(), 2);
        assert_eq!(s.versions("b-value", false).unwrap(), vec![2]);
        assert_eq!(s.version("nope", "1", false).unwrap_err().code, 40401);
        assert_eq!(s.version("a-value", "7", false).unwrap_err().code, 40402);
        assert_eq!(s.version("a-value", "x", false).unwrap_err().code, 42202);
    }

    #[test]
    fn an_incompatible_schema_is_refused_and_levels_are_per_subject() {
        let mut s = State::default();
        register(&mut s, "a-value", V1).unwrap();
        let no_default =
            r#"{"type":"record","name":"S","fields":[{"name":"id","type":"string"},{"name":"u","type":"string"}]}"#;
        let e = register(&mut s, "a-value", no_default).unwrap_err();
        assert_eq!((e.status, e.code), (409, 409));
        assert!(
            e.message.starts_with(
                "Schema being registered is incompatible with an earlier schema for subject \"a-value\", details: [{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'"
            ),
            "{}",
            e.message
        );
        assert_eq!(s.level(Some("a-value"), false).unwrap_err().code, 40408);
        s.apply(&State::set_level(Some("a-value"), Some(Level::None)));
        assert_eq!(s.level(Some("a-value"), false).unwrap(), Level::None);
        assert_eq!(register(&mut s, "a-value", no_default).unwrap(), 2);
        s.apply(&State::set_level(Some("a-value"), None));
        assert_eq!(s.level(Some("a-value"), true).unwrap(), Level::Backward);
    }

    #[test]
    fn the_topics_records_rebuild_the_same_state() {
        let mut s = State::default();
        let mut log = Vec::new();
        for (subject, text) in [("a-value", V1), ("a-value", V2)] {
            if let Registration::New(_, change) = s.register(subject, avro(text)).unwrap() {
                s.apply(&change);
                log.push(change);
            }
        }
        let (_, change) = s.delete_version("a-value", "1", false).unwrap();
        s.apply(&change);
        log.push(change);
        log.push(State::set_level(None, Some(Level::Full)));
        let mut again = State::default();
        for c in &log {
            let value = c.value.as_ref().map(|v| serde_json::to_vec(v).unwrap());
            again.apply_record(&serde_json::to_vec(&c.key).unwrap(), value.as_deref());
        }
        again.apply_record(b"not json", Some(b"{}"));
        assert_eq!(again.versions("a-value", true).unwrap(), vec![1, 2]);
        assert_eq!(again.versions("a-value", false).unwrap(), vec![2]);
        assert_eq!(again.level(None, false).unwrap(), Level::Full);
        assert_eq!(again.schema(2).unwrap().text, V2);
    }
}
