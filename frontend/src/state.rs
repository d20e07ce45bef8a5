//! What the lab knows, as a reducer fed by the one websocket ([`crate::socket`]): the
//! server pushes everything (topics, groups, rates, inference, generator, live records,
//! exercise checks) and each message becomes an [`Action`].

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use streamlab_wire::{
    BrokerStorage, CheckReport, ClassReport, GeneratorStatus, GroupInfo, InferenceStatus, RATE_HISTORY, RateSample,
    RecordView, ServerMessage, TopicInfo, Whoami,
};
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
    /// The server's counts since the subscription began: records it read from the topic,
    /// and how many its filter let through.
    pub scanned: u64,
    pub matched: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lab {
    pub connection: Connection,
    pub brokers: Option<(String, bool)>,
    /// Whether clients on other machines can reach the broker (it listens beyond loopback
    /// and advertises a network address).
    pub reachable: bool,
    /// The SASL mechanism clients sign in with, when the cluster wants them to.
    pub sasl: Option<String>,
    /// Who the server takes this browser for.
    pub who: Whoami,
    pub topics: Rc<Vec<TopicInfo>>,
    pub groups: Rc<Vec<GroupInfo>>,
    pub history: Rc<VecDeque<RateSample>>,
    pub inference: Option<InferenceStatus>,
    pub generator: Option<GeneratorStatus>,
    /// What the embedded broker holds; `None` with another cluster.
    pub storage: Option<BrokerStorage>,
    pub error: Option<String>,
    pub streams: Rc<BTreeMap<u32, Stream>>,
    /// The newest check of the watched exercise.
    pub check: Option<Rc<CheckReport>>,
    /// The class's grade book, pushed while the classroom page is open.
    pub classroom: Option<Rc<ClassReport>>,
}

impl Default for Lab {
    fn default() -> Self {
        Lab {
            connection: Connection::Connecting,
            brokers: None,
            reachable: false,
            sasl: None,
            who: Whoami::default(),
            topics: Rc::default(),
            groups: Rc::default(),
            history: Rc::default(),
            inference: None,
            generator: None,
            storage: None,
            error: None,
            streams: Rc::default(),
            check: None,
            classroom: None,
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
                ServerMessage::Hello {
                    brokers,
                    embedded_broker,
                    who,
                    reachable_from_other_machines,
                    sasl_mechanism,
                    ..
                } => {
                    next.brokers = Some((brokers, embedded_broker));
                    next.reachable = reachable_from_other_machines;
                    next.sasl = sasl_mechanism;
                    next.who = who;
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
                ServerMessage::Storage { storage } => next.storage = Some(storage),
                ServerMessage::Records { batches } => {
                    let streams = Rc::make_mut(&mut next.streams);
                    // Only streams a view still shows (created by `subscribed`): a frame
                    // in flight for a view that has gone is dropped.
                    for b in batches {
                        let Some(s) = streams.get_mut(&b.subscription) else { continue };
                        s.skipped += b.skipped;
                        s.received += b.records.len() as u64;
                        (s.scanned, s.matched) = (s.scanned.max(b.scanned), s.matched.max(b.matched));
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
                ServerMessage::Classroom { report } => next.classroom = report.map(Rc::new),
                ServerMessage::Error { message } => next.error = Some(message),
            },
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamlab_wire::{RecordBatch, RecordView};

    fn record(offset: i64) -> RecordView {
        RecordView {
            topic: "t".into(),
            partition: 0,
            offset,
            timestamp_ms: None,
            key: None,
            headers: vec![],
            value: None,
            size: 0,
        }
    }

    fn server(lab: Rc<Lab>, m: ServerMessage) -> Rc<Lab> {
        lab.reduce(Action::Server(m))
    }

    #[test]
    fn a_stream_keeps_the_newest_records_and_counts_what_it_passed_over() {
        let lab = server(Rc::new(Lab::default()), ServerMessage::Subscribed { subscription: 7, topic: "t".into() });
        let batch = RecordBatch {
            subscription: 7,
            skipped: 4,
            records: (0..STREAM_RECORDS as i64 + 5).map(record).collect(),
            scanned: 900,
            matched: 309,
        };
        let lab = server(lab, ServerMessage::Records { batches: vec![batch] });
        let s = &lab.streams[&7];
        assert_eq!(s.records.len(), STREAM_RECORDS);
        assert_eq!(s.records.front().unwrap().offset, 5, "the oldest five left the view");
        assert_eq!((s.received, s.skipped), (STREAM_RECORDS as u64 + 5, 4));
        assert_eq!((s.scanned, s.matched), (900, 309));
    }

    #[test]
    fn records_for_a_view_that_has_gone_are_dropped() {
        let lab = server(Rc::new(Lab::default()), ServerMessage::Subscribed { subscription: 1, topic: "t".into() });
        let lab = lab.reduce(Action::Forget(1));
        let batch = RecordBatch { subscription: 1, skipped: 0, records: vec![record(0)], scanned: 1, matched: 1 };
        let lab = server(lab, ServerMessage::Records { batches: vec![batch] });
        assert!(lab.streams.is_empty());
    }

    #[test]
    fn the_hello_says_who_the_browser_is_and_whether_others_reach_the_broker() {
        let who = Whoami { role: "student".into(), student: Some("alice".into()), class_mode: true };
        let hello = ServerMessage::Hello {
            version: "0".into(),
            brokers: "10.0.0.5:9092".into(),
            embedded_broker: true,
            who: who.clone(),
            reachable_from_other_machines: true,
            sasl_mechanism: Some("SCRAM-SHA-256".into()),
        };
        let lab = server(Rc::new(Lab::default()), hello);
        assert_eq!(lab.who, who);
        assert!(lab.reachable);
        assert_eq!(lab.sasl.as_deref(), Some("SCRAM-SHA-256"));
        assert_eq!(lab.brokers, Some(("10.0.0.5:9092".into(), true)));
        // An older server's hello: a guest, not reachable.
        let old: ServerMessage =
            serde_json::from_str(r#"{"type":"hello","version":"0","brokers":"127.0.0.1:9092","embedded_broker":true}"#)
                .unwrap();
        let lab = server(lab, old);
        assert_eq!(lab.who, Whoami::default());
        assert!(!lab.reachable);
        assert_eq!(lab.sasl, None, "no sign-in unless the server says so");
    }

    #[test]
    fn the_rate_history_stays_within_its_length() {
        let mut lab = Rc::new(Lab::default());
        for i in 0..RATE_HISTORY as i64 + 3 {
            let mut sample = RateSample {
                at_ms: i,
                topics: Default::default(),
                groups: Default::default(),
                lag: Default::default(),
            };
            sample.topics.insert("t".into(), Some(i as f64));
            lab = server(lab, ServerMessage::Rate { sample });
        }
        assert_eq!(lab.history.len(), RATE_HISTORY);
        assert_eq!(lab.rate("t"), Some(RATE_HISTORY as f64 + 2.0));
        let lab = server(lab, ServerMessage::Error { message: "boom".into() });
        assert_eq!(lab.error.as_deref(), Some("boom"));
        assert_eq!(lab.reduce(Action::DismissError).error, None);
    }
}
