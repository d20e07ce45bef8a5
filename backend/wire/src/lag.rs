//! A group's lag over time, computed from the sampler's history: the server answers
//! `GET /api/lag` with it and the browser draws it from the samples it is pushed, so both
//! show the same trend.

use crate::{LagSeries, LagTrend, RateSample};
use std::collections::BTreeMap;

/// Samples the lag's trend is fitted over: recent enough to show a consumer that just
/// stopped or resumed, long enough to smooth commits that come every few seconds.
const TREND_SAMPLES: usize = 10;
/// Samples the consumption rate behind "lag in seconds" is averaged over.
const RATE_SAMPLES: usize = 30;
/// Below this change (messages/s) the lag counts as steady.
const STEADY_PER_SECOND: f64 = 1.0;

/// Every (group, topic) the history holds a lag for, oldest point first.
pub fn lag_series<'a, H>(history: H) -> Vec<LagSeries>
where
    H: IntoIterator<Item = &'a RateSample>,
    H::IntoIter: DoubleEndedIterator + Clone,
{
    let history = history.into_iter();
    let mut points: BTreeMap<(&str, &str), Vec<(i64, i64)>> = BTreeMap::new();
    for sample in history.clone() {
        for (group, topics) in &sample.lag {
            for (topic, &messages) in topics {
                points.entry((group, topic)).or_default().push((sample.at_ms, messages));
            }
        }
    }
    points
        .into_iter()
        .map(|((group, topic), points)| {
            let messages = points.last().map_or(0, |p| p.1);
            let per_second = slope(&points[points.len().saturating_sub(TREND_SAMPLES)..]);
            let trend = match per_second {
                Some(s) if s > STEADY_PER_SECOND => LagTrend::Growing,
                Some(s) if s < -STEADY_PER_SECOND => LagTrend::Shrinking,
                _ => LagTrend::Steady,
            };
            let consumed: Vec<f64> = history
                .clone()
                .rev()
                .take(RATE_SAMPLES)
                .filter_map(|s| s.groups.get(group).copied().flatten())
                .collect();
            let rate = (!consumed.is_empty()).then(|| consumed.iter().sum::<f64>() / consumed.len() as f64);
            let seconds = match rate {
                _ if messages == 0 => Some(0.0),
                Some(r) if r > 0.0 => Some(messages as f64 / r),
                _ => None,
            };
            LagSeries { group: group.to_owned(), topic: topic.to_owned(), points, messages, seconds, per_second, trend }
        })
        .collect()
}

/// Least-squares slope of messages over time, per second; `None` with fewer than two points.
fn slope(points: &[(i64, i64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let t0 = points[0].0;
    let xs: Vec<f64> = points.iter().map(|p| (p.0 - t0) as f64 / 1000.0).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1 as f64).collect();
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_s: i64, lag: i64, consumed: Option<f64>) -> RateSample {
        RateSample {
            at_ms: at_s * 1000,
            topics: BTreeMap::new(),
            groups: [("g".to_owned(), consumed)].into(),
            lag: [("g".to_owned(), [("t".to_owned(), lag)].into())].into(),
        }
    }

    #[test]
    fn a_stopped_group_grows_and_a_resumed_one_shrinks() {
        // Stopped: 200 more each second, nothing consumed.
        let stopped: Vec<RateSample> = (0..20).map(|s| sample(s, 200 * s, Some(0.0))).collect();
        let s = &lag_series(&stopped)[0];
        assert_eq!((s.group.as_str(), s.topic.as_str(), s.messages), ("g", "t", 3800));
        assert!((s.per_second.unwrap() - 200.0).abs() < 1e-9);
        assert_eq!(s.trend, LagTrend::Growing);
        assert_eq!(s.seconds, None, "behind and consuming nothing: no finite catch-up time");

        // Resumed: it reads 1,000/s and the lag falls back to 0.
        let mut resumed = stopped.clone();
        resumed.extend((20..25).map(|s| sample(s, (3800 - 1000 * (s - 19)).max(0), Some(1000.0))));
        let s = &lag_series(&resumed)[0];
        assert_eq!(s.trend, LagTrend::Shrinking, "{:?}", s.per_second);
        assert_eq!(s.seconds, Some(0.0));

        // Keeping up: the lag stays put.
        let steady: Vec<RateSample> = (0..20).map(|s| sample(s, 50, Some(200.0))).collect();
        let s = &lag_series(&steady)[0];
        assert_eq!(s.trend, LagTrend::Steady);
        assert_eq!(s.seconds, Some(0.25), "50 behind at 200/s");
    }
}
