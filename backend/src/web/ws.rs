//! The websocket (`/ws`): JSON messages tagged by `type` (the `streamlab-wire` crate's
//! `ServerMessage` and `ClientMessage`).
//!
//! On open the server sends `hello`, `topics`, `groups`, `rates` (the kept history),
//! `inference` and `generator`; after that it pushes `topics` and `groups` when they change,
//! `rate` and `inference` every second, `generator` when it changes, and `records` frames (at
//! most one per 50 ms) for the client's live subscriptions (`subscribe` / `unsubscribe`).
//! `watch_exercise` makes the server re-check that exercise every [`RECHECK_INTERVAL`] —
//! for a student, only when her topics or groups changed — and send `check` when a result
//! changes; `watch_classroom` (the teacher's) sends `classroom`, the grade book, whenever a
//! result of the class changes.

use super::access::{Access, Act, Caller};
use super::api::rates::visible_rates;
use super::gradebook::fingerprint;
use super::guard::Bucket;
use super::live::{SubscribeError, Subscriptions};
use super::state::AppState;
use crate::exercises::Namespace;
use crate::exercises::check::Checker;
use crate::kafka::admin::validate_topic_name;
use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::IntoResponse;
use std::time::Duration;
use streamlab_wire::filter::Filter;
use streamlab_wire::{CheckReport, ClassReport, ClientMessage, GroupInfo, Outcome, ServerMessage, TopicInfo};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

/// Largest websocket message a client may send.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// How often a socket's live records are sent: at most 20 frames a second.
const FRAME_INTERVAL: Duration = Duration::from_millis(50);
/// How often a watched exercise is checked again.
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(3);

