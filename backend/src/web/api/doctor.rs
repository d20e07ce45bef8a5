//! `GET /api/doctor?group=G&topic=T`: `streamlab doctor` run by the lab, against the
//! address it tells students to use.

use super::blocking;
use crate::kafka::KafkaConfig;
use crate::kafka::doctor::{Questions, diagnose};
use crate::web::access::{Act, Caller};
use crate::web::error::ApiError;
use crate::web::state::AppState;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use streamlab_wire::DoctorCheck;

#[derive(Deserialize)]
pub struct DoctorQuery {
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    topic: Option<String>,
}

pub async fn doctor(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<DoctorQuery>,
) -> Result<Json<Vec<DoctorCheck>>, ApiError> {
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let (access, asker) = (state.access.clone(), caller.clone());
    let visible = std::sync::Arc::new(move |name: &str| access.visible(&asker, name));
    let questions = Questions { group: nonempty(q.group), topic: nonempty(q.topic), visible: Some(visible) };
    if let Some(topic) = &questions.topic {
        crate::kafka::admin::validate_topic_name(topic)?;
        state.access.topic(&caller, Act::Read, topic)?;
    }
    if let Some(group) = &questions.group {
        state.access.group(&caller, Act::Read, group)?;
    }
    // The advertised address, not the lab's own: the one a student's client starts from.
    let kafka = KafkaConfig::new(state.info.brokers.clone()).with_properties(state.kafka.properties.clone());
    blocking(move || Ok::<_, ApiError>(diagnose(&kafka, &questions))).await.map(Json)
}
