//! A topic's copies and what their state means: which brokers hold each partition, which
//! copies are in sync, and, said plainly, what a writer and a reader can still do. Seed 002
//! §6.6 and seed 003 exercise 4 teach this with a broker taken away; the topic page, `topic
//! describe` and the doctor all say it from here.

use rdkafka::metadata::MetadataTopic;
use streamlab_wire::{PartitionReplicas, Replication};

/// The partitions' copies from a metadata answer, by partition.
pub fn partitions(topic: &MetadataTopic) -> Vec<PartitionReplicas> {
    let mut partitions: Vec<PartitionReplicas> = topic
        .partitions()
        .iter()
        .map(|p| PartitionReplicas {
            partition: p.id(),
            leader: p.leader(),
            replicas: p.replicas().to_vec(),
            in_sync: p.isr().to_vec(),
        })
        .collect();
    partitions.sort_by_key(|p| p.partition);
    partitions
}

/// The partitions with what is wrong with them, for a topic whose `min.insync.replicas` is
/// `min_insync`.
pub fn replication(partitions: Vec<PartitionReplicas>, min_insync: Option<i32>) -> Replication {
    Replication { problems: problems(&partitions, min_insync), partitions, min_insync }
}

/// What is wrong, worst first, each with the partitions it concerns: no leader (nothing can
/// be read or written), fewer copies in sync than `min.insync.replicas` (writes with
/// `acks=all` refused), fewer copies in sync than there are copies (under-replicated).
pub fn problems(partitions: &[PartitionReplicas], min_insync: Option<i32>) -> Vec<String> {
    let mut problems = Vec::new();
    let leaderless: Vec<i32> = partitions.iter().filter(|p| p.leader < 0).map(|p| p.partition).collect();
    if !leaderless.is_empty() {
        problems.push(format!(
            "no leader: {} {} {} no broker holding a copy that is up and in sync, so {} can be neither read \
             nor written until one returns",
            plural("partition", leaderless.len()),
            list(&leaderless),
            if leaderless.len() == 1 { "has" } else { "have" },
            if leaderless.len() == 1 { "it" } else { "they" },
        ));
    }
    let led = || partitions.iter().filter(|p| p.leader >= 0);
    if let Some(min) = min_insync {
        let short: Vec<&PartitionReplicas> = led().filter(|p| (p.in_sync.len() as i32) < min).collect();
        if !short.is_empty() {
            let ids: Vec<i32> = short.iter().map(|p| p.partition).collect();
            let fewest = short.iter().map(|p| p.in_sync.len()).min().unwrap_or(0);
            problems.push(format!(
                "not enough in-sync replicas: {} {} {} {} in sync, fewer than min.insync.replicas={min}, so \
                 producers with acks=all are refused (NOT_ENOUGH_REPLICAS) until a broker returns; the leader still \
                 takes acks=1 writes, but Kafka 4 shows readers none of them until enough copies are in sync \
                 again (its high watermark waits)",
                plural("partition", ids.len()),
                list(&ids),
                if ids.len() == 1 { "has" } else { "have" },
                if short.iter().all(|p| p.in_sync.len() == fewest) {
                    format!("{fewest} {}", plural("copy", fewest))
                } else {
                    "too few copies".to_owned()
                },
            ));
        }
    }
    let under: Vec<&PartitionReplicas> = led().filter(|p| p.in_sync.len() < p.replicas.len()).collect();
    if !under.is_empty() {
        let ids: Vec<i32> = under.iter().map(|p| p.partition).collect();
        let mut out: Vec<i32> =
            under.iter().flat_map(|p| p.replicas.iter().filter(|r| !p.in_sync.contains(r)).copied()).collect();
        out.sort_unstable();
        out.dedup();
        let still = match min_insync {
            Some(min) if under.iter().all(|p| p.in_sync.len() as i32 >= min) => {
                // Brokers that may still go before acks=all writes stop, on the worst partition.
                let spare = under.iter().map(|p| p.in_sync.len() as i32 - min + 1).min().unwrap_or(1);
                format!(
                    "; writes with acks=all still succeed (min.insync.replicas={min}), but losing {spare} more \
                     broker{} would stop them",
                    if spare == 1 { "" } else { "s" }
                )
            }
            _ => String::new(),
        };
        problems.push(format!(
            "under-replicated: {} {} {} fewer copies in sync than {} (broker{} {} down or behind){still}",
            plural("partition", ids.len()),
            list(&ids),
            if ids.len() == 1 { "has" } else { "have" },
            under[0].replicas.len(),
            if out.len() == 1 { "" } else { "s" },
            list(&out),
        ));
    }
    problems
}

