//! The classroom pages: the exercise list with the student's progress, one exercise with its
//! conditions re-checked live, and the instructor's grid of students × exercises.
//!
//! The student's name (their topic prefix) is kept in the browser's storage, so a student
//! types it once; in class mode it is the name of the student signed in.

use crate::hooks::{use_every, use_exercises, use_lab};
use crate::http;
use std::rc::Rc;
use streamlab_wire::{CheckReport, ClassReport, Outcome, StudentReport};
use web_sys::HtmlInputElement;
use yew::prelude::*;

const STUDENT_KEY: &str = "streamlab-student";

fn saved_student() -> String {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(STUDENT_KEY).ok().flatten())
        .unwrap_or_default()
}

fn save_student(name: &str) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(STUDENT_KEY, name);
    }
}

fn student_query(student: &str) -> String {
    if student.is_empty() { String::new() } else { format!("?student={}", js_sys::encode_uri_component(student)) }
}

#[derive(Properties, PartialEq)]
struct StudentFieldProps {
    value: String,
    onchange: Callback<String>,
    /// Signed in with a class token: the name is the token's, not typed.
    #[prop_or_default]
    signed_in: bool,
}

#[function_component(StudentField)]
fn student_field(p: &StudentFieldProps) -> Html {
    let onchange = {
        let cb = p.onchange.clone();
        Callback::from(move |e: Event| {
            let name = e.target_unchecked_into::<HtmlInputElement>().value().trim().to_owned();
            save_student(&name);
            cb.emit(name);
        })
    };
    if p.signed_in {
        return html! {
            <p class="student">{ "Checking the topics and groups of " }<strong id="student-signed-in">{ &p.value }</strong>{ format!(" ({}.*)", p.value) }</p>
        };
    }
    html! {
        <p class="student">
            <label for="student">{ "Your name (the prefix of your topics and groups): " }</label>
            <input id="student" value={p.value.clone()} {onchange} placeholder="none: topics without a prefix" pattern="[A-Za-z0-9_-]{0,40}" />
        </p>
    }
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Pending => "pending",
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::Error => "error",
        Outcome::Timeout => "timeout",
    }
}

fn outcome_mark(o: Outcome) -> &'static str {
    match o {
        Outcome::Pending => "…",
        Outcome::Pass => "✓",
        Outcome::Fail => "✗",
        Outcome::Error => "!",
        Outcome::Timeout => "⧗",
    }
}

