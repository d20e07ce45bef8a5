//! The Schema Registry's REST API on its own address (`--schema-registry-addr`, 8081 as in
//! the course): Confluent's routes, bodies, error codes and content type, so its clients and
//! a course's `curl` lines work unchanged. The registry itself is `kafka::registry`.
//!
//! Who may do what is the lab's table ([`Access`]), with a subject standing for a topic:
//! a subject is its namespace's (`ada.sensor_readings-value` is Ada's) and reading,
//! registering (and setting its level) and deleting are the topic's read, write and delete.
//! Schemas by id stay readable by all, as every consumer of a lab topic needs them; lists
//! show what the caller may read; the global level is the teacher's. The token comes as
//! Confluent's clients send credentials (`basic.auth.user.info` = `NAME:TOKEN`) or as
//! `Authorization: Bearer TOKEN`.

use super::access::{Access, Act, Caller, Denied};
use crate::kafka::registry::compat::Level;
use crate::kafka::registry::schema::{Schema, SchemaType};
use crate::kafka::registry::state::{Registered, State as Held};
use crate::kafka::registry::{Registry, RegistryError};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRef, MatchedPath, Path, Query, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Confluent's media type; its clients accept plain JSON too, but say this one first.
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

type Flags = Query<HashMap<String, String>>;
type Answer = Result<Response, RegistryError>;

/// What the routes read: the registry, and the lab's rules for who may change it.
#[derive(Clone)]
struct Served {
    registry: Arc<Registry>,
    access: Arc<Access>,
}

impl FromRef<Served> for Arc<Registry> {
    fn from_ref(s: &Served) -> Self {
        s.registry.clone()
    }
}

impl FromRef<Served> for Arc<Access> {
    fn from_ref(s: &Served) -> Self {
        s.access.clone()
    }
}

/// The registry's API under the lab's `access` rules; serve it with the callers' addresses
/// (`into_make_service_with_connect_info`), which tell the teacher on the lab's machine.
pub fn registry_app(registry: Arc<Registry>, access: Arc<Access>) -> Router {
    let served = Served { registry, access };
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
        // versions or subjects (`schema` above is the more specific route, and wins).
        .route("/schemas/ids/{id}/{uses}", get(id_uses))
        .route("/config", get(global_level).put(set_global_level))
        .route("/config/{subject}", get(subject_level).put(set_subject_level).delete(delete_subject_level))
        .route("/compatibility/subjects/{subject}/versions/{version}", post(compatible_with_version))
        .route("/compatibility/subjects/{subject}/versions", post(compatible_with_all))
        // Only READWRITE: there is no import mode to switch to.
        .route("/mode", get(|| async { reply(json!({"mode": "READWRITE"})) }))
        .route("/mode/{subject}", get(|| async { reply(json!({"mode": "READWRITE"})) }))
        .route_layer(middleware::from_fn_with_state(served.clone(), guard))
        .fallback(|| async { not_found() })
        .with_state(served)
}

/// What a route does, for the rules: the subject it reads or changes, if any.
#[derive(Debug, PartialEq)]
enum Rule {
    Open,
    Subject(Act),
    Teacher,
}

fn rule(method: &Method, route: &str) -> Rule {
    let changes = *method == Method::PUT || *method == Method::DELETE;
    match route {
        "/config" if changes => Rule::Teacher,
        _ if route.starts_with("/subjects/{subject}") && *method == Method::DELETE => Rule::Subject(Act::Delete),
        "/subjects/{subject}/versions" if *method == Method::POST => Rule::Subject(Act::Write),
        "/config/{subject}" if changes => Rule::Subject(Act::Write),
        // Reading a subject, looking a schema up in it, asking whether one would be compatible.
        _ if route.contains("{subject}") => Rule::Subject(Act::Read),
        _ => Rule::Open,
    }
}

/// Who is calling, by the token in `Authorization` (Basic: the password; Bearer: the token).
fn token(headers: &HeaderMap) -> Option<String> {
    let value = String::from_utf8_lossy(headers.get(header::AUTHORIZATION)?.as_bytes()).into_owned();
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(token.to_owned());
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(value.strip_prefix("Basic ")?.trim()).ok()?;
    let pair = String::from_utf8_lossy(&decoded).into_owned();
    pair.split_once(':').map(|(_, password)| password.to_owned())
}

