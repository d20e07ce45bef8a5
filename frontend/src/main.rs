//! The streamlab browser lab. Everything it shows arrives over one websocket to the server
//! that served the page; the socket reconnects by itself and the header says when it is down.
//!
//! - [`state`]: what the lab knows, a reducer of the server's messages.
//! - [`socket`]: the websocket and the subscriptions the open views want.
//! - [`provider`]: `LabProvider`, which gives both to every page ([`hooks::use_lab`]).
//! - [`hooks`]: live tails, timers, the exercises, the theme.
//! - [`route`]: which page the URL's hash names.
//! - [`pages`]: one module per page; [`chart`]: the SVG charts; [`http`]: the API's calls
//!   and the token they carry; [`signin`]: signing in with a class or teacher's token.

mod chart;
mod hooks;
mod http;
mod pages;
mod provider;
mod route;
mod signin;
mod socket;
mod state;

use hooks::{use_lab, use_theme};
use pages::connectors::Connectors;
use pages::exercises::{Classroom, ExercisePage, Exercises};
use pages::schemas::Schemas;
use pages::{groups::Groups, inference::Inference, overview::Overview, rates::Rates, topic::Topic, topics::Topics};
use provider::LabProvider;
use route::{PAGES, Route};
use state::{Action, Connection};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

#[function_component(App)]
fn app() -> Html {
    html! { <LabProvider><Shell /></LabProvider> }
}

/// The header (pages, connection, theme) and the page the address names.
#[function_component(Shell)]
fn shell() -> Html {
    let ctx = use_lab();
    let lab = &ctx.lab;
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
    let toggle_theme = use_theme();
    let status = match lab.connection {
        Connection::Connecting => "connecting…",
        Connection::Open => "live",
        Connection::Closed => "disconnected, retrying",
    };
    let dismiss = {
        let d = lab.dispatcher();
        Callback::from(move |_: MouseEvent| d.dispatch(Action::DismissError))
    };
    let current_href = route.section();
    html! {
        <>
            <header class="top">
                <a class="brand" href="#/">{ "streamlab" }</a>
                <nav aria-label="pages">
                    { for PAGES.iter().map(|(href, name)| html! {
                        <a href={*href} aria-current={(*href == current_href).then_some("page")}>{ *name }</a>
                    }) }
                </nav>
                <signin::SignIn />
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
                    Route::Connectors => html! { <Connectors /> },
                    Route::Schemas => html! { <Schemas /> },
                    Route::Inference => html! { <Inference /> },
                    Route::Exercises => html! { <Exercises /> },
                    Route::Exercise(id) => html! { <ExercisePage id={id.clone()} /> },
                    Route::Classroom => html! { <Classroom /> },
                } }
            </main>
        </>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
