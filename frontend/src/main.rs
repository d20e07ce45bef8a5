//! The streamlab browser lab. Everything it shows arrives over one websocket to the server
//! that served the page; the socket reconnects by itself and the page says when it is down.

use std::rc::Rc;
use streamlab_wire::{ServerMessage, TopicInfo, WS_PATH};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};
use yew::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Connection {
    Connecting,
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq)]
struct Lab {
    connection: Connection,
    brokers: Option<(String, bool)>,
    topics: Vec<TopicInfo>,
    error: Option<String>,
}

enum Action {
    Connection(Connection),
    Server(ServerMessage),
}

impl Reducible for Lab {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Connection(c) => next.connection = c,
            Action::Server(ServerMessage::Hello { brokers, embedded_broker, .. }) => next.brokers = Some((brokers, embedded_broker)),
            Action::Server(ServerMessage::Topics { topics }) => next.topics = topics,
            Action::Server(ServerMessage::Error { message }) => next.error = Some(message),
            // The pages that show groups, rates, inference and live records come with the
            // browser-lab issue; until then the overview ignores those messages.
            Action::Server(_) => return self,
        }
        Rc::new(next)
    }
}

/// The websocket URL of the server that served this page.
fn socket_url() -> String {
    let location = web_sys::window().expect("a window").location();
    let scheme = if location.protocol().unwrap_or_default() == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{}{WS_PATH}", location.host().unwrap_or_default())
}

/// Opens the socket and feeds what arrives to the page; on close, tries again in a second.
fn connect(dispatch: UseReducerDispatcher<Lab>) {
    dispatch.dispatch(Action::Connection(Connection::Connecting));
    let Ok(socket) = WebSocket::new(&socket_url()) else {
        retry(dispatch);
        return;
    };
    let d = dispatch.clone();
    let on_open = Closure::<dyn FnMut()>::new(move || d.dispatch(Action::Connection(Connection::Open)));
    let d = dispatch.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Some(text) = e.data().as_string() {
            match serde_json::from_str::<ServerMessage>(&text) {
                Ok(m) => d.dispatch(Action::Server(m)),
                Err(err) => d.dispatch(Action::Server(ServerMessage::Error { message: format!("unreadable server message: {err}") })),
            }
        }
    });
    let d = dispatch;
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
        d.dispatch(Action::Connection(Connection::Closed));
        retry(d.clone());
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // The handlers live as long as the socket, which lives as long as the page or until it
    // closes; leaking three closures per connection is the simple, bounded choice.
    on_open.forget();
    on_message.forget();
    on_close.forget();
}

fn retry(dispatch: UseReducerDispatcher<Lab>) {
    let again = Closure::once_into_js(move || connect(dispatch));
    let _ = web_sys::window()
        .expect("a window")
        .set_timeout_with_callback_and_timeout_and_arguments_0(again.unchecked_ref(), 1000);
}

#[function_component(App)]
fn app() -> Html {
    let lab = use_reducer(|| Lab { connection: Connection::Connecting, brokers: None, topics: Vec::new(), error: None });
    {
        let dispatch = lab.dispatcher();
        use_effect_with((), move |_| connect(dispatch));
    }
    let status = match lab.connection {
        Connection::Connecting => "connecting…",
        Connection::Open => "live",
        Connection::Closed => "disconnected, retrying",
    };
    let broker = match &lab.brokers {
        Some((b, true)) => format!("{b} (embedded)"),
        Some((b, false)) => b.clone(),
        None => "…".to_owned(),
    };
    html! {
        <main>
            <header>
                <h1>{ "streamlab" }</h1>
                <span id="connection" class={classes!("status", format!("{:?}", lab.connection).to_lowercase())} aria-live="polite">{ status }</span>
            </header>
            <p>{ "Broker: " }<code id="broker">{ broker }</code></p>
            if let Some(e) = &lab.error { <p class="error" role="alert">{ e }</p> }
            <h2>{ "Topics" }</h2>
            <table id="topics">
                <thead><tr><th>{ "Topic" }</th><th>{ "Partitions" }</th><th>{ "Messages" }</th></tr></thead>
                <tbody>
                    { for lab.topics.iter().map(|t| html! {
                        <tr data-topic={t.name.clone()}>
                            <td>{ &t.name }</td>
                            <td>{ t.partitions.len() }</td>
                            <td>{ t.messages }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </main>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
