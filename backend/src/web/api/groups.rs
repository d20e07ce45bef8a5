//! Consumer groups: what they committed, how far behind they are, and moving their offsets.

use super::blocking;
use crate::web::error::ApiError;
use crate::web::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use streamlab_wire::{GroupInfo, ResetOffsets};

pub async fn groups(State(state): State<AppState>) -> Json<Vec<GroupInfo>> {
    Json(state.feeds.groups.borrow().clone())
}

pub async fn group(State(state): State<AppState>, Path(group): Path<String>) -> Result<Json<GroupInfo>, ApiError> {
    let found = state.feeds.groups.borrow().iter().find(|g| g.group == group).cloned();
    found.map(Json).ok_or_else(|| ApiError::not_found(format!("group {group} does not exist")))
}

/// Admin only (see the router).
pub async fn reset_group(
    State(state): State<AppState>,
    Path(group): Path<String>,
    body: Result<Json<ResetOffsets>, JsonRejection>,
) -> Result<Json<GroupInfo>, ApiError> {
    let Json(reset) = body?;
    let (reader, cluster) = (state.groups.clone(), state.cluster.clone());
    blocking(move || -> Result<GroupInfo, ApiError> {
        let topics = cluster.topics()?;
        Ok(reader.reset(&group, &reset, &topics)?)
    })
    .await
    .map(Json)
}
