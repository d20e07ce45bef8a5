//! The lab's HTTP API under `/api`: what the browser lab shows, for scripts too. Handlers
//! return [`ApiError`](super::error::ApiError) with `?`; each asks
//! [`super::access`] whether its [`Caller`](super::access::Caller) may do what it asks.
//!
//! One module per subject: `topics` (and their records), `groups`, `rates`, `lag`,
//! `inference` (and redrive), `generator`, `exercises` (checks, progress, the classroom),
//! `doctor`, `connect` (the Kafka Connect worker beside the lab) and `schemas` (the Schema
//! Registry the lab serves).

pub mod connect;
pub mod doctor;
pub mod exercises;
pub mod generator;
pub mod groups;
pub mod inference;
pub mod lag;
pub mod rates;
pub mod schemas;
pub mod topics;

use super::error::ApiError;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Runs blocking broker work off the async threads.
async fn blocking<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?.map_err(Into::into)
}

/// A file to download: `text/csv` or JSON lines, saved as `filename`.
fn download(filename: &str, body: String) -> Response {
    let kind = if filename.ends_with(".csv") { "text/csv; charset=utf-8" } else { "application/x-ndjson" };
    let disposition = format!("attachment; filename=\"{}\"", filename.replace(['"', '\\', '/'], "_"));
    ([(header::CONTENT_TYPE, kind.to_owned()), (header::CONTENT_DISPOSITION, disposition)], body).into_response()
}
