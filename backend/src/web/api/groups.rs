//! Consumer groups: what they committed, how far behind they are, and moving their offsets.

use super::{blocking, download};
use crate::web::access::{Act, Caller};
use crate::web::error::ApiError;
use crate::web::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Json};
use streamlab_wire::export;
use streamlab_wire::{GroupInfo, ResetOffsets};

/// The groups the caller may see.
pub async fn groups(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Json<Vec<GroupInfo>> {
    let groups = state.feeds.groups.borrow().clone();
    Json(groups.into_iter().filter(|g| state.access.visible(&caller, &g.group)).collect())
}

/// `GET /api/groups.csv`: the groups table to download.
pub async fn groups_csv(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let Json(groups) = groups(State(state), Extension(caller)).await;
    download("groups.csv", export::groups_csv(&groups))
}

pub async fn group(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(group): Path<String>,
) -> Result<Json<GroupInfo>, ApiError> {
    state.access.group(&caller, Act::Read, &group)?;
    let found = state.feeds.groups.borrow().iter().find(|g| g.group == group).cloned();
    found.map(Json).ok_or_else(|| ApiError::not_found(format!("group {group} does not exist")))
}

pub async fn reset_group(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(group): Path<String>,
    body: Result<Json<ResetOffsets>, JsonRejection>,
) -> Result<Json<GroupInfo>, ApiError> {
    let Json(reset) = body?;
    state.access.group(&caller, Act::Reset, &group)?;
    if let Some(topic) = &reset.topic {
        state.access.topic(&caller, Act::Read, topic)?;
    }
    let (reader, cluster) = (state.groups.clone(), state.cluster.clone());
    blocking(move || -> Result<GroupInfo, ApiError> {
        let topics = cluster.topics()?;
        Ok(reader.reset(&group, &reset, &topics)?)
    })
    .await
    .map(Json)
}
