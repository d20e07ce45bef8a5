//! The Schema Registry's REST API on its own address (`--schema-registry-addr`, 8081 as in
//! the course): Confluent's routes, bodies, error codes and content type, so its clients and
//! a course's `curl` lines work unchanged. The registry itself is `kafka::registry`.

use crate::kafka::registry::compat::Level;
use crate::kafka::registry::schema::{Schema, SchemaType};
use crate::kafka::registry::state::{Registered, State as Held};
use crate::kafka::registry::{Registry, RegistryError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Confluent's media type; its clients accept plain JSON too, but say this one first.
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

type Flags = Query<HashMap<String, String>>;
type Answer = Result<Response, RegistryError>;

pub fn registry_app(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/", get(|| async { reply(json!({})) }))
        .route("/subjects", get(subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route("/subjects/{subject}/versions", get(versions).post(register))
        .route("/subjects/{subject}/versions/{version}", get(version).delete(delete_version))
        .route("/subjects/{subject}/versions/{version}/schema", get(version_schema))
        .route("/subjects/{subject}/versions/{version}/referencedby", get(referenced_by))
        .route("/schemas/types", get(|| async { reply(json!(["JSON", "AVRO"])) }))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/schema", get(raw_schema_by_id))
        .route("/schemas/ids/{id}/versions", get(id_versions))
        .route("/schemas/ids/{id}/subjects", get(id_subjects))
        .route("/config", get(global_level).put(set_global_level))
        .route("/config/{subject}", get(subject_level).put(set_subject_level).delete(delete_subject_level))
        .route("/compatibility/subjects/{subject}/versions/{version}", post(compatible_with_version))
        .route("/compatibility/subjects/{subject}/versions", post(compatible_with_all))
        // Only READWRITE: there is no import mode to switch to.
        .route("/mode", get(|| async { reply(json!({"mode": "READWRITE"})) }))
        .route("/mode/{subject}", get(|| async { reply(json!({"mode": "READWRITE"})) }))
        .fallback(|| async { error(RegistryError { status: 404, code: 404, message: "HTTP 404 Not Found".into() }) })
        .with_state(registry)
}

fn reply(body: Value) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body.to_string()).into_response()
}

fn error(e: RegistryError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error_code": e.code, "message": e.message});
    (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], body.to_string()).into_response()
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        error(self)
    }
}

