//! The lab's HTTP API under `/api`: what the browser lab shows, for scripts too. Every error
//! is JSON `{"error": ".."}` with a status that says whose fault it was.

use crate::exercises::{CatalogError, Namespace};
use crate::web::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use streamlab_wire::{
    ApiError, CheckReport, ClassReport, ClusterInfo, CreateTopic, ExerciseInfo, GeneratorControl, GeneratorStatus,
    GroupInfo, InferenceStatus, ModelSummary, ProduceRecord, Produced, RateSample, RecordView, ResetOffsets,
    StartPosition, StudentReport, TopicInfo,
};

/// An API failure: a status and a message.
#[derive(Debug)]
pub struct Failure(pub StatusCode, pub String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(ApiError { error: self.1 })).into_response()
    }
}

fn bad(message: impl ToString) -> Failure {
    Failure(StatusCode::BAD_REQUEST, message.to_string())
}

fn internal(message: impl ToString) -> Failure {
    Failure(StatusCode::INTERNAL_SERVER_ERROR, message.to_string())
}

/// Unreadable JSON bodies get the same `{"error"}` shape as everything else.
fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, Failure> {
    body.map(|Json(t)| t).map_err(|e| Failure(e.status(), format!("cannot read the request body: {}", e.body_text())))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, Failure> + Send + 'static) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f).await.map_err(internal)?
}

fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), Failure> {
    let presented = headers
        .get("x-admin-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")));
    if state.limits.admits(presented) {
        Ok(())
    } else {
        Err(Failure(
            StatusCode::UNAUTHORIZED,
            "this action needs the lab's admin token (header `Authorization: Bearer TOKEN`)".into(),
        ))
    }
}

/// Refuses a client that sends more than the limit's requests per second.
pub async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = request.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(ip) = client
        && !state.limiter.allow(ip)
    {
        return Failure(
            StatusCode::TOO_MANY_REQUESTS,
            format!("more than {} requests per second; slow down", state.limits.requests_per_second),
        )
        .into_response();
    }
    next.run(request).await
}

pub async fn cluster(State(state): State<AppState>) -> Result<Json<ClusterInfo>, Failure> {
    let (reader, info) = (state.cluster.clone(), state.info.clone());
    blocking(move || {
        reader
            .cluster(&info.brokers, info.embedded_broker)
            .map_err(|e| Failure(StatusCode::BAD_GATEWAY, format!("{e:#}")))
    })
    .await
    .map(Json)
}

pub async fn topics(State(state): State<AppState>) -> Json<Vec<TopicInfo>> {
    Json(state.live.topics.borrow().clone())
}

pub async fn create_topic(
    State(state): State<AppState>,
    b: Result<Json<CreateTopic>, JsonRejection>,
) -> Result<(StatusCode, Json<CreateTopic>), Failure> {
    use crate::cluster::TopicError;
    let t = body(b)?;
    match crate::cluster::create_topic(&state.kafka, &t.name, t.partitions).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(t))),
        Err(e @ TopicError::Exists(_)) => Err(Failure(StatusCode::CONFLICT, e.to_string())),
        Err(e @ TopicError::Broker(_)) => Err(Failure(StatusCode::BAD_GATEWAY, e.to_string())),
        Err(e) => Err(bad(e)),
    }
}

