//! The routes: the browser lab's files, its websocket, `/healthz`, `/metrics` and the API.
//!
//! `app()` builds the router apart from serving it, so tests can serve it on port 0. The
//! rules that hold for many routes live here as layers, not in each handler: the request
//! rate per client for the whole API, and the admin token for the destructive routes (one
//! sub-router behind [`require_admin`], as axum's key-value-store example guards its admin
//! routes).

use super::api;
use super::assets;
use super::error::ApiError;
use super::state::AppState;
use super::ws;
use crate::inference::InferenceMetrics;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use std::net::SocketAddr;
use std::sync::Arc;
use streamlab_wire::WS_PATH;

pub fn app(state: AppState) -> Router {
    let body_limit = state.limits.max_record_bytes + 64 * 1024;
    // Deleting topics and moving offsets changes what everyone else sees.
    let admin = Router::new()
        .route("/api/topics/{topic}", delete(api::topics::delete_topic))
        .route("/api/groups/{group}/reset", post(api::groups::reset_group))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin));
    let api = Router::new()
        .route("/api/cluster", get(api::topics::cluster))
        .route("/api/topics", get(api::topics::topics).post(api::topics::create_topic))
        .route("/api/topics/{topic}/records", get(api::topics::read_records).post(api::topics::produce))
        .route("/api/groups", get(api::groups::groups))
        .route("/api/groups/{group}", get(api::groups::group))
        .route("/api/rates", get(api::rates::rates))
        .route("/api/inference", get(api::inference::inference))
        .route("/api/model", get(api::inference::model))
        .route("/api/generator", get(api::generator::generator).post(api::generator::control_generator))
        .route("/api/exercises", get(api::exercises::exercises))
        .route("/api/exercises/{exercise}/check", get(api::exercises::check_exercise))
        .route("/api/progress", get(api::exercises::progress))
        .route("/api/classroom", get(api::exercises::classroom))
        .route("/api/classroom.csv", get(api::exercises::classroom_csv))
        .merge(admin)
        .route("/api/{*rest}", any(not_found))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(WS_PATH, get(ws::websocket))
        .merge(api)
        .fallback(assets::serve)
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
    prometheus(&state.metrics)
}

fn prometheus(metrics: &InferenceMetrics) -> impl IntoResponse + use<> {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render())
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such API endpoint")
}

/// Refuses a client that sends more than the limit's requests per second.
async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = request.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(ip) = client
        && !state.limiter.allow(ip)
    {
        let message = format!("more than {} requests per second; slow down", state.limits.requests_per_second);
        return ApiError::new(StatusCode::TOO_MANY_REQUESTS, message).into_response();
    }
    next.run(request).await
}

/// Lets a request through only with the lab's admin token, when one is set
/// (`Authorization: Bearer TOKEN` or `X-Admin-Token: TOKEN`).
async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let presented = headers.get("x-admin-token").and_then(|v| v.to_str().ok()).or_else(|| {
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    });
    if !state.limits.admits(presented) {
        let message = "this action needs the lab's admin token (header `Authorization: Bearer TOKEN`)";
        return ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    }
    next.run(request).await
}
