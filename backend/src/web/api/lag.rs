//! `GET /api/lag`: each group's lag over the sampler's 5 minutes, with its trend, so a
//! teacher sees at a glance which consumer is falling behind and whether it is catching up.

use crate::web::access::Caller;
use crate::web::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use streamlab_wire::LagSeries;
use streamlab_wire::lag::lag_series;

pub async fn lag(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Json<Vec<LagSeries>> {
    let mut series = lag_series(&state.feeds.history());
    series.retain(|s| state.access.visible(&caller, &s.group) && state.access.visible(&caller, &s.topic));
    Json(series)
}
