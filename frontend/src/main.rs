//! The streamlab browser lab. Everything it shows arrives over one websocket to the server
//! that served the page (see `state`); the socket reconnects by itself and the header says
//! when it is down. Pages are addressed by the URL's hash (`#/topics`), so a reload or a
//! bookmark returns to the same page without a router library.

mod chart;
mod http;
mod pages;
mod state;

use pages::{
    exercises::{Classroom, ExercisePage, Exercises},
    groups::Groups,
    inference::Inference,
    overview::Overview,
    rates::Rates,
    topic::Topic,
    topics::Topics,
};
use state::{Action, Connection, Ctx, Lab, Socket};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[derive(Debug, Clone, PartialEq)]
enum Route {
    Overview,
    Topics,
    Topic(String),
    Rates,
    Groups,
    Inference,
    Exercises,
    Exercise(String),
    Classroom,
}

impl Route {
    fn from_hash(hash: &str) -> Route {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        match path.split_once('/') {
            Some(("topic", name)) if !name.is_empty() => Route::Topic(name.to_owned()),
            Some(("exercise", id)) if !id.is_empty() => Route::Exercise(id.to_owned()),
            _ => match path {
                "topics" => Route::Topics,
                "rates" => Route::Rates,
                "groups" => Route::Groups,
                "inference" => Route::Inference,
                "exercises" => Route::Exercises,
                "classroom" => Route::Classroom,
                _ => Route::Overview,
            },
        }
    }

    fn current() -> Route {
        Route::from_hash(&web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default())
    }
}

const PAGES: [(&str, &str); 7] = [
    ("#/", "Overview"),
    ("#/topics", "Topics"),
    ("#/rates", "Production rate"),
    ("#/groups", "Consumer groups"),
    ("#/inference", "Inference"),
    ("#/exercises", "Exercises"),
    ("#/classroom", "Classroom"),
];

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The theme the user chose last time, else the system's.
fn saved_theme() -> Option<String> {
    storage()?.get_item("streamlab-theme").ok()?
}

fn apply_theme(theme: Option<&str>) {
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        match theme {
            Some(t) => {
                let _ = root.set_attribute("data-theme", t);
            }
            None => {
                let _ = root.remove_attribute("data-theme");
            }
        }
    }
}

#[function_component(App)]
fn app() -> Html {
    let lab = use_reducer(Lab::default);
    let socket = use_memo((), |_| Socket::default());
    {
        let (socket, dispatch) = ((*socket).clone(), lab.dispatcher());
        use_effect_with((), move |_| socket.connect(dispatch));
    }
    let route = use_state(Route::current);
    {
        let route = route.clone();
        use_effect_with((), move |_| {
            let on_hash = Closure::<dyn FnMut()>::new(move || route.set(Route::current()));
            if let Some(w) = web_sys::window() {
                w.set_onhashchange(Some(on_hash.as_ref().unchecked_ref()));
            }
            on_hash.forget();
        });
    }
    let theme = use_state(saved_theme);
    {
        let t = (*theme).clone();
        use_effect_with(t, |t| apply_theme(t.as_deref()));
    }
    let toggle_theme = {
        let theme = theme.clone();
        Callback::from(move |_: MouseEvent| {
            let dark_now = match theme.as_deref() {
                Some(t) => t == "dark",
                None => web_sys::window()
                    .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                    .is_some_and(|m| m.matches()),
            };
            let next = if dark_now { "light" } else { "dark" };
            if let Some(s) = storage() {
                let _ = s.set_item("streamlab-theme", next);
            }
            theme.set(Some(next.to_owned()));
        })
    };
    let status = match lab.connection {
        Connection::Connecting => "connecting…",
        Connection::Open => "live",
        Connection::Closed => "disconnected, retrying",
    };
    let dismiss = {
        let d = lab.dispatcher();
        Callback::from(move |_: MouseEvent| d.dispatch(Action::DismissError))
    };
    let current_href = match &*route {
        Route::Overview => "#/",
        Route::Topics | Route::Topic(_) => "#/topics",
        Route::Rates => "#/rates",
        Route::Groups => "#/groups",
        Route::Inference => "#/inference",
        Route::Exercises | Route::Exercise(_) => "#/exercises",
        Route::Classroom => "#/classroom",
    };
    let ctx = Ctx { lab: lab.clone(), socket: (*socket).clone() };
    html! {
        <ContextProvider<Ctx> context={ctx}>
            <header class="top">
                <a class="brand" href="#/">{ "streamlab" }</a>
                <nav aria-label="pages">
                    { for PAGES.iter().map(|(href, name)| html! {
                        <a href={*href} aria-current={(*href == current_href).then_some("page")}>{ *name }</a>
                    }) }
                </nav>
                <span id="connection" class={classes!("status", format!("{:?}", lab.connection).to_lowercase())} aria-live="polite">{ status }</span>
                <button class="theme" onclick={toggle_theme} aria-label="switch between light and dark theme">{ "◐" }</button>
            </header>
            <main>
                if let Some(e) = &lab.error {
                    <p class="error" role="alert">{ e }{ " " }<button onclick={dismiss} aria-label="dismiss the message">{ "×" }</button></p>
                }
                { match &*route {
                    Route::Overview => html! { <Overview /> },
                    Route::Topics => html! { <Topics /> },
                    Route::Topic(name) => html! { <Topic name={name.clone()} /> },
                    Route::Rates => html! { <Rates /> },
                    Route::Groups => html! { <Groups /> },
                    Route::Inference => html! { <Inference /> },
                    Route::Exercises => html! { <Exercises /> },
                    Route::Exercise(id) => html! { <ExercisePage id={id.clone()} /> },
                    Route::Classroom => html! { <Classroom /> },
                } }
            </main>
        </ContextProvider<Ctx>>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn hashes_name_pages() {
        assert_eq!(Route::from_hash(""), Route::Overview);
        assert_eq!(Route::from_hash("#/topics"), Route::Topics);
        assert_eq!(Route::from_hash("#/topic/dev_sandbox"), Route::Topic("dev_sandbox".into()));
        assert_eq!(Route::from_hash("#/nowhere"), Route::Overview);
        assert_eq!(Route::from_hash("#/exercise/01-sandbox-topic"), Route::Exercise("01-sandbox-topic".into()));
        assert_eq!(Route::from_hash("#/classroom"), Route::Classroom);
    }
}
