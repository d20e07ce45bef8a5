//! The one poller behind everything live: once a second it reads every topic's watermarks
//! and every group's committed offsets, turns the changes into messages/s, keeps 5 minutes of
//! history and publishes topics, groups, rates and the inference status to every socket.
//!
//! One sampler for the whole server (not one per browser) keeps the broker's load the same
//! whether one student or fifty have the lab open.

use crate::inference::InferenceMetrics;
use crate::inference::metrics::quantile_of;
use crate::kafka::groups::GroupReader;
use crate::kafka::log::LogStorage;
use crate::kafka::metadata::ClusterReader;
use crate::load::generator::Generator;
use crate::shutdown::Shutdown;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use streamlab_wire::{
    BrokerStorage, GroupInfo, InferenceStatus, LatencyBucket, Percentiles, RATE_HISTORY, RateSample, TopicInfo,
};
use tokio::sync::{broadcast, watch};

/// What the sampler publishes; the web sessions hold receivers.
pub struct Feeds {
    pub topics: watch::Receiver<Vec<TopicInfo>>,
    /// What the embedded broker holds (`None` with another cluster).
    pub storage: watch::Receiver<Option<BrokerStorage>>,
    pub groups: watch::Receiver<Vec<GroupInfo>>,
    pub inference: watch::Receiver<InferenceStatus>,
    pub rates: broadcast::Sender<RateSample>,
    history: Mutex<VecDeque<RateSample>>,
}

impl Feeds {
    pub fn history(&self) -> Vec<RateSample> {
        self.history.lock().expect("history lock").iter().cloned().collect()
    }
}

/// The counters one sample is compared with to get rates.
struct Previous {
    at: Instant,
    /// Per topic: partition count and the sum of high watermarks.
    topics: BTreeMap<String, (usize, i64)>,
    /// Per group: the sum of committed offsets.
    groups: BTreeMap<String, i64>,
    predictions: u64,
}

/// Messages/s between two readings of a growing counter; `None` (a gap) when there is no
/// earlier reading or the counter went backwards (a topic recreated, a group reset).
fn rate(before: Option<i64>, now: i64, seconds: f64) -> Option<f64> {
    match before {
        Some(b) if now >= b && seconds > 0.0 => Some((now - b) as f64 / seconds),
        _ => None,
    }
}

/// How many samples back the latency histogram reaches: a minute at one sample a second, so
/// the page shows how the service does now, not since it started.
const LATENCY_WINDOW: usize = 60;

/// The latency histogram between the oldest and the newest of `snapshots` (bucket counts as
/// [`crate::inference::metrics::Histogram::counts`] gives them), cut after the last bucket
/// holding anything, and its percentiles.
fn recent_latency(bounds: &[f64], snapshots: &VecDeque<Vec<u64>>) -> (Vec<LatencyBucket>, Percentiles) {
    let (Some(oldest), Some(newest)) = (snapshots.front(), snapshots.back()) else {
        return (Vec::new(), Percentiles::default());
    };
    let counts: Vec<u64> = newest.iter().zip(oldest).map(|(n, o)| n.saturating_sub(*o)).collect();
    let ms = |q| quantile_of(bounds, &counts, q).map(|s| s * 1000.0).filter(|v: &f64| v.is_finite());
    let percentiles = Percentiles { p50: ms(0.5), p95: ms(0.95), p99: ms(0.99) };
    let used = counts.iter().rposition(|&c| c > 0).map_or(0, |i| i + 1);
    let buckets = counts[..used]
        .iter()
        .enumerate()
        .map(|(i, &count)| LatencyBucket { le_ms: bounds.get(i).map(|b| (b * 1e6).round() / 1e3), count })
        .collect();
    (buckets, percentiles)
}

