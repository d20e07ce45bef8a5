//! The browser lab's files, embedded at build time by `build.rs`.

use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Shown when the binary was built without the frontend (plain `cargo build` before
/// `./lab build`), so the user learns why instead of seeing a blank page.
const NOT_BUILT: &str = "<!doctype html><title>streamlab</title><h1>streamlab</h1>\
<p>This streamlab binary was built without the browser lab. Build it with <code>./lab build</code> \
(or run the lab with <code>./lab run</code>). The API and websocket work regardless.</p>";

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Serves an embedded file, gzipped when the browser accepts it; unknown paths get the app's
/// index page so that the browser lab's own routes survive a reload.
pub async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    let gzip = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("gzip"));
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let found = ASSETS
        .iter()
        .find(|(name, ..)| *name == path)
        .or_else(|| if path.contains('.') { None } else { ASSETS.iter().find(|(name, ..)| *name == "index.html") });
    match found {
        Some((name, _, compressed)) if gzip => (
            [
                (header::CONTENT_TYPE, content_type(name)),
                (header::CONTENT_ENCODING, "gzip"),
                (header::VARY, "accept-encoding"),
            ],
            *compressed,
        )
            .into_response(),
        Some((name, plain, _)) => {
            ([(header::CONTENT_TYPE, content_type(name)), (header::VARY, "accept-encoding")], *plain).into_response()
        }
        None if path.contains('.') => (StatusCode::NOT_FOUND, "not found").into_response(),
        None => Html(NOT_BUILT).into_response(),
    }
}