fn plural(word: &str, n: usize) -> String {
    match (word, n) {
        (w, 1) => w.to_owned(),
        ("copy", _) => "copies".to_owned(),
        (w, _) => format!("{w}s"),
    }
}

/// `0, 2, 5–9`: runs of consecutive ids as ranges (`__consumer_offsets` has fifty partitions).
fn list(ids: &[i32]) -> String {
    let mut runs: Vec<(i32, i32)> = Vec::new();
    for &id in ids {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == id => *end = id,
            _ => runs.push((id, id)),
        }
    }
    let run = |&(a, b): &(i32, i32)| match b - a {
        0 => a.to_string(),
        1 => format!("{a}, {b}"),
        _ => format!("{a}–{b}"),
    };
    runs.iter().map(run).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(partition: i32, leader: i32, in_sync: &[i32]) -> PartitionReplicas {
        PartitionReplicas { partition, leader, replicas: vec![1, 2, 3], in_sync: in_sync.to_vec() }
    }

    #[test]
    fn every_copy_in_sync_is_no_problem() {
        assert!(problems(&[partition(0, 1, &[1, 2, 3]), partition(1, 2, &[2, 3, 1])], Some(2)).is_empty());
        // One copy, one broker: the embedded broker's every topic.
        let single = PartitionReplicas { partition: 0, leader: 1, replicas: vec![1], in_sync: vec![1] };
        assert!(problems(&[single], Some(1)).is_empty());
    }

    #[test]
    fn one_broker_down_is_under_replicated_and_still_writable() {
        let found = problems(&[partition(0, 1, &[1, 2]), partition(1, 2, &[2, 1])], Some(2));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("under-replicated: partitions 0, 1 have fewer copies in sync than 3"),
            "{found:?}"
        );
        assert!(found[0].contains("broker 3 down or behind"), "{found:?}");
        assert!(found[0].contains("acks=all still succeed (min.insync.replicas=2), but losing 1 more broker would"));
    }

    #[test]
    fn two_brokers_down_refuse_acks_all_writes_and_say_why() {
        let found = problems(&[partition(0, 1, &[1]), partition(1, 1, &[1])], Some(2));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with(
                "not enough in-sync replicas: partitions 0, 1 have 1 copy in sync, fewer than min.insync.replicas=2"
            ),
            "{found:?}"
        );
        assert!(found[0].contains("acks=all are refused (NOT_ENOUGH_REPLICAS)"), "{found:?}");
        assert!(found[1].contains("brokers 2, 3 down or behind") && !found[1].contains("still succeed"), "{found:?}");
    }

    #[test]
    fn consecutive_partitions_read_as_a_range() {
        assert_eq!(list(&[0, 1, 2, 3, 5, 7, 8]), "0–3, 5, 7, 8");
        assert_eq!(list(&(0..50).collect::<Vec<_>>()), "0–49");
    }

    #[test]
    fn a_partition_without_leader_is_said_first() {
        let found = problems(&[partition(0, -1, &[3]), partition(1, 1, &[1, 2, 3])], Some(2));
        assert_eq!(found.len(), 1, "a leaderless partition is not also counted as short: {found:?}");
        assert!(found[0].starts_with("no leader: partition 0 has no broker"), "{found:?}");
    }
}
