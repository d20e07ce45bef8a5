//! The exercises, one student's progress and the classroom grid.

use crate::exercises::check;
use crate::exercises::{Namespace, SignIn, signed_in_snippets};
use crate::web::access::Caller;
use crate::web::error::ApiError;
use crate::web::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use streamlab_wire::{CheckReport, ClassReport, ExerciseInfo, StudentReport};

/// `GET /api/exercises`. On a cluster whose clients sign in, the instructions' connection
/// snippets carry the sign-in settings, the caller's name among them.
pub async fn exercises(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Json<Vec<ExerciseInfo>> {
    let infos = state.checker.catalog.exercises.iter().map(|e| e.info.clone());
    let Some(mechanism) = state.info.sasl_mechanism.as_deref() else { return Json(infos.collect()) };
    let student = match &caller {
        Caller::Student(name) => Some(name.as_str()),
        _ => None,
    };
    let sign_in = SignIn { mechanism, student };
    let fit = |html: &mut String| *html = signed_in_snippets(html, &state.info.brokers, sign_in);
    Json(
        infos
            .map(|mut info| {
                fit(&mut info.instructions_html);
                if let Some(de) = info.de.as_mut() {
                    fit(&mut de.instructions_html);
                }
                info
            })
            .collect(),
    )
}

#[derive(Deserialize)]
pub struct StudentQuery {
    #[serde(default)]
    student: Option<String>,
}

/// `GET /api/exercises/{exercise}/check?student=NAME`: one check run now.
pub async fn check_exercise(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(exercise): Path<String>,
    Query(q): Query<StudentQuery>,
) -> Result<Json<CheckReport>, ApiError> {
    let exercise = state.checker.catalog.find(&exercise)?;
    let ns = Namespace::student(q.student.as_deref())?;
    let ns = Namespace::student(state.access.student(&caller, ns.name())?)?;
    Ok(Json(state.checker.check(exercise, &ns).await))
}

/// `GET /api/progress?student=NAME`: every exercise checked for one student.
pub async fn progress(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<StudentQuery>,
) -> Result<Json<StudentReport>, ApiError> {
    let ns = Namespace::student(q.student.as_deref())?;
    let ns = Namespace::student(state.access.student(&caller, ns.name())?)?;
    // A student of the roster: her kept report, re-checked when her work changed.
    if let Some(kept) = match ns.name() {
        Some(name) => state.gradebook.student(name).await,
        None => None,
    } {
        return Ok(Json(kept?));
    }
    let class = state.checker.grade(&[ns.name().map(str::to_owned)], None).await?;
    class.students.into_iter().next().map(Json).ok_or_else(|| ApiError::internal("no report"))
}

/// `GET /api/classroom`: every student of `--roster` × every exercise. The teacher's only:
/// grades are not for the whole class network.
pub async fn classroom(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<ClassReport>, ApiError> {
    state.access.teacher(&caller, "see the class's grades")?;
    Ok(Json(graded(&state).await?))
}

/// `GET /api/classroom.csv`: the same grid as a grade book to download, points per
/// exercise, a row per student.
pub async fn classroom_csv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<impl IntoResponse, ApiError> {
    state.access.teacher(&caller, "download the class's grades")?;
    let class = graded(&state).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"classroom.csv\""),
        ],
        check::csv(&class),
    ))
}

/// The grade book: only the students whose work changed are checked again, and requests
/// that arrive during a run share it.
async fn graded(state: &AppState) -> Result<ClassReport, ApiError> {
    Ok(state.gradebook.current().await?)
}