pub async fn delete_topic(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, Failure> {
    use crate::cluster::TopicError;
    require_admin(&state, &headers)?;
    match crate::cluster::delete_topic(&state.kafka, &name).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(e @ TopicError::Missing(_)) => Err(Failure(StatusCode::NOT_FOUND, e.to_string())),
        Err(e @ TopicError::Broker(_)) => Err(Failure(StatusCode::BAD_GATEWAY, e.to_string())),
        Err(e) => Err(bad(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct ReadQuery {
    /// earliest | latest | newest:N | offset:N | timestamp:MS
    from: Option<String>,
    /// Comma-separated partition ids.
    partitions: Option<String>,
    limit: Option<usize>,
}

/// Parses `from=` of a read.
pub fn parse_start(s: &str) -> Result<StartPosition, String> {
    let number = |v: &str| v.parse::<i64>().map_err(|_| format!("`{v}` is not a number"));
    Ok(match s.split_once(':') {
        None if s == "earliest" => StartPosition::Earliest,
        None if s == "latest" => StartPosition::Latest,
        Some(("newest", n)) => StartPosition::Newest { count: number(n)? },
        Some(("offset", n)) => StartPosition::Offset { offset: number(n)? },
        Some(("timestamp", n)) => StartPosition::Timestamp { ms: number(n)? },
        _ => return Err(format!("from must be earliest, latest, newest:N, offset:N or timestamp:MS, got `{s}`")),
    })
}

fn records_failure(e: crate::records::RecordsError) -> Failure {
    use crate::records::RecordsError as E;
    match e {
        E::NoTopic(_) | E::NoPartition { .. } => Failure(StatusCode::NOT_FOUND, e.to_string()),
        E::TooLarge { .. } => Failure(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        E::Invalid(_) => bad(e),
        E::Kafka(_) => Failure(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

pub async fn read_records(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    Query(q): Query<ReadQuery>,
) -> Result<Json<Vec<RecordView>>, Failure> {
    let from = q.from.as_deref().map_or(Ok(StartPosition::Newest { count: 20 }), parse_start).map_err(bad)?;
    let partitions = match q.partitions.as_deref() {
        Some(p) => Some(
            p.split(',')
                .map(|x| x.trim().parse::<i32>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| bad("partitions must be ids like 0,2"))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(bad("limit must be between 1 and 1000"));
    }
    let kafka = state.kafka.clone();
    blocking(move || crate::records::read(&kafka, &topic, from, partitions.as_deref(), limit).map_err(records_failure))
        .await
        .map(Json)
}

pub async fn produce(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    b: Result<Json<ProduceRecord>, JsonRejection>,
) -> Result<(StatusCode, Json<Produced>), Failure> {
    let record = body(b)?;
    crate::cluster::validate_topic_name(&topic).map_err(bad)?;
    // Only to existing topics: a typo should not quietly create a new one.
    if !state.live.topics.borrow().iter().any(|t| t.name == topic) {
        let kafka = state.kafka.clone();
        let t = topic.clone();
        blocking(move || {
            let c: rdkafka::consumer::BaseConsumer = kafka.client().create().map_err(internal)?;
            crate::records::partitions(&c, &t, None).map_err(records_failure)
        })
        .await?;
    }
    crate::records::produce(&state.producer, &topic, &record, state.limits.max_record_bytes)
        .await
        .map(|p| (StatusCode::CREATED, Json(p)))
        .map_err(records_failure)
}

pub async fn groups(State(state): State<AppState>) -> Json<Vec<GroupInfo>> {
    Json(state.live.groups.borrow().clone())
}

pub async fn group(State(state): State<AppState>, Path(group): Path<String>) -> Result<Json<GroupInfo>, Failure> {
    state
        .live
        .groups
        .borrow()
        .iter()
        .find(|g| g.group == group)
        .cloned()
        .map(Json)
        .ok_or_else(|| Failure(StatusCode::NOT_FOUND, format!("group {group} does not exist")))
}

pub async fn reset_group(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(group): Path<String>,
    b: Result<Json<ResetOffsets>, JsonRejection>,
) -> Result<Json<GroupInfo>, Failure> {
    use crate::groups::GroupError as E;
    require_admin(&state, &headers)?;
    let reset = body(b)?;
    let (reader, cluster) = (state.groups.clone(), state.cluster.clone());
    blocking(move || {
        let topics = cluster.topics().map_err(|e| Failure(StatusCode::BAD_GATEWAY, format!("{e:#}")))?;
        reader.reset(&group, &reset, &topics).map_err(|e| match e {
            E::Missing(_) | E::NoTopic(_) => Failure(StatusCode::NOT_FOUND, e.to_string()),
            E::Active { .. } => Failure(StatusCode::CONFLICT, e.to_string()),
            E::NothingCommitted(_) => bad(e),
            E::Kafka(_) => Failure(StatusCode::BAD_GATEWAY, e.to_string()),
        })
    })
    .await
    .map(Json)
}

pub async fn rates(State(state): State<AppState>) -> Json<Vec<RateSample>> {
    Json(state.live.history())
}

pub async fn inference(State(state): State<AppState>) -> Json<InferenceStatus> {
    Json(state.live.inference.borrow().clone())
}

pub async fn generator(State(state): State<AppState>) -> Json<GeneratorStatus> {
    Json(state.generator.status())
}

pub async fn control_generator(
    State(state): State<AppState>,
    b: Result<Json<GeneratorControl>, JsonRejection>,
) -> Result<Json<GeneratorStatus>, Failure> {
    let control = body(b)?;
    let generator = state.generator.clone();
    blocking(move || generator.control(&control).map_err(bad)).await.map(Json)
}

pub async fn model(State(state): State<AppState>) -> Json<ModelSummary> {
    Json((*state.model).clone())
}

pub async fn exercises(State(state): State<AppState>) -> Json<Vec<ExerciseInfo>> {
    Json(state.checker.catalog.exercises.iter().map(|e| e.info.clone()).collect())
}

#[derive(Deserialize)]
pub struct StudentQuery {
    #[serde(default)]
    student: Option<String>,
}

fn exercise_failure(e: CatalogError) -> Failure {
    match e {
        CatalogError::Unknown(_) => Failure(StatusCode::NOT_FOUND, e.to_string()),
        e => bad(e),
    }
}

/// `GET /api/exercises/{exercise}/check?student=NAME`: one check run now.
pub async fn check_exercise(
    State(state): State<AppState>,
    Path(exercise): Path<String>,
    Query(q): Query<StudentQuery>,
) -> Result<Json<CheckReport>, Failure> {
    let exercise = state.checker.catalog.find(&exercise).map_err(exercise_failure)?;
    let ns = Namespace::student(q.student.as_deref()).map_err(bad)?;
    Ok(Json(state.checker.check(exercise, &ns).await))
}

/// `GET /api/progress?student=NAME`: every exercise checked for one student.
pub async fn progress(
    State(state): State<AppState>,
    Query(q): Query<StudentQuery>,
) -> Result<Json<StudentReport>, Failure> {
    let ns = Namespace::student(q.student.as_deref()).map_err(bad)?;
    let class = state.checker.grade(&[ns.name().map(str::to_owned)], None).await.map_err(exercise_failure)?;
    class.students.into_iter().next().map(Json).ok_or_else(|| internal("no report"))
}

/// How long a classroom grid is reused before the class is checked again.
const CLASSROOM_FRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// `GET /api/classroom`: every student of `--roster` × every exercise. Requests within a few
/// seconds share one grading run.
pub async fn classroom(State(state): State<AppState>) -> Result<Json<ClassReport>, Failure> {
    let mut cached = state.classroom.lock().await;
    if let Some((at, report)) = cached.as_ref()
        && at.elapsed() < CLASSROOM_FRESH
    {
        return Ok(Json(report.clone()));
    }
    let students: Vec<Option<String>> = state.roster.iter().cloned().map(Some).collect();
    let report = state.checker.grade(&students, None).await.map_err(exercise_failure)?;
    *cached = Some((std::time::Instant::now(), report.clone()));
    Ok(Json(report))
}

pub async fn not_found() -> Failure {
    Failure(StatusCode::NOT_FOUND, "no such API endpoint".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_positions_parse() {
        assert_eq!(parse_start("earliest"), Ok(StartPosition::Earliest));
        assert_eq!(parse_start("newest:5"), Ok(StartPosition::Newest { count: 5 }));
        assert_eq!(parse_start("offset:7"), Ok(StartPosition::Offset { offset: 7 }));
        assert_eq!(parse_start("timestamp:1700000000000"), Ok(StartPosition::Timestamp { ms: 1_700_000_000_000 }));
        assert!(parse_start("soon").is_err());
        assert!(parse_start("offset:x").is_err());
    }
}
