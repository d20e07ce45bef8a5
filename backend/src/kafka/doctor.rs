//! `streamlab doctor`: the checks a student needs when "nothing arrives", in the order a
//! client meets the problems — the bootstrap address, the address the broker advertises
//! (where clients really connect), the topics, and a group's committed offsets. Each check
//! says ok or what to do.

use crate::kafka::KafkaConfig;
use crate::kafka::groups::GroupReader;
use crate::kafka::metadata::ClusterReader;
use crate::kafka::replication;
use crate::kafka::security;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};
use streamlab_wire::{DoctorCheck, GroupInfo, TopicInfo};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether the asker may see a topic of this name.
pub type Visible = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What to look at besides the cluster.
#[derive(Clone, Default)]
pub struct Questions {
    /// A consumer group that "sees nothing".
    pub group: Option<String>,
    /// A topic that should have records.
    pub topic: Option<String>,
    /// Which topics the asker may see listed (in a class, not the other students'); all
    /// when `None`.
    pub visible: Option<Visible>,
}

fn ok(name: &str, detail: impl Into<String>) -> DoctorCheck {
    DoctorCheck { name: name.to_owned(), ok: true, detail: detail.into(), fix: None }
}

fn problem(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> DoctorCheck {
    DoctorCheck { name: name.to_owned(), ok: false, detail: detail.into(), fix: Some(fix.into()) }
}

/// Runs every check that can run: a check that depends on an earlier one's failure is left
/// out rather than failing for the same reason. Blocking.
pub fn diagnose(kafka: &KafkaConfig, questions: &Questions) -> Vec<DoctorCheck> {
    let mut checks = Vec::new();
    let mut reached = false;
    for address in kafka.bootstrap.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        let check = reach("bootstrap", address, |why| {
            format!(
                "{why}. Is the lab running (./lab run prints its broker address)? From another machine, the \
                 lab must listen beyond loopback: start it with --public ADDRESS, and use ADDRESS:9092 here."
            )
        });
        reached |= check.ok;
        checks.push(check);
    }
    if !reached {
        return checks;
    }
    for check in checks.iter_mut().filter(|c| !c.ok) {
        check.fix = Some(
            "this broker of the cluster is down or not listening; clients still connect through the others. \
             Bring it back (a node stopped with ./lab kafka stop --node K returns with ./lab kafka start --dir DIR)"
                .to_owned(),
        );
    }
    let reader = match ClusterReader::new(kafka) {
        Ok(r) => r,
        Err(e) => {
            checks.push(problem("client", e.to_string(), "check the -X properties"));
            return checks;
        }
    };
    if security::uses_sasl(kafka) {
        let check = sign_in_check(kafka);
        let signed_in = check.ok;
        checks.push(check);
        if !signed_in {
            return checks;
        }
    }
    // The advertised addresses are asked for with one Metadata request of our own: once
    // librdkafka has learnt them it drops the bootstrap connection, so with an advertised
    // address that does not connect it could not tell us what that address is.
    let first = kafka.bootstrap.split(',').map(str::trim).find(|a| !a.is_empty()).unwrap_or_default();
    let advertised = match advertised_brokers(first) {
        Ok(brokers) if !brokers.is_empty() => brokers,
        Ok(_) | Err(_) => match reader.cluster(&kafka.bootstrap, false) {
            Ok(c) => c.brokers.iter().map(|b| format!("{}:{}", b.host, b.port)).collect(),
            Err(e) => {
                checks.push(problem(
                    "metadata",
                    format!("something answers at {} but gave no Kafka metadata: {e}", kafka.bootstrap),
                    "is this the broker's port? The lab's web page is on 3005, its broker on 9092.",
                ));
                return checks;
            }
        },
    };
    let mut every_advertised_reached = true;
    for advertised in &advertised {
        let check = reach("advertised", advertised, |why| {
            format!(
                "the broker answers at the bootstrap address but tells clients to connect to {advertised}, and {why}. \
                 Clients always reconnect to the advertised address: start the lab with --advertise ADDRESS \
                 (or --public ADDRESS), ADDRESS being how the students' machines reach this one."
            )
        });
        every_advertised_reached &= check.ok;
        checks.push(check);
    }
    if !every_advertised_reached {
        // Every later check would go through the address that does not connect.
        return checks;
    }
    let topics = match reader.topics() {
        Ok(t) => t,
        Err(e) => {
            // Kafka 4 keeps a partition's end unknown while fewer copies than
            // min.insync.replicas are in sync and its leader moved: the copies say why.
            let fix = if e.to_string().contains("OffsetNotAvailable") {
                "a partition's leader cannot tell where its log ends: it moved while fewer copies than \
                 min.insync.replicas were in sync (see replication); its records can be read again once enough \
                 copies are back"
            } else {
                "the broker did not list its topics; try again"
            };
            checks.push(problem("topics", e.to_string(), fix));
            checks.extend(replication_check(kafka, &reader, questions));
            return checks;
        }
    };
    let listed: Vec<TopicInfo> = match &questions.visible {
        Some(visible) => topics.iter().filter(|t| visible(&t.name)).cloned().collect(),
        None => topics.clone(),
    };
    checks.push(ok("topics", topic_list(&listed)));
    if let Some(check) = replication_check(kafka, &reader, questions) {
        checks.push(check);
    }
    if let Some(name) = &questions.topic {
        let check = match topics.iter().any(|t| &t.name == name) {
            // A cluster that checks rights lists only the topics the user may see.
            false if security::uses_sasl(kafka) => not_allowed_topic(kafka, name),
            _ => None,
        };
        checks.push(check.unwrap_or_else(|| topic_check(&topics, name)));
    }
    if let Some(group) = &questions.group {
        let groups = GroupReader::new(kafka).and_then(|r| r.groups(&topics));
        checks.push(match groups {
            Ok(groups) => group_check(groups.iter().find(|g| &g.group == group), group, questions.topic.as_deref()),
            Err(e) if e.to_string().contains("GroupAuthorizationFailed") => problem(
                "group",
                format!("{} may not read the groups' offsets ({e})", user(kafka)),
                "the cluster's ACLs allow each user her own groups only: in a class, name yours NAME.something",
            ),
            Err(e) => problem("group", e.to_string(), "the broker did not describe its groups; try again"),
        });
    }
    checks
}

