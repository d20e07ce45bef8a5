//! Light or dark: the user's last choice (kept in the browser), else the system's.

use web_sys::Storage;
use yew::prelude::*;

const THEME_KEY: &str = "streamlab-theme";

fn storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn saved_theme() -> Option<String> {
    storage()?.get_item(THEME_KEY).ok()?
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

/// Applies the saved theme and returns the callback that switches to the other one.
#[hook]
pub fn use_theme() -> Callback<MouseEvent> {
    let theme = use_state(saved_theme);
    {
        let t = (*theme).clone();
        use_effect_with(t, |t| apply_theme(t.as_deref()));
    }
    Callback::from(move |_: MouseEvent| {
        let dark_now = match theme.as_deref() {
            Some(t) => t == "dark",
            None => web_sys::window()
                .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                .is_some_and(|m| m.matches()),
        };
        let next = if dark_now { "light" } else { "dark" };
        if let Some(s) = storage() {
            let _ = s.set_item(THEME_KEY, next);
        }
        theme.set(Some(next.to_owned()));
    })
}
