//! Who may do what in the lab: one table of rules that every route and the websocket ask.
//!
//! A caller is the teacher, a student of the class, or a guest:
//! - the **teacher** presents `--admin-token`, or — when the lab has none — connects from the
//!   lab's own machine (loopback), where whoever started the lab sits;
//! - a **student** presents a class token (`--roster` and `--class-secret`, see
//!   [`crate::exercises::class`]) and owns the names that start with `NAME.`;
//! - anyone else is a **guest**.
//!
//! Without class mode, guests may read, create topics and produce (what a course does) but
//! not delete, reset or switch the generator, which change what everyone else sees. In class
//! mode a student may create, write, delete and reset only inside `NAME.*`, may read that and
//! the lab's own names, and sees nothing of other students; a guest may read the lab's names
//! only. The lab's own topics cannot be deleted at all without `--allow-lab-topic-delete`.
//!
//! The embedded broker itself checks nothing: a Kafka client on the network can still do
//! anything there. README says what enforces these rights at the Kafka protocol level.

use crate::exercises::class::Class;
use axum::http::StatusCode;
use std::net::IpAddr;
use streamlab_wire::Whoami;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Teacher,
    Student(String),
    Guest,
}

/// What a caller wants to do with a topic or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Read,
    /// Create a topic, produce records.
    Write,
    Delete,
    /// Move a group's committed offsets.
    Reset,
    /// Send stored records again (re-produce one, redrive dead letters): the teacher's, or a
    /// student's into their own topics.
    Resend,
}

impl Act {
    fn verb(self) -> &'static str {
        match self {
            Act::Read => "read",
            Act::Write => "write to",
            Act::Delete => "delete",
            Act::Reset => "reset",
            Act::Resend => "re-send records to",
        }
    }
}

/// A refusal: 401 when signing in would help, 403 when it would not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub status: StatusCode,
    pub message: String,
}

impl Denied {
    fn unauthorized(message: impl Into<String>) -> Self {
        Denied { status: StatusCode::UNAUTHORIZED, message: message.into() }
    }

    fn forbidden(message: impl Into<String>) -> Self {
        Denied { status: StatusCode::FORBIDDEN, message: message.into() }
    }
}

/// The lab's rules, set by flags.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub admin_token: Option<String>,
    /// Class mode: the roster and the secret its tokens derive from.
    pub class: Option<Class>,
    /// The lab's own topics (requests, predictions, dead letters, …).
    pub lab_topics: Vec<String>,
    pub allow_lab_topic_delete: bool,
}

/// Whose a topic or group name is.
#[derive(Debug, PartialEq, Eq)]
enum Owner<'a> {
    Student(&'a str),
    Lab,
}

impl Access {
    /// Who presents `token` from `peer`. An unknown, expired or malformed token is refused
    /// rather than taken for a guest, so a student with a typo is told so.
    pub fn identify(&self, token: Option<&str>, peer: Option<IpAddr>) -> Result<Caller, Denied> {
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        match token {
            Some(t) if self.admin_token.as_deref().is_some_and(|a| same(a, t)) => Ok(Caller::Teacher),
            Some(t) => match &self.class {
                Some(class) => class.verify(t).map(Caller::Student).map_err(|e| Denied::unauthorized(e.to_string())),
                None if self.admin_token.is_some() => Err(Denied::unauthorized("that is not the lab's admin token")),
                // An open lab has no tokens; one sent anyway changes nothing.
                None => Ok(self.anonymous(peer)),
            },
            None => Ok(self.anonymous(peer)),
        }
    }

    fn anonymous(&self, peer: Option<IpAddr>) -> Caller {
        let loopback = peer.is_some_and(|ip| ip.is_loopback() || ip.to_canonical().is_loopback());
        if loopback && self.admin_token.is_none() { Caller::Teacher } else { Caller::Guest }
    }

    pub fn class_mode(&self) -> bool {
        self.class.is_some()
    }

