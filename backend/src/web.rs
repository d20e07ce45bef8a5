//! The web server: the browser lab, its websocket and a small HTTP API.
//!
//! `app()` builds the router apart from `run`, so tests can serve it on port 0.

use crate::assets;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use streamlab_wire::{ClientMessage, ServerMessage, TopicInfo, WS_PATH};
use tokio::sync::watch;

/// What every handler may read.
#[derive(Clone)]
pub struct AppState {
    pub info: Arc<LabInfo>,
    /// The latest topic listing, refreshed by [`crate::lab::poll_topics`].
    pub topics: watch::Receiver<Vec<TopicInfo>>,
    pub inference: Arc<crate::metrics::InferenceMetrics>,
}

#[derive(Debug, Clone)]
pub struct LabInfo {
    pub brokers: String,
    pub embedded_broker: bool,
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/topics", get(topics))
        .route("/metrics", get(metrics))
        .route(WS_PATH, get(websocket))
        .fallback(assets::serve)
        .with_state(state)
}

/// The routes of `streamlab infer` alone: its health and metrics.
pub fn metrics_app(metrics: Arc<crate::metrics::InferenceMetrics>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(move || async move { ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render()) }))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.inference.render())
}

async fn topics(State(state): State<AppState>) -> Json<Vec<TopicInfo>> {
    Json(state.topics.borrow().clone())
}

async fn websocket(ws: WebSocketUpgrade, State(state): State<AppState>) -> impl IntoResponse {
    ws.on_upgrade(move |socket| session(socket, state))
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    let text = serde_json::to_string(message).expect("server messages serialise");
    socket.send(Message::Text(text.into())).await.is_ok()
}

/// One browser's socket: a hello, then the topic listing whenever it changes or is asked for.
async fn session(mut socket: WebSocket, state: AppState) {
    let mut topics = state.topics.clone();
    let hello = ServerMessage::Hello {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        brokers: state.info.brokers.clone(),
        embedded_broker: state.info.embedded_broker,
    };
    let listing = |t: &watch::Receiver<Vec<TopicInfo>>| ServerMessage::Topics { topics: t.borrow().clone() };
    if !send(&mut socket, &hello).await || !send(&mut socket, &listing(&topics)).await {
        return;
    }
    topics.mark_unchanged();
    loop {
        tokio::select! {
            changed = topics.changed() => {
                if changed.is_err() || !send(&mut socket, &listing(&topics)).await {
                    return;
                }
            }
            incoming = socket.recv() => {
                let reply = match incoming {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientMessage>(&text) {
                        Ok(ClientMessage::ListTopics) => listing(&topics),
                        Err(e) => ServerMessage::Error { message: format!("cannot read that message: {e}") },
                    },
                    Some(Ok(Message::Binary(_))) => ServerMessage::Error { message: "send JSON text messages".into() },
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return,
                };
                if !send(&mut socket, &reply).await {
                    return;
                }
            }
        }
    }
}