/// The user `kafka`'s clients sign in as.
fn user(kafka: &KafkaConfig) -> String {
    kafka
        .properties
        .iter()
        .find(|(k, _)| k == "sasl.username")
        .map_or_else(|| "this user".to_owned(), |(_, v)| v.clone())
}

/// Whether the cluster takes the user name and password: a refused sign-in is told apart
/// from a broker that does not answer. Blocking.
fn sign_in_check(kafka: &KafkaConfig) -> DoctorCheck {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let who = user(kafka);
    let mechanism = security::mechanism(kafka).unwrap_or_default();
    let consumer: BaseConsumer = match kafka.client().create() {
        Ok(c) => c,
        Err(e) => return problem("sign in", e.to_string(), "check the -X sasl.* properties"),
    };
    match consumer.fetch_metadata(None, Duration::from_secs(5)) {
        Ok(_) => ok("sign in", format!("signed in as {who} ({mechanism})")),
        Err(_) if security::refused_sign_in(&consumer, Duration::from_secs(1)) => problem(
            "sign in",
            format!("the cluster refused {who}'s sign-in (authentication failed, {mechanism})"),
            "check the user name and password (-X sasl.username, -X sasl.password; in Python sasl_plain_username \
             and sasl_plain_password): in a class, your name and your class token, as the lab's sign-in box \
             takes it. The teacher's are what ./lab kafka start --sasl printed",
        ),
        Err(e) => problem(
            "sign in",
            format!("the broker answers but gave no metadata to {who}: {e}"),
            "is the mechanism right (-X sasl.mechanism)? Try again; a broker that just started may not know \
             its users yet",
        ),
    }
}

/// When `name` is hidden from the user by the cluster's ACLs: what that means. Blocking.
fn not_allowed_topic(kafka: &KafkaConfig, name: &str) -> Option<DoctorCheck> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = kafka.client().create().ok()?;
    let md = consumer.fetch_metadata(Some(name), Duration::from_secs(5)).ok()?;
    let refused = md.topics().first()?.error()
        == Some(rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    refused.then(|| {
        problem(
            "topic",
            format!(
                "{} may not see {name} (authorization failed: the cluster's ACLs do not allow it; whether it \
                 exists is not told)",
                user(kafka)
            ),
            "in a class each student may use her own topics, NAME.something, and read the lab's topics; \
             check the name and the prefix, or ask the teacher",
        )
    })
}

