//! Consumer groups: who is in them, what they were assigned, where they committed, how far
//! behind they are; and resetting a group's offsets.

use crate::kafka::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;
use streamlab_wire::{GroupInfo, GroupMember, GroupOffset, ResetOffsets, ResetTo, TopicInfo, TopicPartitions};

/// Groups the lab itself creates to read topics; never shown.
const OWN_PREFIXES: [&str; 3] = ["streamlab-read-", "streamlab-tail-", "streamlab-live-"];

const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("group {0} does not exist")]
    Missing(String),
    #[error(
        "group {group} has {members} active member(s); stop them before resetting its offsets (Kafka only lets an empty group be reset)"
    )]
    Active { group: String, members: usize },
    #[error("group {0} has committed nothing; name a topic to reset")]
    NothingCommitted(String),
    #[error("topic {0} does not exist")]
    NoTopic(String),
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
}

/// Reads groups. Keeps one client per group for reading committed offsets: a client is bound
/// to its `group.id`, and creating one per read would reconnect every second.
pub struct GroupReader {
    kafka: KafkaConfig,
    client: BaseConsumer,
    offset_clients: Mutex<HashMap<String, BaseConsumer>>,
}

impl GroupReader {
    pub fn new(kafka: &KafkaConfig) -> Result<Self, GroupError> {
        Ok(GroupReader {
            kafka: kafka.clone(),
            client: kafka.client().create()?,
            offset_clients: Mutex::new(HashMap::new()),
        })
    }

    fn group_client(&self, group: &str) -> Result<BaseConsumer, GroupError> {
        Ok(self.kafka.client().set("group.id", group).set("enable.auto.commit", "false").create()?)
    }

    /// Every consumer group with members, assignments and offsets against `topics`' end
    /// offsets. Blocking.
    pub fn groups(&self, topics: &[TopicInfo]) -> Result<Vec<GroupInfo>, GroupError> {
        let list = self.client.fetch_group_list(None, TIMEOUT)?;
        let mut out = Vec::new();
        let mut clients = self.offset_clients.lock().expect("group clients");
        for g in list.groups() {
            if OWN_PREFIXES.iter().any(|p| g.name().starts_with(p))
                || !(g.protocol_type().is_empty() || g.protocol_type() == "consumer")
            {
                continue;
            }
            let members: Vec<GroupMember> = g
                .members()
                .iter()
                .map(|m| GroupMember {
                    member_id: m.id().to_owned(),
                    client_id: if m.client_id().is_empty() { client_id_of(m.id()) } else { m.client_id().to_owned() },
                    host: m.client_host().to_owned(),
                    assignment: m.assignment().map(parse_assignment).unwrap_or_default(),
                })
                .collect();
            if !clients.contains_key(g.name()) {
                clients.insert(g.name().to_owned(), self.group_client(g.name())?);
            }
            let committed = committed(&clients[g.name()], topics)?;
            let assigned = members
                .iter()
                .flat_map(|m| m.assignment.iter())
                .flat_map(|a| a.partitions.iter().map(move |p| (a.topic.clone(), *p)));
            let mut keys: Vec<(String, i32)> = committed.keys().cloned().chain(assigned).collect();
            keys.sort();
            keys.dedup();
            let offsets = keys
                .into_iter()
                .map(|(topic, partition)| {
                    let end = topics
                        .iter()
                        .find(|t| t.name == topic)
                        .and_then(|t| t.partitions.iter().find(|p| p.id == partition))
                        .map_or(0, |p| p.high);
                    let c = committed.get(&(topic.clone(), partition)).copied();
                    GroupOffset { topic, partition, committed: c, end, lag: c.map(|c| (end - c).max(0)) }
                })
                .collect();
            out.push(GroupInfo { group: g.name().to_owned(), state: g.state().to_owned(), members, offsets });
        }
        // Forget the clients of groups that are gone.
        clients.retain(|name, _| out.iter().any(|g| &g.group == name));
        out.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(out)
    }

