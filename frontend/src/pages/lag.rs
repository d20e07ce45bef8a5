//! Each group's lag over the last 5 minutes: a line per group and topic, and whether it is
//! growing, steady or shrinking (the same computation as the server's `GET /api/lag`).
//! Shown on the groups page and under the production rate.

use crate::chart::{LineChart, PALETTE, Series, format_number};
use crate::state::Lab;
use streamlab_wire::LagTrend;
use streamlab_wire::lag::lag_series;
use yew::prelude::*;

pub fn lag_view(lab: &Lab) -> Html {
    let series = lag_series(lab.history.iter());
    let last = lab.history.back().map_or(0, |s| s.at_ms);
    let lines: Vec<Series> = series
        .iter()
        .enumerate()
        .map(|(i, s)| Series {
            name: format!("{} · {}", s.group, s.topic),
            color: PALETTE[i % PALETTE.len()],
            points: s.points.iter().map(|(at, m)| ((last - at) as f64 / 1000.0, Some(*m as f64))).collect(),
        })
        .collect();
    html! {
        <div class="lag">
            <LineChart id="lag" title="Lag by group: messages not yet committed" unit="msg" series={lines} />
            <ul class="trends">
                { for series.iter().map(|s| {
                    let (trend, arrow) = match s.trend {
                        LagTrend::Growing => ("growing", "↑ growing"),
                        LagTrend::Steady => ("steady", "→ steady"),
                        LagTrend::Shrinking => ("shrinking", "↓ shrinking"),
                    };
                    let behind = match s.seconds {
                        _ if s.messages == 0 => "up to date".to_owned(),
                        Some(sec) if sec < 1.0 => format!("{} behind, under a second", s.messages),
                        Some(sec) => format!("{} behind, about {} s", s.messages, format_number(sec.round())),
                        None => format!("{} behind and not consuming", s.messages),
                    };
                    let change = s.per_second.filter(|v| v.abs() >= 1.0).map(|v| format!(", {:+.0} msg/s", v)).unwrap_or_default();
                    html! {
                        <li data-lag-group={s.group.clone()} data-lag-topic={s.topic.clone()} data-trend={trend}>
                            <span class={classes!("badge", trend)}>{ arrow }</span>
                            <strong>{ &s.group }</strong>{ " on " }{ &s.topic }{ ": " }{ behind }{ change }
                        </li>
                    }
                }) }
            </ul>
        </div>
    }
}