    fn owner<'a>(&'a self, name: &str) -> Owner<'a> {
        let Some(class) = &self.class else { return Owner::Lab };
        class.roster().iter().find(|s| streamlab_wire::in_namespace(s, name)).map_or(Owner::Lab, |s| Owner::Student(s))
    }

    fn is_lab_topic(&self, name: &str) -> bool {
        self.lab_topics.iter().any(|t| t == name)
    }

    /// May `caller` do `act` to the topic `name`?
    pub fn topic(&self, caller: &Caller, act: Act, name: &str) -> Result<(), Denied> {
        if act == Act::Delete && self.is_lab_topic(name) && !self.allow_lab_topic_delete {
            return Err(Denied::forbidden(format!(
                "{name} is one of the lab's own topics and cannot be deleted through the lab \
                 (start the lab with --allow-lab-topic-delete to allow it)"
            )));
        }
        self.name(caller, act, "topic", name)
    }

    /// May `caller` do `act` to the Schema Registry's subject `name`? A subject is named
    /// after its topic, so it is its namespace's as the topic is.
    pub fn subject(&self, caller: &Caller, act: Act, name: &str) -> Result<(), Denied> {
        self.name(caller, act, "subject", name)
    }

    /// May `caller` do `act` to the consumer group `name`?
    pub fn group(&self, caller: &Caller, act: Act, name: &str) -> Result<(), Denied> {
        self.name(caller, act, "group", name)
    }

    fn name(&self, caller: &Caller, act: Act, kind: &str, name: &str) -> Result<(), Denied> {
        let owner = self.owner(name);
        match caller {
            Caller::Teacher => Ok(()),
            Caller::Student(me) => match (owner, act) {
                (Owner::Student(s), _) if s == me => Ok(()),
                (Owner::Lab, Act::Read) => Ok(()),
                (Owner::Student(s), _) => {
                    Err(Denied::forbidden(format!("{me} may not {} {s}'s {kind} {name}", act.verb())))
                }
                (Owner::Lab, _) => Err(Denied::forbidden(format!(
                    "{me} may not {} the {kind} {name}: students create, write, delete and reset only \
                     inside their namespace, names starting with `{me}.`",
                    act.verb()
                ))),
            },
            Caller::Guest if self.class_mode() => match (owner, act) {
                (Owner::Lab, Act::Read) => Ok(()),
                _ => Err(self.sign_in(&format!("{} the {kind} {name}", act.verb()))),
            },
            Caller::Guest => match act {
                Act::Read | Act::Write => Ok(()),
                Act::Delete | Act::Reset | Act::Resend => {
                    Err(self.sign_in(&format!("{} the {kind} {name}", act.verb())))
                }
            },
        }
    }

    /// Actions that only the teacher may take (the generator switch, the class's grades).
    pub fn teacher(&self, caller: &Caller, what: &str) -> Result<(), Denied> {
        match caller {
            Caller::Teacher => Ok(()),
            Caller::Student(me) => Err(Denied::forbidden(format!("only the teacher may {what}; {me} may not"))),
            Caller::Guest => Err(self.sign_in(what)),
        }
    }

    /// The namespace a check or progress report may be made for: a student's own (the
    /// default for a student), any for the teacher.
    pub fn student<'a>(&self, caller: &'a Caller, asked: Option<&'a str>) -> Result<Option<&'a str>, Denied> {
        let asked = asked.map(str::trim).filter(|s| !s.is_empty());
        match (caller, asked) {
            (Caller::Student(me), None) => Ok(Some(me)),
            (Caller::Student(me), Some(s)) if s == me => Ok(Some(me)),
            (Caller::Student(me), Some(s)) => Err(Denied::forbidden(format!("{me} may not see {s}'s exercises"))),
            (Caller::Guest, Some(s)) if self.class_mode() => Err(self.sign_in(&format!("see {s}'s exercises"))),
            (_, asked) => Ok(asked),
        }
    }

    /// Whether `caller` sees the topic or group `name` in lists at all.
    pub fn visible(&self, caller: &Caller, name: &str) -> bool {
        self.name(caller, Act::Read, "topic", name).is_ok()
    }

    /// What the browser is told about its caller.
    pub fn whoami(&self, caller: &Caller) -> Whoami {
        Whoami {
            role: match caller {
                Caller::Teacher => "teacher",
                Caller::Student(_) => "student",
                Caller::Guest => "guest",
            }
            .to_owned(),
            student: match caller {
                Caller::Student(s) => Some(s.clone()),
                _ => None,
            },
            class_mode: self.class_mode(),
        }
    }

    /// The refusal that says how to be allowed.
    fn sign_in(&self, what: &str) -> Denied {
        Denied::unauthorized(if self.class_mode() {
            format!(
                "to {what}, sign in with your class token (the lab page asks for it; \
                 for the API, header `Authorization: Bearer TOKEN`)"
            )
        } else if self.admin_token.is_some() {
            format!("to {what}, send the lab's admin token (header `Authorization: Bearer TOKEN`)")
        } else {
            format!(
                "only the machine the lab runs on may {what}; to allow it from other machines, start the \
                 lab with --admin-token TOKEN and send the header `Authorization: Bearer TOKEN`"
            )
        })
    }
}