/// The caller is told apart when the socket opens (a browser sends its token as `?token=`)
/// and keeps that role for the socket's life: it sees only the topics, groups and rates it may
/// read, and may subscribe to and check only those.
pub async fn websocket(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> impl IntoResponse {
    let open = state.sessions.token();
    ws.max_message_size(MAX_CLIENT_MESSAGE).on_upgrade(move |socket| async move {
        session(socket, state, caller).await;
        drop(open);
    })
}

fn text(message: &ServerMessage) -> String {
    serde_json::to_string(message).expect("server messages serialise")
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    socket.send(Message::Text(text(message).into())).await.is_ok()
}

/// One browser's socket, until it closes.
async fn session(mut socket: WebSocket, state: AppState, caller: Caller) {
    let feeds = state.feeds.clone();
    let access = state.access.clone();
    let seen_topics = |topics: &[TopicInfo]| -> Vec<TopicInfo> {
        topics.iter().filter(|t| access.visible(&caller, &t.name)).cloned().collect()
    };
    let seen_groups = |groups: &[GroupInfo]| -> Vec<GroupInfo> {
        groups.iter().filter(|g| access.visible(&caller, &g.group)).cloned().collect()
    };
    let (mut topics, mut groups, mut inference, mut generator) =
        (feeds.topics.clone(), feeds.groups.clone(), feeds.inference.clone(), state.generator.subscribe());
    let mut storage = feeds.storage.clone();
    let mut rates = feeds.rates.subscribe();
    let opening = [
        ServerMessage::Hello {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            brokers: state.info.brokers.clone(),
            embedded_broker: state.info.embedded_broker,
            who: access.whoami(&caller),
            reachable_from_other_machines: state.info.reachable_from_other_machines,
            sasl_mechanism: state.info.sasl_mechanism.clone(),
        },
        ServerMessage::Topics { topics: seen_topics(&topics.borrow_and_update()) },
        ServerMessage::Groups { groups: seen_groups(&groups.borrow_and_update()) },
        ServerMessage::Rates {
            history: feeds.history().into_iter().map(|s| visible_rates(&access, &caller, s)).collect(),
        },
        ServerMessage::Inference { status: inference.borrow_and_update().clone() },
        ServerMessage::Generator { status: state.generator.status() },
    ];
    let held = storage.borrow_and_update().clone().map(|storage| ServerMessage::Storage { storage });
    for m in opening.iter().chain(&held) {
        if !send(&mut socket, m).await {
            return;
        }
    }
    generator.mark_unchanged();
    let mut subs = Subscriptions::new(state.limits.max_subscriptions);
    let mut frames = tokio::time::interval(FRAME_INTERVAL);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut bucket = Bucket::new(state.limits.requests_per_second);
    let (checks, mut checked) = tokio::sync::mpsc::channel(4);
    let mut watch = Watch {
        checker: state.checker.clone(),
        checks,
        task: None,
        topics: feeds.topics.clone(),
        groups: feeds.groups.clone(),
    };
    let mut classroom: Option<watch::Receiver<Option<ClassReport>>> = None;
    loop {
        let out = tokio::select! {
            _ = state.closing.wait() => {
                let bye = CloseFrame { code: close_code::AWAY, reason: "the lab is stopping".into() };
                let _ = socket.send(Message::Close(Some(bye))).await;
                return;
            },
            _ = frames.tick(), if !subs.is_empty() => match subs.frame() {
                Some(frame) => frame,
                None => continue,
            },
            r = topics.changed() => match r {
                Ok(()) => text(&ServerMessage::Topics { topics: seen_topics(&topics.borrow_and_update()) }),
                Err(_) => return,
            },
            r = groups.changed() => match r {
                Ok(()) => text(&ServerMessage::Groups { groups: seen_groups(&groups.borrow_and_update()) }),
                Err(_) => return,
            },
            r = inference.changed() => match r {
                Ok(()) => text(&ServerMessage::Inference { status: inference.borrow_and_update().clone() }),
                Err(_) => return,
            },
            r = storage.changed() => match (r, storage.borrow_and_update().clone()) {
                (Ok(()), Some(storage)) => text(&ServerMessage::Storage { storage }),
                (Ok(()), None) => continue,
                (Err(_), _) => return,
            },
            r = generator.changed() => match r {
                Ok(()) => text(&ServerMessage::Generator { status: generator.borrow_and_update().clone() }),
                Err(_) => return,
            },
            Some(report) = checked.recv() => text(&ServerMessage::Check { report }),
            Some(report) = next_grades(&mut classroom), if classroom.is_some() => text(&ServerMessage::Classroom { report }),
            r = rates.recv() => match r {
                Ok(sample) => text(&ServerMessage::Rate { sample: visible_rates(&access, &caller, sample) }),
                // A socket that fell behind misses samples; the history on reconnect has them.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(incoming))) => text(&if !bucket.take(state.limits.requests_per_second) {
                    ServerMessage::Error { message: format!("more than {} messages per second; slow down", state.limits.requests_per_second) }
                } else {
                    match serde_json::from_str::<ClientMessage>(&incoming) {
                        Ok(m) => {
                            let listed = seen_topics(&topics.borrow());
                            let mut session = Session { subs: &mut subs, watch: &mut watch, classroom: &mut classroom };
                            handle(m, &caller, &access, &mut session, listed, &state).await
                        }
                        Err(e) => ServerMessage::Error { message: format!("cannot read that message: {e}") },
                    }
                }),
                Some(Ok(Message::Binary(_))) => text(&ServerMessage::Error { message: "send JSON text messages".into() }),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return,
            },
        };
        if socket.send(Message::Text(out.into())).await.is_err() {
            return;
        }
    }
}

/// The grade book's next version, for a teacher's socket watching the classroom.
async fn next_grades(rx: &mut Option<watch::Receiver<Option<ClassReport>>>) -> Option<Option<ClassReport>> {
    let rx = rx.as_mut()?;
    rx.changed().await.ok()?;
    Some(rx.borrow_and_update().clone())
}

/// What a socket's messages change: its tails, the exercise it watches, the classroom.
struct Session<'a> {
    subs: &'a mut Subscriptions,
    watch: &'a mut Watch,
    classroom: &'a mut Option<watch::Receiver<Option<ClassReport>>>,
}

/// The exercise a socket watches: a task re-checking it, stopped with the socket.
struct Watch {
    checker: Checker,
    checks: tokio::sync::mpsc::Sender<CheckReport>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The sampler's readings: a student's exercise is checked again only when her topics
    /// or groups changed (see [`fingerprint`]).
    topics: watch::Receiver<Vec<TopicInfo>>,
    groups: watch::Receiver<Vec<GroupInfo>>,
}

