//! Charts drawn as SVG by the app itself: no chart library, nothing loaded from elsewhere, so
//! the lab works offline in a classroom.

use yew::prelude::*;

/// Colours that read on light and dark backgrounds.
pub const PALETTE: [&str; 8] = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#9333ea", "#0891b2", "#db2777", "#65a30d"];

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    /// (seconds before now, value); `None` is a gap.
    pub points: Vec<(f64, Option<f64>)>,
}

#[derive(Properties, PartialEq)]
pub struct LineChartProps {
    pub series: Vec<Series>,
    pub title: AttrValue,
    pub unit: AttrValue,
    /// Seconds shown, ending now.
    #[prop_or(300.0)]
    pub span: f64,
    /// `data-chart` of the figure, for tests and styles.
    pub id: AttrValue,
}

/// A round number at or above `x` (1, 2 or 5 × 10ⁿ) for the y axis.
fn nice_max(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|v| *v >= x).unwrap_or(10.0 * magnitude)
}

/// An SVG path through the points, broken at gaps.
fn path(points: &[(f64, Option<f64>)], x: impl Fn(f64) -> f64, y: impl Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for &(t, v) in points {
        match v {
            Some(v) => {
                d.push_str(&format!("{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, x(t), y(v)));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d
}

#[function_component(LineChart)]
pub fn line_chart(p: &LineChartProps) -> Html {
    let (w, h, left, bottom, top) = (640.0, 240.0, 48.0, 24.0, 10.0);
    let max =
        nice_max(p.series.iter().flat_map(|s| s.points.iter().filter_map(|(_, v)| *v)).fold(0.0, f64::max) * 1.05);
    let x = |t: f64| left + (1.0 - t / p.span) * (w - left - 8.0);
    let y = |v: f64| top + (1.0 - v / max) * (h - top - bottom);
    let ticks = [0.0, 0.25, 0.5, 0.75, 1.0];
    html! {
        <figure class="chart" data-chart={p.id.clone()}>
            <figcaption>{ &p.title }</figcaption>
            <svg viewBox={format!("0 0 {w} {h}")} role="img" aria-label={format!("{} over the last {} minutes", p.title, p.span / 60.0)}>
                { for ticks.iter().map(|f| {
                    let v = max * f;
                    html! { <g class="grid">
                        <line x1={left.to_string()} x2={(w - 8.0).to_string()} y1={y(v).to_string()} y2={y(v).to_string()} />
                        <text x={(left - 6.0).to_string()} y={(y(v) + 4.0).to_string()} text-anchor="end">{ format_number(v) }</text>
                    </g> }
                }) }
                { for [300.0, 240.0, 180.0, 120.0, 60.0, 0.0].iter().filter(|t| **t <= p.span).map(|t| html! {
                    <text class="axis" x={x(*t).to_string()} y={(h - 6.0).to_string()} text-anchor="middle">{ if *t == 0.0 { "now".to_owned() } else { format!("-{}m", t / 60.0) } }</text>
                }) }
                { for p.series.iter().map(|s| html! {
                    <path d={path(&s.points, x, y)} stroke={s.color} fill="none" stroke-width="2" stroke-linejoin="round" />
                }) }
            </svg>
            <ul class="legend">
                { for p.series.iter().map(|s| {
                    let now = s.points.last().and_then(|(_, v)| *v);
                    html! { <li>
                        <span class="swatch" style={format!("background:{}", s.color)}></span>
                        { &s.name }{ " " }
                        <strong data-series={s.name.clone()} data-value={now.map(|v| format!("{v:.3}")).unwrap_or_default()}>
                            { now.map_or("–".to_owned(), format_number) }</strong>{ " " }{ &p.unit }
                    </li> }
                }) }
            </ul>
        </figure>
    }
}

#[derive(Properties, PartialEq)]
pub struct SparklineProps {
    pub points: Vec<Option<f64>>,
    pub label: AttrValue,
}

/// A small trend line for a table cell.
#[function_component(Sparkline)]
pub fn sparkline(p: &SparklineProps) -> Html {
    let (w, h) = (120.0, 24.0);
    let max = p.points.iter().flatten().fold(0.0f64, |a, b| a.max(*b)).max(1.0);
    let n = p.points.len().max(2) as f64;
    let pts: Vec<(f64, Option<f64>)> = p.points.iter().enumerate().map(|(i, v)| (i as f64, *v)).collect();
    let d = path(&pts, |i| i / (n - 1.0) * w, |v| h - 2.0 - v / max * (h - 4.0));
    html! {
        <svg class="sparkline" viewBox={format!("0 0 {w} {h}")} width="120" height="24" role="img" aria-label={p.label.clone()}>
            <path d={d} fill="none" stroke="currentColor" stroke-width="1.5" />
        </svg>
    }
}

#[derive(Properties, PartialEq)]
pub struct BarChartProps {
    /// (label under the bar, count), left to right.
    pub bars: Vec<(String, u64)>,
    pub title: AttrValue,
    /// `data-chart` of the figure, for tests and styles.
    pub id: AttrValue,
}

/// Counts as bars of equal width, one per label: a histogram whose buckets are named, not
/// spaced to scale.
#[function_component(BarChart)]
pub fn bar_chart(p: &BarChartProps) -> Html {
    let (w, h, left, bottom, top) = (640.0, 200.0, 48.0, 24.0, 10.0);
    let max = nice_max(p.bars.iter().map(|(_, c)| *c as f64).fold(0.0, f64::max));
    let y = |v: f64| top + (1.0 - v / max) * (h - top - bottom);
    let slot = (w - left - 8.0) / p.bars.len().max(1) as f64;
    html! {
        <figure class="chart" data-chart={p.id.clone()}>
            <figcaption>{ &p.title }</figcaption>
            <svg viewBox={format!("0 0 {w} {h}")} role="img" aria-label={p.title.clone()}>
                { for [0.0, 0.5, 1.0].iter().map(|f| {
                    let v = max * f;
                    html! { <g class="grid">
                        <line x1={left.to_string()} x2={(w - 8.0).to_string()} y1={y(v).to_string()} y2={y(v).to_string()} />
                        <text x={(left - 6.0).to_string()} y={(y(v) + 4.0).to_string()} text-anchor="end">{ format_number(v) }</text>
                    </g> }
                }) }
                { for p.bars.iter().enumerate().map(|(i, (label, count))| {
                    let x = left + i as f64 * slot;
                    html! { <g class="column" data-label={label.clone()} data-count={count.to_string()}>
                        <rect x={(x + 2.0).to_string()} y={y(*count as f64).to_string()} width={(slot - 4.0).max(1.0).to_string()}
                            height={(h - bottom - y(*count as f64)).to_string()}><title>{ format!("{label}: {count}") }</title></rect>
                        <text class="axis" x={(x + slot / 2.0).to_string()} y={(h - 6.0).to_string()} text-anchor="middle">{ label }</text>
                    </g> }
                }) }
            </svg>
        </figure>
    }
}

pub fn format_number(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers_and_gaps_break_lines() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(180.0), 200.0);
        assert_eq!(nice_max(4100.0), 5000.0);
        let d = path(&[(0.0, Some(1.0)), (1.0, None), (2.0, Some(2.0)), (3.0, Some(3.0))], |t| t, |v| v);
        assert_eq!(d, "M0.0,1.0 M2.0,2.0 L3.0,3.0 ");
    }
}