/// Compared in constant time so a token cannot be guessed byte by byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    const AWAY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 20)));

    fn open() -> Access {
        Access { lab_topics: vec!["mushroom_prediction".into()], ..Access::default() }
    }

    fn class() -> (Access, Class) {
        let class = Class::new("secret", vec!["alice".into(), "bob".into()]);
        (Access { admin_token: Some("teach".into()), class: Some(class.clone()), ..open() }, class)
    }

    #[test]
    fn an_open_lab_lets_only_its_own_machine_delete_and_reset() {
        let a = open();
        assert_eq!(a.identify(None, HOME), Ok(Caller::Teacher));
        let guest = a.identify(None, AWAY).unwrap();
        assert_eq!(guest, Caller::Guest);
        assert!(a.topic(&guest, Act::Write, "mine").is_ok() && a.topic(&guest, Act::Read, "mine").is_ok());
        let refused = a.topic(&guest, Act::Delete, "mine").unwrap_err();
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.message.contains("--admin-token"), "{}", refused.message);
        assert!(a.group(&guest, Act::Reset, "g").is_err() && a.teacher(&guest, "switch the generator").is_err());
        assert!(a.topic(&Caller::Teacher, Act::Delete, "mine").is_ok());
        // Re-sending stored records (re-produce, redrive) is the admin's in an open lab.
        assert_eq!(a.topic(&guest, Act::Resend, "mine").unwrap_err().status, StatusCode::UNAUTHORIZED);
        assert!(a.topic(&Caller::Teacher, Act::Resend, "mushroom_prediction").is_ok());
    }

    #[test]
    fn lab_topics_are_not_deleted_without_the_flag() {
        let a = open();
        let refused = a.topic(&Caller::Teacher, Act::Delete, "mushroom_prediction").unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.message.contains("--allow-lab-topic-delete"));
        let allowed = Access { allow_lab_topic_delete: true, ..open() };
        assert!(allowed.topic(&Caller::Teacher, Act::Delete, "mushroom_prediction").is_ok());
    }

    #[test]
    fn with_an_admin_token_the_lab_machine_needs_it_too() {
        let a = Access { admin_token: Some("teach".into()), ..open() };
        assert_eq!(a.identify(None, HOME), Ok(Caller::Guest));
        assert_eq!(a.identify(Some("teach"), AWAY), Ok(Caller::Teacher));
        assert_eq!(a.identify(Some("teacH"), HOME).unwrap_err().status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn in_class_mode_students_keep_to_their_namespace() {
        let (a, class) = class();
        let alice = a.identify(Some(&class.token("alice", None).unwrap()), AWAY).unwrap();
        assert_eq!(alice, Caller::Student("alice".into()));
        for act in [Act::Read, Act::Write, Act::Delete, Act::Reset, Act::Resend] {
            assert!(a.topic(&alice, act, "alice.numbers").is_ok(), "{act:?}");
            let refused = a.topic(&alice, act, "bob.numbers").unwrap_err();
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            assert!(refused.message.contains("bob's topic bob.numbers"), "{}", refused.message);
            assert!(a.group(&alice, act, "bob.readers").is_err());
        }
        // The lab's names: read, never written.
        assert!(a.topic(&alice, Act::Read, "mushroom_prediction").is_ok());
        assert!(a.topic(&alice, Act::Write, "mushroom_prediction").is_err());
        assert!(a.topic(&alice, Act::Resend, "mushroom_inference_request").is_err());
        assert!(a.topic(&alice, Act::Write, "alicex.numbers").is_err(), "a prefix is not a namespace");
        assert!(!a.visible(&alice, "bob.numbers") && a.visible(&alice, "alice.numbers"));
        assert_eq!(a.student(&alice, None), Ok(Some("alice")));
        assert_eq!(a.student(&alice, Some("bob")).unwrap_err().status, StatusCode::FORBIDDEN);
        assert_eq!(a.teacher(&alice, "grade").unwrap_err().status, StatusCode::FORBIDDEN);
        // The teacher may do everything; a guest may only read the lab's names.
        assert_eq!(a.identify(Some("teach"), AWAY), Ok(Caller::Teacher));
        assert!(a.topic(&Caller::Teacher, Act::Delete, "bob.numbers").is_ok());
        assert!(a.topic(&Caller::Guest, Act::Read, "mushroom_prediction").is_ok());
        assert_eq!(a.topic(&Caller::Guest, Act::Read, "bob.numbers").unwrap_err().status, StatusCode::UNAUTHORIZED);
        assert!(a.topic(&Caller::Guest, Act::Write, "anything").is_err());
    }

    #[test]
    fn bad_class_tokens_are_refused_with_their_reason() {
        let (a, class) = class();
        let bob = class.token("bob", None).unwrap();
        let forged = format!("alice.{}", bob.split_once('.').unwrap().1);
        for (token, says) in [
            (forged.as_str(), "not valid"),
            ("alice", "not a class token"),
            ("carol.AAAAAAAAAAAAAAAAAAAAAA", "carol is not on"),
        ] {
            let refused = a.identify(Some(token), AWAY).unwrap_err();
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
            assert!(refused.message.contains(says), "{token}: {}", refused.message);
        }
    }
}
