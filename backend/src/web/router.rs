//! The routes: the browser lab's files, its websocket, `/healthz`, `/metrics` and the API.
//!
//! `app()` builds the router apart from serving it, so tests can serve it on port 0. What
//! holds for every route lives here as a layer, not in each handler: [`identify`], which
//! tells who is calling (the teacher, a student, a guest), holds each to the request rate,
//! and puts the [`Caller`] in the request for the handlers, whose rules are in
//! [`super::access`].

use super::access::Caller;
use super::api;
use super::assets;
use super::error::ApiError;
use super::guard::Client;
use super::state::AppState;
use super::ws;
use crate::inference::InferenceMetrics;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Extension, Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use streamlab_wire::{WS_PATH, Whoami};

pub fn app(state: AppState) -> Router {
    let body_limit = state.limits.max_record_bytes + 64 * 1024;
    let api = Router::new()
        .route("/api/whoami", get(whoami))
        .route("/api/doctor", get(api::doctor::doctor))
        .route("/api/cluster", get(api::topics::cluster))
        .route("/api/topics", get(api::topics::topics).post(api::topics::create_topic))
        .route("/api/topics/{topic}", delete(api::topics::delete_topic))
        .route("/api/topics/{topic}/configs", get(api::topics::topic_configs).patch(api::topics::alter_topic_configs))
        .route("/api/topics/{topic}/trim", post(api::topics::trim_topic))
        .route("/api/topics/{topic}/records", get(api::topics::read_records).post(api::topics::produce))
        .route("/api/topics/{topic}/records/{partition}/{offset}/resend", post(api::topics::resend))
        .route("/api/groups", get(api::groups::groups))
        .route("/api/groups.csv", get(api::groups::groups_csv))
        .route("/api/groups/{group}", get(api::groups::group))
        .route("/api/groups/{group}/reset", post(api::groups::reset_group))
        .route("/api/rates", get(api::rates::rates))
        .route("/api/rates.csv", get(api::rates::rates_csv))
        .route("/api/lag", get(api::lag::lag))
        .route("/api/inference", get(api::inference::inference))
        .route("/api/inference/redrive", post(api::inference::redrive))
        .route("/api/model", get(api::inference::model))
        .route("/api/model/profile", get(api::inference::profile))
        .route("/api/generator", get(api::generator::generator).post(api::generator::control_generator))
        .route("/api/connect", get(api::connect::connect))
        .route("/api/schemas", get(api::schemas::schemas))
        .route("/api/exercises", get(api::exercises::exercises))
        .route("/api/exercises/{exercise}/check", get(api::exercises::check_exercise))
        .route("/api/progress", get(api::exercises::progress))
        .route("/api/classroom", get(api::exercises::classroom))
        .route("/api/classroom.csv", get(api::exercises::classroom_csv))
        .route(WS_PATH, get(ws::websocket))
        .route("/api", any(not_found))
        .route("/api/", any(not_found))
        .route("/api/{*rest}", any(not_found))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), identify));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(api)
        .fallback(page)
        .with_state(state)
}

/// The routes of `streamlab infer` alone: its health and metrics.
pub fn metrics_app(metrics: Arc<InferenceMetrics>) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/metrics", get(move || async move { prometheus(&metrics) }))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    if let Some(s) = state.feeds.storage.borrow().as_ref() {
        text.push_str(&storage_metrics(s));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// The embedded broker's logs as Prometheus gauges (sampled once a second).
fn storage_metrics(s: &streamlab_wire::BrokerStorage) -> String {
    let place = if s.on_disk { "disk" } else { "memory" };
    format!(
        "# HELP streamlab_broker_stored_bytes Bytes of records the embedded broker holds.\n\
         # TYPE streamlab_broker_stored_bytes gauge\n\
         streamlab_broker_stored_bytes{{storage=\"{place}\"}} {}\n\
         # HELP streamlab_broker_stored_records Records the embedded broker holds.\n\
         # TYPE streamlab_broker_stored_records gauge\n\
         streamlab_broker_stored_records {}\n\
         # HELP streamlab_broker_partitions Partitions the embedded broker holds records of.\n\
         # TYPE streamlab_broker_partitions gauge\n\
         streamlab_broker_partitions {}\n",
        s.bytes, s.records, s.partitions
    )
}

fn prometheus(metrics: &InferenceMetrics) -> impl IntoResponse + use<> {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render())
}

/// The lab's files; only to read: a DELETE or POST that lands here named no endpoint.
async fn page(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method == Method::GET || method == Method::HEAD {
        assets::serve(uri, headers).await
    } else {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{method} {uri} names no endpoint")).into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such API endpoint")
}

/// Tells who is calling from the token presented (`Authorization: Bearer TOKEN`,
/// `X-Admin-Token: TOKEN`, or `?token=` where a browser cannot set headers: the websocket
/// and download links) and where from, and holds each to the request rate: a signed-in
/// student and the teacher each to their own, guests to their address's. A token that is not
/// valid counts against the address before it is refused, so a flood of guessed tokens is
/// throttled like any other.
async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let headers = request.headers();
    // Headers are read as UTF-8, not just ASCII, so that a look-alike letter in a token gets
    // the verdict "not on the roster" instead of being silently dropped as no token at all.
    let text = |v: &header::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
    let header_token = headers.get("x-admin-token").map(text).or_else(|| {
        headers.get(header::AUTHORIZATION).map(text).and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned))
    });
    let token = header_token.or_else(|| {
        let query = request.uri().query()?;
        url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned())
    });
    let identified = state.access.identify(token.as_deref(), peer);
    let client = match &identified {
        Ok(Caller::Student(name)) => Some(Client::Student(name.clone())),
        Ok(Caller::Teacher) if state.access.admin_token.is_some() => Some(Client::Teacher),
        // The teacher of an open lab is whoever is on the lab's machine: its address.
        _ => peer.map(Client::Address),
    };
    if let Some(client) = client
        && let Err(wait) = state.limiter.allow(&client)
    {
        return too_many(&client, state.limits.requests_per_second, wait);
    }
    match identified {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(denied) => ApiError::from(denied).into_response(),
    }
}

/// 429, with whose limit it was and when to retry (`Retry-After`, whole seconds).
fn too_many(client: &Client, rate: f64, wait: std::time::Duration) -> Response {
    let who = match client {
        Client::Student(name) => format!("student {name}"),
        Client::Teacher => "the teacher's token".to_owned(),
        Client::Address(ip) => {
            format!("address {ip} (guests share their address's limit; a signed-in student has her own)")
        }
    };
    let retry = wait.as_secs_f64().ceil().max(1.0) as u64;
    let message = format!(
        "slow down: more than {rate} requests per second from {who}; retry in {retry} s (the lab's --requests-per-second)"
    );
    let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry));
    response
}

/// `GET /api/whoami`: who the lab takes this client for.
async fn whoami(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Json<Whoami> {
    Json(state.access.whoami(&caller))
}
