//! Consumer groups: their lag over time, state, members and their assignments, lag per
//! partition, live.

use crate::hooks::use_lab;
use yew::prelude::*;

#[function_component(Groups)]
pub fn groups() -> Html {
    let ctx = use_lab();
    let lab = &*ctx.lab;
    html! {
        <section aria-labelledby="groups-title">
            <h2 id="groups-title">{ "Consumer groups" }</h2>
            <p class="muted">{ "Download: " }
                <a id="export-groups" href={crate::http::with_token("/api/groups.csv")} download="groups.csv">{ "the groups table (CSV)" }</a>{ ", " }
                <a class="export-history" href={crate::http::with_token("/api/rates.csv")} download="rates.csv">{ "the rate and lag history (CSV)" }</a>
            </p>
            if lab.groups.is_empty() { <p class="muted">{ "No consumer group yet. Start a consumer with a group.id and it appears here." }</p> }
            { super::lag::lag_view(lab) }
            { for lab.groups.iter().map(|g| {
                let max_lag = g.offsets.iter().filter_map(|o| o.lag).max().unwrap_or(0).max(1);
                html! {
                <article class="card group" data-group={g.group.clone()}>
                    <h3>{ &g.group }{ " " }<span class={classes!("badge", g.state.to_lowercase())}>{ &g.state }</span>
                        <span class="muted">{ format!(" total lag {}", g.total_lag()) }</span></h3>
                    <table class="members">
                        <caption>{ format!("{} member(s)", g.members.len()) }</caption>
                        <thead><tr><th scope="col">{ "Client" }</th><th scope="col">{ "Host" }</th><th scope="col">{ "Assigned" }</th><th scope="col">{ "Member id" }</th></tr></thead>
                        <tbody>
                            { for g.members.iter().map(|m| html! { <tr data-member={m.member_id.clone()}>
                                <td>{ if m.client_id.is_empty() { "–" } else { &m.client_id } }</td>
                                <td>{ if m.host.is_empty() { "–" } else { &m.host } }</td>
                                <td>{ if m.assignment.is_empty() { "– (not reported by this broker)".to_owned() } else {
                                    m.assignment.iter().map(|a| format!("{} [{}]", a.topic, a.partitions.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","))).collect::<Vec<_>>().join("; ") } }</td>
                                <td><code>{ &m.member_id }</code></td>
                            </tr> }) }
                        </tbody>
                    </table>
                    <table class="offsets">
                        <thead><tr><th scope="col">{ "Topic" }</th><th scope="col">{ "Partition" }</th><th scope="col">{ "Committed" }</th><th scope="col">{ "End" }</th><th scope="col">{ "Lag" }</th></tr></thead>
                        <tbody>
                            { for g.offsets.iter().map(|o| html! { <tr>
                                <td>{ &o.topic }</td><td>{ o.partition }</td>
                                <td>{ o.committed.map_or("–".into(), |c| c.to_string()) }</td><td>{ o.end }</td>
                                <td class="lag">
                                    <span class="bar" style={format!("width:{}%", o.lag.unwrap_or(0) * 100 / max_lag)}></span>
                                    { o.lag.map_or("–".into(), |l| l.to_string()) }
                                </td>
                            </tr> }) }
                        </tbody>
                    </table>
                </article>
            } }) }
        </section>
    }
}