impl Watch {
    /// Starts watching; the first report says every condition is pending.
    fn start(&mut self, exercise: &str, student: Option<&str>) -> ServerMessage {
        let found = self
            .checker
            .catalog
            .find(exercise)
            .map_err(|e| e.to_string())
            .and_then(|e| Namespace::student(student).map(|ns| (e.clone(), ns)).map_err(|e| e.to_string()));
        let (exercise, ns) = match found {
            Ok(f) => f,
            Err(message) => return ServerMessage::Error { message },
        };
        self.stop();
        let (checker, checks) = (self.checker.clone(), self.checks.clone());
        let (topics, groups) = (self.topics.clone(), self.groups.clone());
        let pending = Checker::pending(&exercise, &ns);
        self.task = Some(tokio::spawn(async move {
            let mut last: Option<Vec<(Outcome, Option<String>)>> = None;
            let mut checked_at: Option<u64> = None;
            loop {
                let print = ns.name().map(|n| fingerprint(n, &topics.borrow(), &groups.borrow()));
                let settled =
                    last.as_ref().is_some_and(|l| l.iter().all(|(o, _)| matches!(o, Outcome::Pass | Outcome::Fail)));
                if print.is_some() && print == checked_at && settled {
                    tokio::time::sleep(RECHECK_INTERVAL).await;
                    continue;
                }
                checked_at = print;
                let report = checker.check(&exercise, &ns).await;
                let seen: Vec<_> = report.results.iter().map(|r| (r.outcome, r.message.clone())).collect();
                if last.as_ref() != Some(&seen) {
                    last = Some(seen);
                    if checks.send(report).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(RECHECK_INTERVAL).await;
            }
        }));
        ServerMessage::Check { report: pending }
    }

    fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn handle(
    m: ClientMessage,
    caller: &Caller,
    access: &Access,
    session: &mut Session<'_>,
    topics: Vec<TopicInfo>,
    state: &AppState,
) -> ServerMessage {
    let (subs, tails) = (&mut *session.subs, &state.tails);
    match m {
        ClientMessage::WatchExercise { exercise, student } => match access.student(caller, student.as_deref()) {
            Ok(student) => session.watch.start(&exercise, student),
            Err(denied) => ServerMessage::Error { message: denied.message },
        },
        ClientMessage::UnwatchExercise => {
            session.watch.stop();
            ServerMessage::Unwatched
        }
        ClientMessage::WatchClassroom => match access.teacher(caller, "see the class's grades") {
            Ok(()) => {
                let mut grades = state.gradebook.watch();
                let now = grades.borrow_and_update().clone();
                *session.classroom = Some(grades);
                ServerMessage::Classroom { report: now }
            }
            Err(denied) => ServerMessage::Error { message: denied.message },
        },
        ClientMessage::UnwatchClassroom => {
            *session.classroom = None;
            ServerMessage::Classroom { report: None }
        }
        ClientMessage::ListTopics => ServerMessage::Topics { topics },
        ClientMessage::Subscribe { subscription, topic, from, partitions, filter } => {
            let allowed = validate_topic_name(&topic)
                .map_err(|e| e.to_string())
                .and_then(|()| access.topic(caller, Act::Read, &topic).map_err(|d| d.message));
            if let Err(message) = allowed {
                return ServerMessage::Error { message: format!("cannot subscribe to {topic}: {message}") };
            }
            let filter = match filter.as_deref().map(Filter::parse).transpose() {
                Ok(f) => f,
                Err(e) => return ServerMessage::Error { message: format!("cannot subscribe to {topic}: {e}") },
            };
            let opened = match subs.check(subscription) {
                Ok(()) => {
                    // Opening a tail talks to the broker; keep it off the async threads.
                    let (tails, t) = (tails.clone(), topic.clone());
                    tokio::task::spawn_blocking(move || tails.open(&t, from, partitions.as_deref(), filter))
                        .await
                        .unwrap_or_else(|e| Err(SubscribeError::Failed(e.to_string())))
                }
                Err(e) => Err(e),
            };
            match opened {
                Ok(feed) => {
                    subs.start(subscription, feed);
                    ServerMessage::Subscribed { subscription, topic }
                }
                Err(e) => ServerMessage::Error { message: format!("cannot subscribe to {topic}: {e}") },
            }
        }
        ClientMessage::Unsubscribe { subscription } => {
            if subs.unsubscribe(subscription) {
                ServerMessage::Unsubscribed { subscription }
            } else {
                ServerMessage::Error { message: format!("there is no subscription {subscription}") }
            }
        }
    }
}
