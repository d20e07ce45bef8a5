//! Signing in with a token: in class mode, the token the teacher handed out (`streamlab
//! class tokens`), which names the student and keeps her to her namespace; anywhere, the
//! teacher's `--admin-token`. The token stays in the browser ([`crate::http::token`]), so a
//! student signs in once.

use crate::hooks::use_lab;
use crate::http;
use streamlab_wire::Whoami;
use web_sys::HtmlInputElement;
use yew::prelude::*;

fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// The header's sign-in form, or who is signed in and a way out.
#[function_component(SignIn)]
pub fn sign_in() -> Html {
    let ctx = use_lab();
    let who = &ctx.lab.who;
    let error = use_state(|| None::<String>);
    let input = use_node_ref();
    {
        // A saved token the server no longer takes (a new class secret, an expired token)
        // is forgotten with the reason, rather than failing every call.
        let error = error.clone();
        use_effect_with((), move |_| {
            if http::token().is_some() {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(e) = http::get::<Whoami>("/api/whoami").await {
                        http::set_token(None);
                        error.set(Some(format!("Your saved token was refused ({e}). Sign in again.")));
                    }
                });
            }
        });
    }
    let submit = {
        let (input, error) = (input.clone(), error.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(token) = input.cast::<HtmlInputElement>().map(|i| i.value().trim().to_owned()) else { return };
            if token.is_empty() {
                error.set(Some("Paste the token your teacher gave you.".into()));
                return;
            }
            let error = error.clone();
            http::set_token(Some(&token));
            wasm_bindgen_futures::spawn_local(async move {
                match http::get::<Whoami>("/api/whoami").await {
                    Ok(w) if w.role != "guest" => reload(),
                    Ok(_) => {
                        http::set_token(None);
                        error.set(Some("This lab has no class tokens and no teacher's token.".into()));
                    }
                    Err(e) => {
                        http::set_token(None);
                        error.set(Some(e));
                    }
                }
            });
        })
    };
    let sign_out = Callback::from(|_: MouseEvent| {
        http::set_token(None);
        reload();
    });
    if ctx.lab.brokers.is_none() && error.is_none() {
        // Who this browser is arrives with the socket's hello.
        return html! {};
    }
    let signed_in = http::token().is_some() && who.role != "guest";
    if signed_in {
        let name = match &who.student {
            Some(s) => format!("{s} (your topics and groups: {s}.*)"),
            None => "the teacher".to_owned(),
        };
        return html! {
            <span class="signin" id="signed-in">
                { "signed in as " }<strong id="signed-in-name">{ name }</strong>{ " " }
                <button type="button" id="sign-out" onclick={sign_out}>{ "Sign out" }</button>
            </span>
        };
    }
    if who.role != "guest" && !who.class_mode {
        // The lab's own machine, or an open lab: nothing to sign in to.
        return html! {};
    }
    html! {
        <details class="signin" open={who.class_mode}>
            <summary>{ if who.class_mode { "Sign in to the class" } else { "Sign in" } }</summary>
            <form id="sign-in" onsubmit={submit}>
                <label for="token">{ if who.class_mode { "Your class token " } else { "The teacher's token " } }</label>
                <input id="token" ref={input} type="password" autocomplete="off" placeholder="alice.Xy3…" />
                <button type="submit">{ "Sign in" }</button>
            </form>
            if let Some(e) = &*error { <p class="error" role="alert" id="sign-in-error">{ e }</p> }
        </details>
    }
}
