//! The lab's hooks: reading the lab, live tails, timers, the exercises, the saved theme.

mod every;
mod exercises;
mod tail;
mod theme;

pub use every::{use_every, use_polled};
pub use exercises::use_exercises;
pub use tail::use_tail;
pub use theme::use_theme;

use crate::provider::LabContext;
use yew::prelude::*;

/// The lab's state and socket. Only components inside [`crate::provider::LabProvider`] call it,
/// which the app guarantees by wrapping every page in one.
#[hook]
pub fn use_lab() -> LabContext {
    use_context::<LabContext>().expect("use_lab is called inside LabProvider")
}
