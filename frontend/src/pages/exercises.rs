//! The classroom pages: the exercise list with the student's progress, one exercise with its
//! conditions re-checked live, and the instructor's grid of students × exercises.
//!
//! The student's name (their topic prefix) is kept in the browser's storage, so a student
//! types it once; in class mode it is the name of the student signed in.

use crate::hooks::{use_every, use_exercises, use_lab};
use crate::http;
use std::rc::Rc;
use streamlab_wire::{CheckReport, ConditionResult, ConditionText, ExerciseInfo, Outcome, StudentReport};
use web_sys::HtmlInputElement;
use yew::prelude::*;

const STUDENT_KEY: &str = "streamlab-student";
/// The language the exercises are read in, `en` or `de`, kept like the student's name.
const LANGUAGE_KEY: &str = "streamlab-language";

fn saved_language() -> String {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(LANGUAGE_KEY).ok().flatten())
        .filter(|l| l == "de")
        .unwrap_or_else(|| "en".into())
}

fn save_language(language: &str) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(LANGUAGE_KEY, language);
    }
}

/// An exercise's texts in the language chosen: German where it has them, else English.
struct Texts<'a> {
    german: bool,
    title: &'a str,
    summary: &'a str,
    instructions_html: &'a str,
    conditions: Option<&'a [ConditionText]>,
}

impl<'a> Texts<'a> {
    fn of(e: &'a ExerciseInfo, language: &str) -> Texts<'a> {
        match e.de.as_ref().filter(|_| language == "de") {
            Some(de) => Texts {
                german: true,
                title: &de.title,
                summary: &de.summary,
                instructions_html: &de.instructions_html,
                conditions: Some(&de.conditions),
            },
            None => Texts {
                german: false,
                title: &e.title,
                summary: &e.summary,
                instructions_html: &e.instructions_html,
                conditions: None,
            },
        }
    }

    fn condition(&self, id: &str) -> Option<&'a ConditionText> {
        self.conditions.and_then(|cs| cs.iter().find(|c| c.id == id))
    }

    /// What a check said: a failure in the chosen language, then what the checker saw
    /// (which is said in English).
    fn message(&self, r: &ConditionResult) -> Option<String> {
        match (self.condition(&r.id), r.outcome) {
            (Some(t), Outcome::Fail) => Some(match &r.detail {
                Some(seen) => format!("{} ({seen})", t.failure),
                None => t.failure.clone(),
            }),
            _ => r.message.clone(),
        }
    }

    fn word(&self, english: &'static str, german: &'static str) -> &'static str {
        if self.german { german } else { english }
    }
}

#[derive(Properties, PartialEq)]
struct LanguageSwitchProps {
    value: String,
    onchange: Callback<String>,
}

