//! The exercises as the server describes them.

use crate::http;
use std::rc::Rc;
use streamlab_wire::ExerciseInfo;
use yew::prelude::*;

/// The exercises, fetched once per page view.
#[hook]
pub fn use_exercises() -> UseStateHandle<Option<Rc<Vec<ExerciseInfo>>>> {
    let list = use_state(|| None::<Rc<Vec<ExerciseInfo>>>);
    {
        let list = list.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(l) = http::get::<Vec<ExerciseInfo>>("/api/exercises").await {
                    list.set(Some(Rc::new(l)));
                }
            });
        });
    }
    list
}
