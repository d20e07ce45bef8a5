//! What the lab knows, fed by the one websocket, and the socket itself.
//!
//! The server pushes everything (topics, groups, rates, inference, generator, live records);
//! the page only asks for live tails. Subscriptions are remembered so that a reconnected
//! socket asks for them again: a page survives a server restart without a reload.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use streamlab_wire::{
    CheckReport, ClientMessage, GeneratorStatus, GroupInfo, InferenceStatus, RATE_HISTORY, RateSample, RecordView,
    ServerMessage, StartPosition, TopicInfo, WS_PATH,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};
use yew::prelude::*;

/// Records a live view keeps (newest last).
pub const STREAM_RECORDS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Connection {
    Connecting,
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    pub records: VecDeque<RecordView>,
    pub received: u64,
    pub skipped: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lab {
    pub connection: Connection,
    pub brokers: Option<(String, bool)>,
    pub topics: Rc<Vec<TopicInfo>>,
    pub groups: Rc<Vec<GroupInfo>>,
    pub history: Rc<VecDeque<RateSample>>,
    pub inference: Option<InferenceStatus>,
    pub generator: Option<GeneratorStatus>,
    pub error: Option<String>,
    pub streams: Rc<BTreeMap<u32, Stream>>,
    /// The newest check of the watched exercise.
    pub check: Option<Rc<CheckReport>>,
}

impl Default for Lab {
    fn default() -> Self {
        Lab {
            connection: Connection::Connecting,
            brokers: None,
            topics: Rc::default(),
            groups: Rc::default(),
            history: Rc::default(),
            inference: None,
            generator: None,
            error: None,
            streams: Rc::default(),
            check: None,
        }
    }
}

impl Lab {
    /// The newest sampled rate of `topic`, messages/s.
    pub fn rate(&self, topic: &str) -> Option<f64> {
        self.history.back().and_then(|s| s.topics.get(topic).copied().flatten())
    }
}

pub enum Action {
    Connection(Connection),
    Server(ServerMessage),
    /// A view stopped showing this subscription.
    Forget(u32),
    DismissError,
}

impl Reducible for Lab {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Connection(c) => next.connection = c,
            Action::Forget(id) => {
                Rc::make_mut(&mut next.streams).remove(&id);
            }
            Action::DismissError => next.error = None,
            Action::Server(m) => match m {
                ServerMessage::Hello { brokers, embedded_broker, .. } => {
                    next.brokers = Some((brokers, embedded_broker))
                }
                ServerMessage::Topics { topics } => next.topics = Rc::new(topics),
                ServerMessage::Groups { groups } => next.groups = Rc::new(groups),
                ServerMessage::Rates { history } => next.history = Rc::new(history.into_iter().collect()),
                ServerMessage::Rate { sample } => {
                    let h = Rc::make_mut(&mut next.history);
                    if h.len() >= RATE_HISTORY {
                        h.pop_front();
                    }
                    h.push_back(sample);
                }
                ServerMessage::Inference { status } => next.inference = Some(status),
                ServerMessage::Generator { status } => next.generator = Some(status),
                ServerMessage::Records { batches } => {
                    let streams = Rc::make_mut(&mut next.streams);
                    // Only streams a view still shows (created by `subscribed`): a frame
                    // in flight for a view that has gone is dropped.
                    for b in batches {
                        let Some(s) = streams.get_mut(&b.subscription) else { continue };
                        s.skipped += b.skipped;
                        s.received += b.records.len() as u64;
                        s.records.extend(b.records);
                        while s.records.len() > STREAM_RECORDS {
                            s.records.pop_front();
                        }
                    }
                }
                ServerMessage::Subscribed { subscription, .. } => {
                    Rc::make_mut(&mut next.streams).entry(subscription).or_default();
                }
                ServerMessage::Unsubscribed { .. } => return self,
                ServerMessage::Check { report } => next.check = Some(Rc::new(report)),
                ServerMessage::Unwatched => next.check = None,
                ServerMessage::Error { message } => next.error = Some(message),
            },
        }
        Rc::new(next)
    }
}

/// The socket and the subscriptions the open views want, shared by every component.
#[derive(Clone, Default)]
pub struct Socket {
    inner: Rc<RefCell<Option<WebSocket>>>,
    wanted: Rc<RefCell<BTreeMap<u32, String>>>,
    /// The `watch_exercise` message of the open exercise, re-sent after a reconnect.
    watched: Rc<RefCell<Option<String>>>,
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

    pub fn subscribe(&self, id: u32, topic: &str, from: StartPosition, partitions: Option<Vec<i32>>) {
        let text = serde_json::to_string(&ClientMessage::Subscribe {
            subscription: id,
            topic: topic.to_owned(),
            from,
            partitions,
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
    format!("{scheme}://{}{WS_PATH}", location.host().unwrap_or_default())
}

/// What every page reads: the lab's state and the socket.
#[derive(Clone, PartialEq)]
pub struct Ctx {
    pub lab: UseReducerHandle<Lab>,
    pub socket: Socket,
}

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

/// A live tail for as long as the calling component shows it (and `key` does not change).
/// Returns the subscription's id: its records are `lab.streams[id]`.
#[hook]
pub fn use_tail(topic: String, from: StartPosition, partitions: Option<Vec<i32>>, key: u32) -> u32 {
    let ctx = use_context::<Ctx>().expect("the lab context");
    let id = use_state(next_id);
    {
        let (id_handle, socket, dispatch) = (id.clone(), ctx.socket.clone(), ctx.lab.dispatcher());
        use_effect_with((topic, from, partitions, key), move |(topic, from, partitions, _)| {
            let id = next_id();
            id_handle.set(id);
            socket.subscribe(id, topic, *from, partitions.clone());
            move || {
                socket.unsubscribe(id);
                dispatch.dispatch(Action::Forget(id));
            }
        });
    }
    *id
}