    /// Moves an empty group's committed offsets. Returns the group as it is after. Blocking.
    pub fn reset(&self, group: &str, reset: &ResetOffsets, topics: &[TopicInfo]) -> Result<GroupInfo, GroupError> {
        let current = self
            .groups(topics)?
            .into_iter()
            .find(|g| g.group == group)
            .ok_or_else(|| GroupError::Missing(group.to_owned()))?;
        if !current.members.is_empty() {
            return Err(GroupError::Active { group: group.to_owned(), members: current.members.len() });
        }
        let partitions: Vec<(String, i32)> = match &reset.topic {
            Some(t) => {
                let info = topics.iter().find(|i| &i.name == t).ok_or_else(|| GroupError::NoTopic(t.clone()))?;
                info.partitions.iter().map(|p| (t.clone(), p.id)).collect()
            }
            None => current
                .offsets
                .iter()
                .filter(|o| o.committed.is_some())
                .map(|o| (o.topic.clone(), o.partition))
                .collect(),
        };
        if partitions.is_empty() {
            return Err(GroupError::NothingCommitted(group.to_owned()));
        }
        let mut tpl = TopicPartitionList::new();
        for (topic, partition) in &partitions {
            let p =
                topics.iter().find(|i| &i.name == topic).and_then(|i| i.partitions.iter().find(|p| p.id == *partition));
            let (low, high) = p.map_or((0, 0), |p| (p.low, p.high));
            let target = match reset.to {
                ResetTo::Earliest => low,
                ResetTo::Latest => high,
                ResetTo::Offset { offset } => offset.clamp(low, high),
            };
            tpl.add_partition_offset(topic, *partition, Offset::Offset(target))?;
        }
        self.group_client(group)?.commit(&tpl, CommitMode::Sync)?;
        self.groups(topics)?.into_iter().find(|g| g.group == group).ok_or_else(|| GroupError::Missing(group.to_owned()))
    }
}

/// The client id inside a member id. Kafka's coordinator names members `<client.id>-<UUID>`;
/// the embedded broker (nisshi 0.8) describes members without their client id, host or
/// assignment, so the id is the one place left to read the client id from.
fn client_id_of(member_id: &str) -> String {
    match member_id.len().checked_sub(37).and_then(|i| member_id.get(i..).map(|tail| (i, tail))) {
        Some((i, tail)) if tail.starts_with('-') && uuid::Uuid::parse_str(&tail[1..]).is_ok() => {
            member_id[..i].to_owned()
        }
        _ => String::new(),
    }
}

/// The group's committed offsets in every partition of `topics` (absent where none).
fn committed(client: &BaseConsumer, topics: &[TopicInfo]) -> Result<BTreeMap<(String, i32), i64>, GroupError> {
    let mut tpl = TopicPartitionList::new();
    for t in topics {
        for p in &t.partitions {
            tpl.add_partition(&t.name, p.id);
        }
    }
    if tpl.count() == 0 {
        return Ok(BTreeMap::new());
    }
    let got = client.committed_offsets(tpl, TIMEOUT)?;
    Ok(got
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => Some(((e.topic().to_owned(), e.partition()), o)),
            _ => None,
        })
        .collect())
}

/// Decodes a member's assignment in Kafka's consumer protocol: version (i16), then an array
/// (i32 count) of topic (i16 length + UTF-8) with an array of partitions (i32), then user
/// data. Anything unreadable yields what was read so far: the lab shows it, never fails on it.
pub fn parse_assignment(bytes: &[u8]) -> Vec<TopicPartitions> {
    let mut r = bytes;
    let mut take = |n: usize| -> Option<&[u8]> {
        if r.len() < n {
            return None;
        }
        let (head, rest) = r.split_at(n);
        r = rest;
        Some(head)
    };
    let mut out = Vec::new();
    let mut read = || -> Option<()> {
        take(2)?;
        let topics = i32::from_be_bytes(take(4)?.try_into().ok()?);
        for _ in 0..topics.clamp(0, 10_000) {
            let len = i16::from_be_bytes(take(2)?.try_into().ok()?).max(0) as usize;
            let topic = String::from_utf8_lossy(take(len)?).into_owned();
            let n = i32::from_be_bytes(take(4)?.try_into().ok()?);
            let mut partitions = Vec::new();
            for _ in 0..n.clamp(0, 100_000) {
                partitions.push(i32::from_be_bytes(take(4)?.try_into().ok()?));
            }
            partitions.sort_unstable();
            out.push(TopicPartitions { topic, partitions });
        }
        Some(())
    };
    let _ = read();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_decode_and_garbage_does_not_panic() {
        let mut b = vec![0, 1, 0, 0, 0, 1, 0, 2, b't', b'1', 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1];
        b.extend([0xff, 0xff, 0xff, 0xff]);
        assert_eq!(parse_assignment(&b), vec![TopicPartitions { topic: "t1".into(), partitions: vec![1, 3] }]);
        assert_eq!(parse_assignment(&[0, 1, 0, 0]), vec![]);
        assert_eq!(parse_assignment(&[0, 1, 0x7f, 0xff, 0xff, 0xff, 0, 9]), vec![]);
    }

    #[test]
    fn a_client_id_is_read_from_a_member_id() {
        assert_eq!(client_id_of("student-1-cc7cb426-f103-4771-bd38-ed065b3bd921"), "student-1");
        assert_eq!(client_id_of("rdkafka-0b6e9c5e-66cb-4ee4-9f3c-54c3b5b3b6a1"), "rdkafka");
        assert_eq!(client_id_of("no-uuid-here"), "");
        assert_eq!(client_id_of(""), "");
    }
}