fn denied(d: Denied) -> Response {
    let code = if d.status == StatusCode::UNAUTHORIZED { 40101 } else { 40301 };
    error(RegistryError { status: d.status.as_u16(), code, message: d.message })
}

/// Identifies the caller and holds the route to the rules before it runs.
async fn guard(
    State(access): State<Arc<Access>>,
    route: MatchedPath,
    params: RawPathParams,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let caller = match access.identify(token(request.headers()).as_deref(), peer) {
        Ok(caller) => caller,
        Err(d) => return denied(d),
    };
    let subject = params.iter().find(|(name, _)| *name == "subject").map(|(_, value)| value.to_owned());
    let allowed = match (rule(request.method(), route.as_str()), &subject) {
        (Rule::Subject(act), Some(subject)) => access.subject(&caller, act, subject),
        (Rule::Teacher, _) => access.teacher(&caller, "change the registry's global compatibility level"),
        _ => Ok(()),
    };
    if let Err(d) = allowed {
        return denied(d);
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// What Confluent's registry answers a path it has no route for.
fn not_found() -> Response {
    error(RegistryError { status: 404, code: 404, message: "HTTP 404 Not Found".into() })
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

async fn subjects(
    State(r): State<Arc<Registry>>,
    State(access): State<Arc<Access>>,
    Extension(caller): Extension<Caller>,
    flags: Flags,
) -> Response {
    let prefix = flags.get("subjectPrefix").cloned().unwrap_or_default();
    let subjects: Vec<String> = r
        .read()
        .subjects(flag(&flags, "deleted"))
        .into_iter()
        .filter(|s| s.starts_with(&prefix) && access.visible(&caller, s))
        .collect();
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

/// `/schemas/ids/ID/versions` and `/schemas/ids/ID/subjects`: where the schema is registered,
/// as far as the caller may read.
async fn id_uses(
    State(r): State<Arc<Registry>>,
    State(access): State<Arc<Access>>,
    Extension(caller): Extension<Caller>,
    Path((id, what)): Path<(String, String)>,
    flags: Flags,
) -> Answer {
    let uses = r.read().uses_of(id_of(&id)?, flag(&flags, "deleted"))?;
    let seen = uses.into_iter().filter(|(s, _)| access.visible(&caller, s));
    Ok(match what.as_str() {
        "versions" => reply(json!(seen.map(|(s, v)| json!({"subject": s, "version": v})).collect::<Vec<_>>())),
        "subjects" => {
            let mut subjects: Vec<String> = seen.map(|(s, _)| s).collect();
            subjects.dedup();
            reply(json!(subjects))
        }
        _ => not_found(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_is_read_write_delete_or_the_teachers() {
        let cases = [
            (Method::GET, "/subjects", Rule::Open),
            (Method::GET, "/schemas/ids/{id}", Rule::Open),
            (Method::GET, "/config", Rule::Open),
            (Method::PUT, "/config", Rule::Teacher),
            (Method::GET, "/subjects/{subject}/versions", Rule::Subject(Act::Read)),
            (Method::POST, "/subjects/{subject}", Rule::Subject(Act::Read)),
            (Method::POST, "/compatibility/subjects/{subject}/versions/{version}", Rule::Subject(Act::Read)),
            (Method::POST, "/subjects/{subject}/versions", Rule::Subject(Act::Write)),
            (Method::PUT, "/config/{subject}", Rule::Subject(Act::Write)),
            (Method::DELETE, "/config/{subject}", Rule::Subject(Act::Write)),
            (Method::GET, "/config/{subject}", Rule::Subject(Act::Read)),
            (Method::DELETE, "/subjects/{subject}", Rule::Subject(Act::Delete)),
            (Method::DELETE, "/subjects/{subject}/versions/{version}", Rule::Subject(Act::Delete)),
        ];
        for (method, route, want) in cases {
            assert_eq!(rule(&method, route), want, "{method} {route}");
        }
    }

    #[test]
    fn the_token_is_a_basic_password_or_a_bearer_token() {
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            token(&h)
        };
        let basic = base64::engine::general_purpose::STANDARD.encode("ada:s3cr:et");
        assert_eq!(with(&format!("Basic {basic}")).as_deref(), Some("s3cr:et"));
        assert_eq!(with("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("Basic !!!"), None);
        assert_eq!(token(&HeaderMap::new()), None);
    }
}
