//! `GET /api/connect`: the Kafka Connect worker beside the lab (`--connect-url`), its
//! connectors, their tasks and a failed one's trace, for the Connectors page. A worker that
//! is not running is an answer, not an error: the page says how to start one.

use crate::web::state::AppState;
use axum::Json;
use axum::extract::State;
use streamlab_wire::ConnectView;

pub async fn connect(State(state): State<AppState>) -> Json<ConnectView> {
    Json(state.connect.view().await)
}