fn flag(flags: &Flags, name: &str) -> bool {
    flags.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A request's JSON body, whatever content type it was sent with (Confluent's clients send
/// their own; `curl` users send either).
fn body(bytes: &Bytes) -> Result<Value, RegistryError> {
    serde_json::from_slice(bytes).map_err(|e| RegistryError::unprocessable(format!("the body is not JSON: {e}")))
}

/// The schema a request carries.
fn schema_of(request: &Value) -> Result<Schema, RegistryError> {
    if request.get("references").and_then(Value::as_array).is_some_and(|r| !r.is_empty()) {
        return Err(RegistryError::invalid_schema("schema references are not supported by the lab's registry"));
    }
    let kind = SchemaType::parse(request.get("schemaType").and_then(Value::as_str))
        .map_err(|e| RegistryError::invalid_schema(&e))?;
    let text = request
        .get("schema")
        .and_then(Value::as_str)
        .ok_or_else(|| RegistryError::invalid_schema("the body has no \"schema\" (the schema as a string)"))?;
    Schema::parse(kind, text).map_err(|e| RegistryError::invalid_schema(&e))
}

fn id_of(id: &str) -> Result<u32, RegistryError> {
    id.parse().map_err(|_| RegistryError::schema_not_found(0))
}

/// A version as the API answers it: no `schemaType` for Avro, as in Confluent's.
fn registered(r: &Registered) -> Value {
    let mut v = json!({"subject": r.subject, "version": r.version, "id": r.id, "schema": r.schema.text});
    if r.schema.kind != SchemaType::Avro {
        v["schemaType"] = json!(r.schema.kind.name());
    }
    v
}

async fn subjects(State(r): State<Arc<Registry>>, flags: Flags) -> Response {
    let prefix = flags.get("subjectPrefix").cloned().unwrap_or_default();
    let subjects: Vec<String> =
        r.read().subjects(flag(&flags, "deleted")).into_iter().filter(|s| s.starts_with(&prefix)).collect();
    reply(json!(subjects))
}

async fn versions(State(r): State<Arc<Registry>>, Path(subject): Path<String>, flags: Flags) -> Answer {
    Ok(reply(json!(r.read().versions(&subject, flag(&flags, "deleted"))?)))
}

async fn version(State(r): State<Arc<Registry>>, Path((subject, v)): Path<(String, String)>, flags: Flags) -> Answer {
    Ok(reply(registered(&r.read().version(&subject, &v, flag(&flags, "deleted"))?)))
}

async fn version_schema(State(r): State<Arc<Registry>>, Path((subject, v)): Path<(String, String)>) -> Answer {
    let text = r.read().version(&subject, &v, false)?.schema.text;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

async fn referenced_by(State(r): State<Arc<Registry>>, Path((subject, v)): Path<(String, String)>) -> Answer {
    // References are not taken, so nothing refers to anything.
    r.read().version(&subject, &v, false)?;
    Ok(reply(json!([])))
}

async fn register(State(r): State<Arc<Registry>>, Path(subject): Path<String>, bytes: Bytes) -> Answer {
    let schema = schema_of(&body(&bytes)?)?;
    let id = r.register(&subject, schema).await?;
    Ok(reply(json!({"id": id})))
}

async fn lookup(State(r): State<Arc<Registry>>, Path(subject): Path<String>, flags: Flags, bytes: Bytes) -> Answer {
    let schema = schema_of(&body(&bytes)?)?;
    Ok(reply(registered(&r.read().lookup(&subject, &schema, flag(&flags, "deleted"))?)))
}

async fn delete_subject(State(r): State<Arc<Registry>>, Path(subject): Path<String>, flags: Flags) -> Answer {
    let permanent = flag(&flags, "permanent");
    let versions = r.change(|s: &Held| s.delete_subject(&subject, permanent)).await?;
    Ok(reply(json!(versions)))
}

async fn delete_version(
    State(r): State<Arc<Registry>>,
    Path((subject, v)): Path<(String, String)>,
    flags: Flags,
) -> Answer {
    let permanent = flag(&flags, "permanent");
    let version = r.change(|s: &Held| s.delete_version(&subject, &v, permanent).map(|(n, c)| (n, vec![c]))).await?;
    Ok(reply(json!(version)))
}

async fn schema_by_id(State(r): State<Arc<Registry>>, Path(id): Path<String>) -> Answer {
    let state = r.read();
    let schema = state.schema(id_of(&id)?)?;
    let mut v = json!({"schema": schema.text});
    if schema.kind != SchemaType::Avro {
        v["schemaType"] = json!(schema.kind.name());
    }
    Ok(reply(v))
}

async fn raw_schema_by_id(State(r): State<Arc<Registry>>, Path(id): Path<String>) -> Answer {
    let text = r.read().schema(id_of(&id)?)?.text.clone();
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

async fn id_versions(State(r): State<Arc<Registry>>, Path(id): Path<String>, flags: Flags) -> Answer {
    let uses = r.read().uses_of(id_of(&id)?, flag(&flags, "deleted"))?;
    Ok(reply(json!(uses.iter().map(|(s, v)| json!({"subject": s, "version": v})).collect::<Vec<_>>())))
}

async fn id_subjects(State(r): State<Arc<Registry>>, Path(id): Path<String>, flags: Flags) -> Answer {
    let mut subjects: Vec<String> =
        r.read().uses_of(id_of(&id)?, flag(&flags, "deleted"))?.into_iter().map(|(s, _)| s).collect();
    subjects.dedup();
    Ok(reply(json!(subjects)))
}

fn level_of(request: &Value) -> Result<Level, RegistryError> {
    request.get("compatibility").and_then(Value::as_str).and_then(Level::parse).ok_or_else(RegistryError::invalid_level)
}

async fn global_level(State(r): State<Arc<Registry>>) -> Answer {
    Ok(reply(json!({"compatibilityLevel": r.read().level(None, true)?.to_string()})))
}

async fn subject_level(State(r): State<Arc<Registry>>, Path(subject): Path<String>, flags: Flags) -> Answer {
    let level = r.read().level(Some(&subject), flag(&flags, "defaultToGlobal"))?;
    Ok(reply(json!({"compatibilityLevel": level.to_string()})))
}

async fn set_global_level(State(r): State<Arc<Registry>>, bytes: Bytes) -> Answer {
    let level = level_of(&body(&bytes)?)?;
    r.change(|_: &Held| Ok(((), vec![Held::set_level(None, Some(level))]))).await?;
    Ok(reply(json!({"compatibility": level.to_string()})))
}

async fn set_subject_level(State(r): State<Arc<Registry>>, Path(subject): Path<String>, bytes: Bytes) -> Answer {
    let level = level_of(&body(&bytes)?)?;
    r.change(|_: &Held| Ok(((), vec![Held::set_level(Some(&subject), Some(level))]))).await?;
    Ok(reply(json!({"compatibility": level.to_string()})))
}

async fn delete_subject_level(State(r): State<Arc<Registry>>, Path(subject): Path<String>) -> Answer {
    let was = r
        .change(|s: &Held| {
            let was = s.level(Some(&subject), false)?;
            Ok((was, vec![Held::set_level(Some(&subject), None)]))
        })
        .await?;
    Ok(reply(json!({"compatibilityLevel": was.to_string()})))
}

fn compatibility(problems: Vec<String>, flags: &Flags) -> Response {
    let mut answer = json!({"is_compatible": problems.is_empty()});
    if flag(flags, "verbose") {
        answer["messages"] = json!(problems);
    }
    reply(answer)
}

async fn compatible_with_version(
    State(r): State<Arc<Registry>>,
    Path((subject, v)): Path<(String, String)>,
    flags: Flags,
    bytes: Bytes,
) -> Answer {
    let schema = schema_of(&body(&bytes)?)?;
    let problems = r.read().compatibility(&subject, &schema, Some(&v))?;
    Ok(compatibility(problems, &flags))
}

async fn compatible_with_all(
    State(r): State<Arc<Registry>>,
    Path(subject): Path<String>,
    flags: Flags,
    bytes: Bytes,
) -> Answer {
    let schema = schema_of(&body(&bytes)?)?;
    let problems = r.read().compatibility(&subject, &schema, None)?;
    Ok(compatibility(problems, &flags))
}