/// Whether every copy of the asker's replicated topics is in sync; `None` where no topic has
/// more than one copy (a single broker: nothing to say). What a broker going away leaves a
/// producer is the usual question: `acks=all` refused once too few copies are in sync.
fn replication_check(kafka: &KafkaConfig, reader: &ClusterReader, questions: &Questions) -> Option<DoctorCheck> {
    // From metadata alone: it answers when a partition's offsets cannot be read.
    let topics = match reader.copies() {
        Ok(t) => t,
        Err(e) => {
            return Some(problem("replication", e.to_string(), "the broker did not describe its topics; try again"));
        }
    };
    let visible = |name: &str| questions.visible.as_ref().is_none_or(|v| v(name));
    let replicated: Vec<_> = topics
        .into_iter()
        .filter(|(name, partitions)| partitions.iter().any(|p| p.replicas.len() > 1) && visible(name))
        .collect();
    if replicated.is_empty() {
        return None;
    }
    let mut short: Vec<_> = replicated
        .iter()
        .filter(|(_, partitions)| partitions.iter().any(|p| p.leader < 0 || p.in_sync.len() < p.replicas.len()))
        .collect();
    // The topic asked about first: it is the one the asker cares for, and only a few are shown.
    short.sort_by_key(|(name, _)| Some(name) != questions.topic.as_ref());
    if short.is_empty() {
        return Some(ok(
            "replication",
            format!(
                "every copy of {} in sync",
                match replicated.len() {
                    1 => format!("{}'s {} partitions is", replicated[0].0, replicated[0].1.len()),
                    n => format!("the {n} replicated topics' partitions is"),
                }
            ),
        ));
    }
    // min.insync.replicas decides whether writes still succeed; asked only of the topics
    // that are short, where it matters.
    let names: Vec<&str> = short.iter().map(|(name, _)| name.as_str()).collect();
    let min_insync = min_insync_replicas(kafka, &names);
    const SHOWN: usize = 3;
    let mut said: Vec<String> = short
        .iter()
        .take(SHOWN)
        .map(|(name, partitions)| {
            format!("{name}: {}", replication::problems(partitions, min_insync.get(name).copied()).join("; "))
        })
        .collect();
    if short.len() > SHOWN {
        said.push(format!("and {} more topics the same way", short.len() - SHOWN));
    }
    Some(problem(
        "replication",
        said.join(". "),
        "a broker holding copies is down or behind: bring it back (a node stopped with ./lab kafka stop --node K \
         returns with ./lab kafka start --dir DIR); until then, writes that need more copies in sync than there \
         are wait or are refused",
    ))
}

/// Each topic's `min.insync.replicas`, where the broker says it. Blocking.
fn min_insync_replicas(kafka: &KafkaConfig, topics: &[&str]) -> std::collections::HashMap<String, i32> {
    let settings = crate::kafka::configs::settings_blocking(kafka, topics).unwrap_or_default();
    settings
        .into_iter()
        .filter_map(|(topic, configs)| {
            let value = configs.into_iter().find(|c| c.name == "min.insync.replicas")?.value?.parse().ok()?;
            Some((topic, value))
        })
        .collect()
}