#[function_component(Exercises)]
pub fn exercises() -> Html {
    let ctx = use_lab();
    let list = use_exercises();
    let student = use_state(saved_student);
    let signed_in = ctx.lab.who.student.clone();
    let chosen = signed_in.clone().unwrap_or_else(|| (*student).clone());
    let progress = use_state(|| None::<StudentReport>);
    let checking = use_state(|| false);
    let refresh: Rc<dyn Fn()> = {
        let (progress, checking, student) = (progress.clone(), checking.clone(), chosen.clone());
        Rc::new(move || {
            let (progress, checking, student) = (progress.clone(), checking.clone(), student.clone());
            checking.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(p) = http::get::<StudentReport>(&format!("/api/progress{}", student_query(&student))).await {
                    progress.set(Some(p));
                }
                checking.set(false);
            });
        })
    };
    use_every(15_000, chosen.clone(), refresh.clone());
    let on_student = {
        let student = student.clone();
        Callback::from(move |name: String| student.set(name))
    };
    let on_refresh = Callback::from(move |_: MouseEvent| refresh());
    let Some(list) = &*list else { return html! { <p class="muted">{ "Loading the exercises…" }</p> } };
    let report_of = |id: &str| progress.as_ref().and_then(|p| p.exercises.iter().find(|e| e.exercise == id));
    html! {
        <section aria-labelledby="exercises-title">
            <h2 id="exercises-title">{ "Exercises" }</h2>
            <StudentField value={chosen.clone()} onchange={on_student} signed_in={signed_in.is_some()} />
            <p id="progress-summary">
                { match &*progress {
                    Some(p) => format!("{} of {} exercises done", p.exercises_passed, p.exercises.len()),
                    None => "checking…".to_owned(),
                } }
                { " " }<button onclick={on_refresh} disabled={*checking}>{ if *checking { "checking…" } else { "check again" } }</button>
            </p>
            <ol class="exercises">
                { for list.iter().map(|e| {
                    let report = report_of(&e.id);
                    let passed = report.map_or(0, |r| r.results.iter().filter(|c| c.outcome == Outcome::Pass).count());
                    let total = e.conditions.len();
                    html! { <li data-exercise={e.id.clone()} class={classes!(report.is_some_and(|r| r.passed).then_some("done"))}>
                        <a href={format!("#/exercise/{}", e.id)}>{ &e.title }</a>
                        <span class="muted">{ format!(" — {}", e.summary) }</span>
                        <span class="meter" role="img" aria-label={format!("{passed} of {total} conditions met")}>
                            <span class="bar" style={format!("width:{}%", passed * 100 / total.max(1))}></span>
                        </span>
                        <span class="count">{ if report.is_some() { format!("{passed}/{total}") } else { "…".into() } }</span>
                    </li> }
                }) }
            </ol>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct ExerciseProps {
    pub id: String,
}

#[function_component(ExercisePage)]
pub fn exercise_page(p: &ExerciseProps) -> Html {
    let ctx = use_lab();
    let list = use_exercises();
    let student = use_state(saved_student);
    let signed_in = ctx.lab.who.student.clone();
    let chosen = signed_in.clone().unwrap_or_else(|| (*student).clone());
    {
        let socket = ctx.socket.clone();
        use_effect_with((p.id.clone(), chosen.clone()), move |(id, student)| {
            socket.watch(id, (!student.is_empty()).then(|| student.clone()));
            move || socket.unwatch()
        });
    }
    let on_student = {
        let student = student.clone();
        Callback::from(move |name: String| student.set(name))
    };
    let Some(list) = &*list else { return html! { <p class="muted">{ "Loading the exercise…" }</p> } };
    let Some(e) = list.iter().find(|e| e.id == p.id) else {
        return html! { <p class="error">{ format!("There is no exercise {}. ", p.id) }<a href="#/exercises">{ "All exercises" }</a></p> };
    };
    let wanted_student = (!chosen.is_empty()).then(|| chosen.clone());
    let report: Option<&CheckReport> =
        ctx.lab.check.as_deref().filter(|r| r.exercise == e.id && r.student == wanted_student);
    let done = report.is_some_and(|r| r.passed);
    html! {
        <section aria-labelledby="exercise-title" class="exercise">
            <p><a href="#/exercises">{ "← All exercises" }</a></p>
            <h2 id="exercise-title">{ format!("{}. {}", e.number, e.title) }</h2>
            <p class="muted">{ format!("From the course material: {}", e.seed) }</p>
            <StudentField value={chosen.clone()} onchange={on_student} signed_in={signed_in.is_some()} />
            <div class="layout">
                <article class="instructions">{ Html::from_html_unchecked(AttrValue::from(e.instructions_html.clone())) }</article>
                <aside class="card conditions" aria-live="polite">
                    <h3>{ if done { "Done ✓" } else { "Checks" } }</h3>
                    <p class="muted">{ "Checked against the broker every few seconds." }</p>
                    <ol>
                        { for e.conditions.iter().map(|c| {
                            let r = report.and_then(|r| r.results.iter().find(|x| x.id == c.id));
                            let outcome = r.map_or(Outcome::Pending, |r| r.outcome);
                            html! { <li class={classes!("condition", outcome_class(outcome))} data-condition={c.id.clone()} data-outcome={outcome_class(outcome)}>
                                <span class="mark" aria-hidden="true">{ outcome_mark(outcome) }</span>
                                <span class="description">{ &c.description }</span>
                                <span class="sr-only">{ format!(" ({})", outcome_class(outcome)) }</span>
                                if let Some(m) = r.and_then(|r| r.message.as_ref()) {
                                    <p class="message">{ m }</p>
                                }
                                if outcome != Outcome::Pass && outcome != Outcome::Pending {
                                    <details class="hint"><summary>{ "Hint" }</summary><p>{ &c.hint }</p></details>
                                }
                            </li> }
                        }) }
                    </ol>
                </aside>
            </div>
        </section>
    }
}

/// The instructor's view: every student of the server's roster × every exercise.
#[function_component(Classroom)]
pub fn classroom() -> Html {
    let class = use_state(|| None::<Result<ClassReport, String>>);
    let refresh: Rc<dyn Fn()> = {
        let class = class.clone();
        Rc::new(move || {
            let class = class.clone();
            wasm_bindgen_futures::spawn_local(async move {
                class.set(Some(http::get::<ClassReport>("/api/classroom").await));
            });
        })
    };
    use_every(10_000, String::new(), refresh);
    let list = use_exercises();
    let class = match &*class {
        None => return html! { <p class="muted">{ "Checking the class…" }</p> },
        Some(Err(e)) => return html! { <p class="error">{ e }</p> },
        Some(Ok(c)) => c,
    };
    let exercises: Vec<(String, String)> = match &*list {
        Some(l) => l.iter().map(|e| (e.id.clone(), e.title.clone())).collect(),
        None => Vec::new(),
    };
    html! {
        <section aria-labelledby="classroom-title">
            <h2 id="classroom-title">{ "Classroom" }</h2>
            if class.students.is_empty() {
                <p class="muted">{ "No roster: start the lab with --roster FILE (one student name per line)." }</p>
            } else {
                <p class="muted">
                    { "Conditions met per student and exercise, checked every 10 seconds. " }
                    <a id="classroom-csv" href={http::with_token("/api/classroom.csv")} download="classroom.csv">{ "Download CSV" }</a>
                    { " (points per exercise, a row per student)" }
                </p>
                <table id="classroom" class="grid">
                    <thead><tr>
                        <th scope="col">{ "Student" }</th>
                        { for exercises.iter().enumerate().map(|(i, (id, title))| html! { <th scope="col" title={title.clone()}><a href={format!("#/exercise/{id}")}>{ i + 1 }</a></th> }) }
                        <th scope="col">{ "Done" }</th>
                        <th scope="col">{ "Points" }</th>
                    </tr></thead>
                    <tbody>
                        { for class.students.iter().map(|s| html! { <tr data-student={s.student.clone().unwrap_or_default()}>
                            <th scope="row">{ s.student.clone().unwrap_or_else(|| "–".into()) }</th>
                            { for s.exercises.iter().map(|e| {
                                let ok = e.results.iter().filter(|r| r.outcome == Outcome::Pass).count();
                                let state = if e.passed { "pass" } else if ok > 0 { "partial" } else { "none" };
                                let title = format!("{}: {ok} of {} conditions, {} of {} points", e.title, e.results.len(), e.points, e.points_possible);
                                html! { <td class={state} {title}>{ format!("{ok}/{}", e.results.len()) }</td> }
                            }) }
                            <td>{ format!("{}/{}", s.exercises_passed, s.exercises.len()) }</td>
                            <td class="points">{ format!("{}/{}", s.points, s.points_possible) }</td>
                        </tr> }) }
                    </tbody>
                </table>
            }
        </section>
    }
}
