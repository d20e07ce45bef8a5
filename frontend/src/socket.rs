//! The one websocket to the server that served the page, and the subscriptions the open
//! views want. Subscriptions are remembered so that a reconnected socket asks for them again:
//! a page survives a server restart without a reload.

use crate::state::{Action, Connection, Lab};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use streamlab_wire::{ClientMessage, ServerMessage, StartPosition, WS_PATH};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};
use yew::prelude::*;

/// The socket and the subscriptions the open views want, shared by every component.
#[derive(Clone, Default)]
pub struct Socket {
    inner: Rc<RefCell<Option<WebSocket>>>,
    wanted: Rc<RefCell<BTreeMap<u32, String>>>,
    /// The `watch_exercise` message of the open exercise, re-sent after a reconnect.
    watched: Rc<RefCell<Option<String>>>,
    /// Whether the classroom's grade book is watched (the teacher's page is open).
    classroom: Rc<std::cell::Cell<bool>>,
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Socket {
    fn send_text(&self, text: &str) {
        if let Some(ws) = self.inner.borrow().as_ref()
            && ws.ready_state() == WebSocket::OPEN
        {
            let _ = ws.send_with_str(text);
        }
    }

    pub fn subscribe(
        &self,
        id: u32,
        topic: &str,
        from: StartPosition,
        partitions: Option<Vec<i32>>,
        filter: Option<String>,
    ) {
        let text = serde_json::to_string(&ClientMessage::Subscribe {
            subscription: id,
            topic: topic.to_owned(),
            from,
            partitions,
            filter,
        })
        .expect("serialises");
        self.send_text(&text);
        self.wanted.borrow_mut().insert(id, text);
    }

    pub fn unsubscribe(&self, id: u32) {
        if self.wanted.borrow_mut().remove(&id).is_some() {
            self.send_text(
                &serde_json::to_string(&ClientMessage::Unsubscribe { subscription: id }).expect("serialises"),
            );
        }
    }

    /// Asks the server to re-check this exercise every few seconds and push the results.
    pub fn watch(&self, exercise: &str, student: Option<String>) {
        let text = serde_json::to_string(&ClientMessage::WatchExercise { exercise: exercise.to_owned(), student })
            .expect("serialises");
        self.send_text(&text);
        *self.watched.borrow_mut() = Some(text);
    }

    pub fn unwatch(&self) {
        if self.watched.borrow_mut().take().is_some() {
            self.send_text(&serde_json::to_string(&ClientMessage::UnwatchExercise).expect("serialises"));
        }
    }

    /// Asks the server for the class's grade book now and whenever a result changes.
    pub fn watch_classroom(&self) {
        self.classroom.set(true);
        self.send_text(&serde_json::to_string(&ClientMessage::WatchClassroom).expect("serialises"));
    }

    pub fn unwatch_classroom(&self) {
        if self.classroom.replace(false) {
            self.send_text(&serde_json::to_string(&ClientMessage::UnwatchClassroom).expect("serialises"));
        }
    }

    /// Opens the socket and feeds what arrives to `dispatch`; on close, tries again in a second.
    pub fn connect(&self, dispatch: UseReducerDispatcher<Lab>) {
        dispatch.dispatch(Action::Connection(Connection::Connecting));
        let Ok(ws) = WebSocket::new(&socket_url()) else {
            self.retry(dispatch);
            return;
        };
        let (d, me) = (dispatch.clone(), self.clone());
        let on_open = Closure::<dyn FnMut()>::new(move || {
            d.dispatch(Action::Connection(Connection::Open));
            // A new socket knows nothing of the old one's subscriptions.
            for text in me.wanted.borrow().values() {
                me.send_text(text);
            }
            if let Some(text) = me.watched.borrow().as_ref() {
                me.send_text(text);
            }
            if me.classroom.get() {
                me.send_text(&serde_json::to_string(&ClientMessage::WatchClassroom).expect("serialises"));
            }
        });
        let d = dispatch.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(m) => d.dispatch(Action::Server(m)),
                    Err(err) => d.dispatch(Action::Server(ServerMessage::Error {
                        message: format!("unreadable server message: {err}"),
                    })),
                }
            }
        });
        let (d, me) = (dispatch, self.clone());
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            d.dispatch(Action::Connection(Connection::Closed));
            me.retry(d.clone());
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        // The handlers live as long as the socket; leaking three closures per connection is
        // the simple, bounded choice.
        on_open.forget();
        on_message.forget();
        on_close.forget();
        *self.inner.borrow_mut() = Some(ws);
    }

    fn retry(&self, dispatch: UseReducerDispatcher<Lab>) {
        let me = self.clone();
        let again = Closure::once_into_js(move || me.connect(dispatch));
        let _ = web_sys::window()
            .expect("a window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(again.unchecked_ref(), 1000);
    }
}

/// The websocket URL of the server that served this page.
fn socket_url() -> String {
    let location = web_sys::window().expect("a window").location();
    let scheme = if location.protocol().unwrap_or_default() == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{}{}", location.host().unwrap_or_default(), crate::http::with_token(WS_PATH))
}