/// English or German (the course's seed 000 is German).
#[function_component(LanguageSwitch)]
fn language_switch(p: &LanguageSwitchProps) -> Html {
    let choose = |language: &'static str| {
        let cb = p.onchange.clone();
        Callback::from(move |_: MouseEvent| {
            save_language(language);
            cb.emit(language.to_owned());
        })
    };
    html! {
        <p class="language" role="group" aria-label="language">
            <button type="button" id="language-en" class="link" aria-pressed={(p.value == "en").to_string()} onclick={choose("en")}>{ "English" }</button>
            { " · " }
            <button type="button" id="language-de" class="link" aria-pressed={(p.value == "de").to_string()} onclick={choose("de")}>{ "Deutsch" }</button>
        </p>
    }
}

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
    let language = use_state(saved_language);
    let on_language = {
        let language = language.clone();
        Callback::from(move |l: String| language.set(l))
    };
    let Some(list) = &*list else { return html! { <p class="muted">{ "Loading the exercises…" }</p> } };
    let report_of = |id: &str| progress.as_ref().and_then(|p| p.exercises.iter().find(|e| e.exercise == id));
    html! {
        <section aria-labelledby="exercises-title">
            <h2 id="exercises-title">{ "Exercises" }</h2>
            <StudentField value={chosen.clone()} onchange={on_student} signed_in={signed_in.is_some()} />
            <LanguageSwitch value={(*language).clone()} onchange={on_language} />
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
                    let texts = Texts::of(e, &language);
                    html! { <li data-exercise={e.id.clone()} class={classes!(report.is_some_and(|r| r.passed).then_some("done"))}>
                        <a href={format!("#/exercise/{}", e.id)}>{ texts.title }</a>
                        <span class="muted">{ format!(" — {}", texts.summary) }</span>
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
    let language = use_state(saved_language);
    let on_language = {
        let language = language.clone();
        Callback::from(move |l: String| language.set(l))
    };
    let Some(list) = &*list else { return html! { <p class="muted">{ "Loading the exercise…" }</p> } };
    let Some(e) = list.iter().find(|e| e.id == p.id) else {
        return html! { <p class="error">{ format!("There is no exercise {}. ", p.id) }<a href="#/exercises">{ "All exercises" }</a></p> };
    };
    let wanted_student = (!chosen.is_empty()).then(|| chosen.clone());
    let report: Option<&CheckReport> =
        ctx.lab.check.as_deref().filter(|r| r.exercise == e.id && r.student == wanted_student);
    let done = report.is_some_and(|r| r.passed);
    let t = Texts::of(e, &language);
    html! {
        <section aria-labelledby="exercise-title" class="exercise" lang={if t.german { "de" } else { "en" }}>
            <p><a href="#/exercises">{ t.word("← All exercises", "← Alle Übungen") }</a></p>
            <h2 id="exercise-title">{ format!("{}. {}", e.number, t.title) }</h2>
            <p class="muted">{ format!("{}: {}", t.word("From the course material", "Aus dem Kursmaterial"), e.seed) }</p>
            <StudentField value={chosen.clone()} onchange={on_student} signed_in={signed_in.is_some()} />
            <LanguageSwitch value={(*language).clone()} onchange={on_language} />
            if *language == "de" && !t.german {
                <p class="muted" id="english-only" lang="de">{ "Diese Übung gibt es nur auf Englisch." }</p>
            }
            <div class="layout">
                <article class="instructions" id="instructions">{ Html::from_html_unchecked(AttrValue::from(t.instructions_html.to_owned())) }</article>
                <aside class="card conditions" aria-live="polite">
                    <h3>{ if done { t.word("Done ✓", "Fertig ✓") } else { t.word("Checks", "Prüfungen") } }</h3>
                    <p class="muted">{ t.word("Checked against the broker every few seconds.", "Alle paar Sekunden gegen den Broker geprüft.") }</p>
                    <ol>
                        { for e.conditions.iter().map(|c| {
                            let r = report.and_then(|r| r.results.iter().find(|x| x.id == c.id));
                            let outcome = r.map_or(Outcome::Pending, |r| r.outcome);
                            html! { <li class={classes!("condition", outcome_class(outcome))} data-condition={c.id.clone()} data-outcome={outcome_class(outcome)}>
                                <span class="mark" aria-hidden="true">{ outcome_mark(outcome) }</span>
                                <span class="description">{ t.condition(&c.id).map_or(&c.description, |d| &d.description) }</span>
                                <span class="sr-only">{ format!(" ({})", outcome_class(outcome)) }</span>
                                if let Some(m) = r.and_then(|r| t.message(r)) {
                                    <p class="message">{ m }</p>
                                }
                                if outcome != Outcome::Pass && outcome != Outcome::Pending {
                                    <details class="hint"><summary>{ t.word("Hint", "Tipp") }</summary><p>{ t.condition(&c.id).map_or(&c.hint, |d| &d.hint) }</p></details>
                                }
                            </li> }
                        }) }
                    </ol>
                </aside>
            </div>
        </section>
    }
}

/// The instructor's view: every student of the server's roster × every exercise, pushed
/// over the websocket as results change (the server re-checks a student when her topics or
/// groups change).
#[function_component(Classroom)]
pub fn classroom() -> Html {
    let ctx = use_lab();
    {
        let socket = ctx.socket.clone();
        use_effect_with((), move |_| {
            socket.watch_classroom();
            move || socket.unwatch_classroom()
        });
    }
    let list = use_exercises();
    let Some(class) = ctx.lab.classroom.as_deref() else {
        return match &ctx.lab.error {
            Some(e) => html! { <p class="error">{ e }</p> },
            None => html! { <p class="muted">{ "Checking the class…" }</p> },
        };
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
                    { "Conditions met per student and exercise, live: a student is checked again as soon as her topics or groups change. " }
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

#[cfg(test)]
mod tests {
    use super::*;
    use streamlab_wire::{ConditionInfo, ExerciseText};

    fn exercise(german: bool) -> ExerciseInfo {
        ExerciseInfo {
            id: "04-request-generator".into(),
            number: 4,
            title: "The generator".into(),
            summary: "s".into(),
            seed: "000".into(),
            instructions_html: "<p>Write</p>".into(),
            conditions: vec![ConditionInfo { id: "rate".into(), description: "Rate".into(), hint: "Run".into() }],
            de: german.then(|| ExerciseText {
                title: "Der Generator".into(),
                summary: "z".into(),
                instructions_html: "<p>Schreibe</p>".into(),
                conditions: vec![ConditionText {
                    id: "rate".into(),
                    description: "Rate (de)".into(),
                    failure: "die Rate stimmt nicht".into(),
                    hint: "Starte".into(),
                }],
            }),
        }
    }

    fn failed(detail: Option<&str>) -> ConditionResult {
        ConditionResult {
            id: "rate".into(),
            description: "Rate".into(),
            outcome: Outcome::Fail,
            message: Some("the rate is off (20.0 messages/s)".into()),
            detail: detail.map(str::to_owned),
            hint: Some("Run".into()),
            elapsed_ms: 1,
            points: 1,
        }
    }

    #[test]
    fn german_texts_where_there_are_and_what_the_checker_saw_as_said() {
        let e = exercise(true);
        let de = Texts::of(&e, "de");
        assert_eq!((de.title, de.instructions_html), ("Der Generator", "<p>Schreibe</p>"));
        assert_eq!(
            de.message(&failed(Some("20.0 messages/s"))).as_deref(),
            Some("die Rate stimmt nicht (20.0 messages/s)")
        );
        assert_eq!(de.message(&failed(None)).as_deref(), Some("die Rate stimmt nicht"));
        let passed =
            ConditionResult { outcome: Outcome::Pass, message: Some("10.0 messages/s".into()), ..failed(None) };
        assert_eq!(de.message(&passed).as_deref(), Some("10.0 messages/s"));
        let en = Texts::of(&e, "en");
        assert_eq!((en.title, en.german), ("The generator", false));
        assert_eq!(en.message(&failed(Some("x"))).as_deref(), Some("the rate is off (20.0 messages/s)"));
        let english_only = exercise(false);
        assert!(!Texts::of(&english_only, "de").german);
    }
}
