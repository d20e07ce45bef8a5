//! Live tails that last as long as the component showing them.

use super::use_lab;
use crate::state::Action;
use streamlab_wire::StartPosition;
use yew::prelude::*;

thread_local! {
    static NEXT_ID: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
}

fn next_id() -> u32 {
    NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

/// A live tail for as long as the calling component shows it (and `key` does not change),
/// of the records `filter` matches (the server tests them). Returns the subscription's id:
/// its records are `lab.streams[id]`.
#[hook]
pub fn use_tail(
    topic: String,
    from: StartPosition,
    partitions: Option<Vec<i32>>,
    filter: Option<String>,
    key: u32,
) -> u32 {
    let ctx = use_lab();
    let id = use_state(next_id);
    {
        let (id_handle, socket, dispatch) = (id.clone(), ctx.socket.clone(), ctx.lab.dispatcher());
        use_effect_with((topic, from, partitions, filter, key), move |(topic, from, partitions, filter, _)| {
            let id = next_id();
            id_handle.set(id);
            socket.subscribe(id, topic, *from, partitions.clone(), filter.clone());
            move || {
                socket.unsubscribe(id);
                dispatch.dispatch(Action::Forget(id));
            }
        });
    }
    *id
}
