//! A timer for as long as the component is shown.

use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

/// Runs `tick` now and every `ms` while the component is shown.
#[hook]
pub fn use_every(ms: i32, deps: String, tick: Rc<dyn Fn()>) {
    use_effect_with(deps, move |_| {
        tick();
        let t = tick.clone();
        let closure = Closure::<dyn FnMut()>::new(move || t());
        let window = web_sys::window().expect("a window");
        let id = window
            .set_interval_with_callback_and_timeout_and_arguments_0(closure.as_ref().unchecked_ref(), ms)
            .unwrap_or(0);
        move || {
            window.clear_interval_with_handle(id);
            drop(closure);
        }
    });
}

/// What `GET url` answered, asked now and every `ms` while the component is shown: `None`
/// until the first answer.
#[hook]
pub fn use_polled<T: serde::de::DeserializeOwned + 'static>(
    url: &'static str,
    ms: i32,
) -> UseStateHandle<Option<Result<T, String>>> {
    let answer = use_state(|| None::<Result<T, String>>);
    {
        let answer = answer.clone();
        use_every(
            ms,
            String::new(),
            Rc::new(move || {
                let answer = answer.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    answer.set(Some(crate::http::get::<T>(url).await));
                });
            }),
        );
    }
    answer
}