/// Asks the broker at `address` where its brokers are, as every client does first: one
/// Metadata request (version 1, no topics) on a plain socket, answered with `host:port`s.
fn advertised_brokers(address: &str) -> std::io::Result<Vec<String>> {
    use std::io::{Error, ErrorKind, Read, Write};
    let addr = address.to_socket_addrs()?.next().ok_or_else(|| Error::new(ErrorKind::NotFound, "no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    stream.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    stream.set_write_timeout(Some(CONNECT_TIMEOUT))?;
    const CLIENT: &[u8] = b"streamlab-doctor";
    let mut request = Vec::new();
    request.extend_from_slice(&3i16.to_be_bytes()); // api key: Metadata
    request.extend_from_slice(&1i16.to_be_bytes()); // api version
    request.extend_from_slice(&7i32.to_be_bytes()); // correlation id
    request.extend_from_slice(&(CLIENT.len() as i16).to_be_bytes());
    request.extend_from_slice(CLIENT);
    request.extend_from_slice(&0i32.to_be_bytes()); // no topics: brokers only
    stream.write_all(&(request.len() as i32).to_be_bytes())?;
    stream.write_all(&request)?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size)?;
    let size = i32::from_be_bytes(size);
    if !(8..=1 << 20).contains(&size) {
        return Err(Error::new(ErrorKind::InvalidData, format!("a {size}-byte answer is not a Metadata response")));
    }
    let mut body = vec![0u8; size as usize];
    stream.read_exact(&mut body)?;
    parse_brokers(&body).ok_or_else(|| Error::new(ErrorKind::InvalidData, "not a Metadata v1 response"))
}

/// The brokers of a Metadata v1 response body: correlation id, then
/// `[node_id int32, host string, port int32, rack nullable string]`.
fn parse_brokers(body: &[u8]) -> Option<Vec<String>> {
    let mut at = 0usize;
    let mut take = |n: usize| {
        let bytes = body.get(at..at + n)?;
        at += n;
        Some(bytes)
    };
    let correlation = i32::from_be_bytes(take(4)?.try_into().ok()?);
    if correlation != 7 {
        return None;
    }
    let count = i32::from_be_bytes(take(4)?.try_into().ok()?);
    let mut brokers = Vec::new();
    for _ in 0..count.clamp(0, 1000) {
        take(4)?; // node id
        let len = i16::from_be_bytes(take(2)?.try_into().ok()?);
        let host = String::from_utf8_lossy(take(usize::try_from(len).ok()?)?).into_owned();
        let port = i32::from_be_bytes(take(4)?.try_into().ok()?);
        let rack = i16::from_be_bytes(take(2)?.try_into().ok()?);
        if rack > 0 {
            take(rack as usize)?;
        }
        brokers.push(if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") });
    }
    Some(brokers)
}

/// Resolves and connects to `address`; `fix` says what to do given why it failed.
fn reach(name: &str, address: &str, fix: impl Fn(&str) -> String) -> DoctorCheck {
    let resolved: Vec<_> = match address.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            let why = format!("{address} does not resolve ({e})");
            return problem(name, why.clone(), fix(&why));
        }
    };
    let mut last = String::from("no addresses");
    for addr in &resolved {
        let started = Instant::now();
        match TcpStream::connect_timeout(addr, CONNECT_TIMEOUT) {
            Ok(_) => {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                let shown =
                    if addr.to_string() == address { address.to_owned() } else { format!("{address} ({addr})") };
                return ok(name, format!("{shown} accepts connections ({ms:.1} ms)"));
            }
            Err(e) => last = e.to_string(),
        }
    }
    let why = format!("nothing accepts connections at {address}: {last}");
    problem(name, why.clone(), fix(&why))
}

fn topic_list(topics: &[TopicInfo]) -> String {
    let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    match names.len() {
        0 => "the broker has no topics yet".to_owned(),
        n if n <= 12 => format!("{n} topics: {}", names.join(", ")),
        n => format!("{n} topics: {}, …", names[..12].join(", ")),
    }
}