/// Per group, per topic: the sum of the partitions' lag (partitions where the group has
/// committed nothing count as no lag: `auto.offset.reset` decides where it will start).
fn group_lag(groups: &[GroupInfo]) -> BTreeMap<String, BTreeMap<String, i64>> {
    groups
        .iter()
        .map(|g| {
            let mut topics: BTreeMap<String, i64> = BTreeMap::new();
            for o in &g.offsets {
                if let Some(lag) = o.lag {
                    *topics.entry(o.topic.clone()).or_default() += lag;
                }
            }
            (g.group.clone(), topics)
        })
        .collect()
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

pub struct Sampler {
    pub cluster: Arc<ClusterReader>,
    pub groups: Arc<GroupReader>,
    pub metrics: Arc<InferenceMetrics>,
    pub model_version: String,
    pub inference_running: bool,
    pub generator: Arc<Generator>,
    /// The embedded broker's logs, when the lab runs its own broker, and what they keep in
    /// words.
    pub logs: Option<(Arc<LogStorage>, String)>,
    pub period: Duration,
}

impl Sampler {
    fn storage(&self) -> Option<BrokerStorage> {
        let (logs, kept) = self.logs.as_ref()?;
        let usage = logs.usage();
        Some(BrokerStorage {
            on_disk: usage.on_disk,
            bytes: usage.bytes,
            records: usage.records,
            partitions: usage.partitions,
            kept: kept.clone(),
        })
    }

    /// Starts sampling; the task ends when `shutdown` is triggered.
    pub fn spawn(self, shutdown: Shutdown) -> (Arc<Feeds>, tokio::task::JoinHandle<()>) {
        let (topics_tx, topics) = watch::channel(Vec::new());
        let (groups_tx, groups) = watch::channel(Vec::new());
        let (storage_tx, storage) = watch::channel(self.storage());
        let (inference_tx, inference) = watch::channel(InferenceStatus {
            running: self.inference_running,
            model_version: self.model_version.clone(),
            ..Default::default()
        });
        let feeds = Arc::new(Feeds {
            topics,
            storage,
            groups,
            inference,
            rates: broadcast::channel(64).0,
            history: Mutex::new(VecDeque::with_capacity(RATE_HISTORY)),
        });
        let l = feeds.clone();
        let task = tokio::spawn(async move {
            let mut previous: Option<Previous> = None;
            let mut latency: VecDeque<Vec<u64>> = VecDeque::with_capacity(LATENCY_WINDOW + 1);
            let mut tick = tokio::time::interval(self.period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.wait() => return,
                }
                let (cluster, groups) = (self.cluster.clone(), self.groups.clone());
                let read = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                    let started = Instant::now();
                    let topics = cluster.topics()?;
                    // The watermarks were read between `started` and now; their middle is the
                    // sample's time. Reading the groups after them takes longer the more
                    // groups there are, and must not stretch a second of topic counts.
                    let at = started + started.elapsed() / 2;
                    // Groups failing to read must not cost the topic rates.
                    let groups = groups.groups(&topics).map_err(|e| tracing::debug!("cannot read groups: {e}")).ok();
                    Ok((topics, groups, at))
                })
                .await;
                let (sample, predictions_per_s) = match read {
                    Ok(Ok((topics, groups, at))) => {
                        let sample = self.sample(&mut previous, &topics, groups.as_deref(), at);
                        topics_tx.send_if_modified(|t| {
                            if *t != topics {
                                *t = topics;
                                true
                            } else {
                                false
                            }
                        });
                        if let Some(groups) = groups {
                            groups_tx.send_if_modified(|g| {
                                if *g != groups {
                                    *g = groups;
                                    true
                                } else {
                                    false
                                }
                            });
                        }
                        sample
                    }
                    failed => {
                        let e = match failed {
                            Ok(Err(e)) => format!("{e:#}"),
                            Err(e) => e.to_string(),
                            Ok(Ok(_)) => unreachable!(),
                        };
                        tracing::warn!("cannot sample the cluster: {e}");
                        // A gap for everything known: the graph shows a hole, not a drop to 0.
                        let gaps = |names: Vec<&String>| names.into_iter().map(|k| (k.clone(), None)).collect();
                        let (topics, groups) = previous.as_ref().map_or((BTreeMap::new(), BTreeMap::new()), |p| {
                            (gaps(p.topics.keys().collect()), gaps(p.groups.keys().collect()))
                        });
                        (RateSample { at_ms: now_ms(), topics, groups, lag: BTreeMap::new() }, None)
                    }
                };
                {
                    let mut h = l.history.lock().expect("history lock");
                    if h.len() == RATE_HISTORY {
                        h.pop_front();
                    }
                    h.push_back(sample.clone());
                }
                let _ = l.rates.send(sample);
                if latency.len() > LATENCY_WINDOW {
                    latency.pop_front();
                }
                latency.push_back(self.metrics.latency.counts());
                inference_tx.send_replace(self.inference_status(predictions_per_s, &latency));
                let now = self.storage();
                storage_tx.send_if_modified(|s| {
                    if *s != now {
                        *s = now;
                        true
                    } else {
                        false
                    }
                });
                self.generator.tick();
            }
        });
        (feeds, task)
    }

    /// This second's rates, and predictions/s.
    fn sample(
        &self,
        previous: &mut Option<Previous>,
        topics: &[TopicInfo],
        groups: Option<&[GroupInfo]>,
        at: Instant,
    ) -> (RateSample, Option<f64>) {
        let seconds = previous.as_ref().map_or(0.0, |p| at.duration_since(p.at).as_secs_f64());
        let topic_counts: BTreeMap<String, (usize, i64)> = topics
            .iter()
            .map(|t| (t.name.clone(), (t.partitions.len(), t.partitions.iter().map(|p| p.high).sum())))
            .collect();
        let topic_rates = topic_counts
            .iter()
            .map(|(name, &(parts, high))| {
                // A changed partition count changes the sum; skip that second.
                let before =
                    previous.as_ref().and_then(|p| p.topics.get(name)).filter(|(n, _)| *n == parts).map(|&(_, h)| h);
                (name.clone(), rate(before, high, seconds))
            })
            .collect();
        let (group_counts, group_rates) = match groups {
            Some(groups) => {
                let counts: BTreeMap<String, i64> = groups
                    .iter()
                    .map(|g| (g.group.clone(), g.offsets.iter().filter_map(|o| o.committed).sum()))
                    .collect();
                let rates = counts
                    .iter()
                    .map(|(g, &c)| {
                        (g.clone(), rate(previous.as_ref().and_then(|p| p.groups.get(g)).copied(), c, seconds))
                    })
                    .collect();
                (counts, rates)
            }
            None => {
                let kept = previous.as_ref().map(|p| p.groups.clone()).unwrap_or_default();
                let gaps = kept.keys().map(|g| (g.clone(), None)).collect();
                (kept, gaps)
            }
        };
        let predictions = self.predictions();
        let predictions_per_s = rate(previous.as_ref().map(|p| p.predictions as i64), predictions as i64, seconds);
        *previous = Some(Previous { at, topics: topic_counts, groups: group_counts, predictions });
        let lag = groups.map(group_lag).unwrap_or_default();
        (RateSample { at_ms: now_ms(), topics: topic_rates, groups: group_rates, lag }, predictions_per_s)
    }

    fn predictions(&self) -> u64 {
        self.metrics.edible.load(Ordering::Relaxed) + self.metrics.poisonous.load(Ordering::Relaxed)
    }

    fn inference_status(&self, predictions_per_s: Option<f64>, latency: &VecDeque<Vec<u64>>) -> InferenceStatus {
        let m = &self.metrics;
        let (latency_histogram, latency_ms) = recent_latency(m.latency.bounds(), latency);
        InferenceStatus {
            running: self.inference_running,
            model_version: self.model_version.clone(),
            requests: m.requests.load(Ordering::Relaxed),
            edible: m.edible.load(Ordering::Relaxed),
            poisonous: m.poisonous.load(Ordering::Relaxed),
            predictions_per_s,
            latency_ms,
            latency_histogram,
            dead_letters: m.dead_letters().into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{VecDeque, rate, recent_latency};

    #[test]
    fn the_latency_histogram_is_the_window_s_difference_cut_after_the_last_used_bucket() {
        let bounds = [0.005, 0.02, 0.1];
        // Since start: 100 slow ones long ago; in the window 90 at ≤ 5 ms and 10 at ≤ 20 ms.
        let window: VecDeque<Vec<u64>> = [vec![0, 0, 100, 0], vec![50, 5, 100, 0], vec![90, 10, 100, 0]].into();
        let (buckets, p) = recent_latency(&bounds, &window);
        let seen: Vec<(Option<f64>, u64)> = buckets.iter().map(|b| (b.le_ms, b.count)).collect();
        assert_eq!(seen, vec![(Some(5.0), 90), (Some(20.0), 10)]);
        assert_eq!((p.p50, p.p95, p.p99), (Some(5.0), Some(20.0), Some(20.0)));
        let (none, p) = recent_latency(&bounds, &VecDeque::from([vec![1, 2, 3, 4]]));
        assert!(none.is_empty() && p.p50.is_none(), "one snapshot is no window");
    }

    #[test]
    fn a_counter_going_backwards_is_a_gap_not_a_negative_rate() {
        assert_eq!(rate(Some(100), 150, 0.5), Some(100.0));
        assert_eq!(rate(Some(100), 40, 1.0), None);
        assert_eq!(rate(None, 40, 1.0), None);
    }
}