/// `1 record`, `2 records`.
fn count(n: i64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

fn topic_check(topics: &[TopicInfo], name: &str) -> DoctorCheck {
    match topics.iter().find(|t| t.name == name) {
        Some(t) if t.messages == 0 => problem(
            "topic",
            format!("{name} exists ({}) but holds no records", count(t.partitions.len() as i64, "partition")),
            "nothing has been written to it yet: is the producer running and writing to exactly this name?",
        ),
        Some(t) => ok(
            "topic",
            format!("{name}: {}, {}", count(t.partitions.len() as i64, "partition"), count(t.messages, "record")),
        ),
        None => problem(
            "topic",
            format!("{name} does not exist"),
            "the embedded broker creates no topic when a consumer subscribes: create it (streamlab's topic \
             page, or an admin client) or write to it first; check the spelling and the namespace prefix",
        ),
    }
}

const OFFSET_RESET: &str = "a group with nothing committed starts where auto.offset.reset says: `latest`, the default of \
     kafka-python and confluent-kafka, means only records written after the consumer joined. To read what is \
     already there, set auto_offset_reset='earliest' (kafka-python) or 'auto.offset.reset': 'earliest' \
     (confluent-kafka) — it only applies to a group that has committed nothing, so also use a new group id";

fn group_check(group: Option<&GroupInfo>, name: &str, topic: Option<&str>) -> DoctorCheck {
    let Some(g) = group else {
        return problem(
            "group",
            format!("no group {name} is known to the broker: no consumer with this group id has joined or committed"),
            format!(
                "start the consumer with group id {name:?} (spelling and namespace prefix included); {OFFSET_RESET}"
            ),
        );
    };
    let offsets: Vec<_> = g.offsets.iter().filter(|o| topic.is_none_or(|t| o.topic == t)).collect();
    let committed: Vec<_> = offsets.iter().filter(|o| o.committed.is_some()).collect();
    let members = g.members.len();
    if committed.is_empty() {
        return problem(
            "group",
            format!(
                "{name} has {members} member(s) and has committed nothing{}",
                topic.map_or(String::new(), |t| format!(" on {t}"))
            ),
            format!("{OFFSET_RESET}. A consumer commits every 5 s by default, or when it calls commit()."),
        );
    }
    let lag: i64 = committed.iter().filter_map(|o| o.lag).sum();
    let parts: Vec<String> = committed
        .iter()
        .map(|o| format!("{}/{} at {} of {}", o.topic, o.partition, o.committed.unwrap_or_default(), o.end))
        .collect();
    let detail = format!("{name}: {members} member(s), {lag} records behind ({})", parts.join(", "));
    if lag > 0 && members == 0 {
        problem(
            "group",
            detail,
            "nobody in the group is consuming: start the consumer; it resumes at the committed offsets",
        )
    } else if lag == 0 && members > 0 {
        ok(
            "group",
            format!(
                "{detail}; caught up — new records appear as they are written (a consumer that sees nothing is waiting for new ones)"
            ),
        )
    } else {
        ok("group", detail)
    }
}

/// The checks as text, one line each and the fix under a failed one.
pub fn render(checks: &[DoctorCheck]) -> String {
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!("{:<4}  {:<15}  {}\n", if c.ok { "ok" } else { "FAIL" }, c.name, c.detail));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("      {:<15}  → {fix}\n", ""));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamlab_wire::GroupOffset;

    #[test]
    fn reads_the_brokers_of_a_metadata_response() {
        let mut body = 7i32.to_be_bytes().to_vec();
        body.extend(2i32.to_be_bytes());
        for (node, host, port, rack) in [(1, "10.0.0.5", 9092, None), (2, "::1", 9093, Some("r1"))] {
            body.extend(i32::to_be_bytes(node));
            body.extend((host.len() as i16).to_be_bytes());
            body.extend(host.as_bytes());
            body.extend(i32::to_be_bytes(port));
            match rack {
                Some(r) => {
                    body.extend((r.len() as i16).to_be_bytes());
                    body.extend(r.as_bytes());
                }
                None => body.extend((-1i16).to_be_bytes()),
            }
        }
        assert_eq!(parse_brokers(&body).unwrap(), ["10.0.0.5:9092", "[::1]:9093"]);
        assert_eq!(parse_brokers(&body[..body.len() - 3]), None, "a cut answer is not a list");
        body[3] = 8;
        assert_eq!(parse_brokers(&body), None, "another request's answer");
    }

    fn group(members: usize, committed: Option<i64>, end: i64) -> GroupInfo {
        GroupInfo {
            group: "g".into(),
            state: "Stable".into(),
            members: (0..members)
                .map(|i| streamlab_wire::GroupMember {
                    member_id: format!("m{i}"),
                    client_id: "c".into(),
                    host: "h".into(),
                    assignment: vec![],
                })
                .collect(),
            offsets: vec![GroupOffset {
                topic: "t".into(),
                partition: 0,
                committed,
                end,
                lag: committed.map(|c| end - c),
            }],
        }
    }

    #[test]
    fn a_group_that_sees_nothing_is_explained() {
        let missing = group_check(None, "g", None);
        assert!(!missing.ok && missing.fix.unwrap().contains("auto_offset_reset='earliest'"));
        let nothing = group_check(Some(&group(1, None, 10)), "g", None);
        assert!(!nothing.ok && nothing.detail.contains("committed nothing"), "{nothing:?}");
        let stopped = group_check(Some(&group(0, Some(4), 10)), "g", None);
        assert!(!stopped.ok && stopped.detail.contains("6 records behind"), "{stopped:?}");
        let caught_up = group_check(Some(&group(1, Some(10), 10)), "g", None);
        assert!(caught_up.ok && caught_up.detail.contains("caught up"), "{caught_up:?}");
    }

    #[test]
    fn an_unreachable_address_says_what_to_do() {
        let nothing = reach("bootstrap", "127.0.0.1:1", |why| format!("fix: {why}"));
        assert!(!nothing.ok && nothing.fix.unwrap().starts_with("fix: nothing accepts"));
        let unresolved = reach("advertised", "no-such-host.invalid:9092", |why| why.to_owned());
        assert!(!unresolved.ok && unresolved.detail.contains("does not resolve"), "{unresolved:?}");
    }
}
