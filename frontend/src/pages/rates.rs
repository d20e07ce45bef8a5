//! Production rate: messages/s of the topics chosen over the last 5 minutes (the server keeps
//! the history, so a reload loses nothing), and each group's consumption beside it. This is
//! the course's Streamlit graph, on the same port.

use super::rate_points;
use crate::chart::{LineChart, PALETTE, Series};
use crate::hooks::use_lab;
use std::collections::BTreeSet;
use streamlab_wire::topics;
use yew::prelude::*;

/// Shown unless the student chooses otherwise: the experiment producer's topic and the lab's.
fn default_choice() -> BTreeSet<String> {
    std::iter::once("experiment").chain(topics::ALL).map(str::to_owned).collect()
}

#[function_component(Rates)]
pub fn rates() -> Html {
    let ctx = use_lab();
    let lab = &*ctx.lab;
    let chosen = use_state(default_choice);
    let names: Vec<String> = lab.topics.iter().map(|t| t.name.clone()).collect();
    let series: Vec<Series> = names
        .iter()
        .filter(|n| chosen.contains(*n))
        .enumerate()
        .map(|(i, n)| Series { name: n.clone(), color: PALETTE[i % PALETTE.len()], points: rate_points(lab, n, false) })
        .collect();
    let groups: Vec<Series> = lab
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| Series {
            name: g.group.clone(),
            color: PALETTE[(i + 3) % PALETTE.len()],
            points: rate_points(lab, &g.group, true),
        })
        .collect();
    html! {
        <section aria-labelledby="rates-title">
            <h2 id="rates-title">{ "Production rate" }</h2>
            <p class="muted"><a class="export-history" href={crate::http::with_token("/api/rates.csv")} download="rates.csv">{ "Download the rate and lag history (CSV)" }</a></p>
            <fieldset class="choices">
                <legend>{ "Topics" }</legend>
                { for names.iter().map(|n| {
                    let checked = chosen.contains(n);
                    let (chosen, name) = (chosen.clone(), n.clone());
                    let on_change = Callback::from(move |_: Event| {
                        let mut next = (*chosen).clone();
                        if !next.remove(&name) {
                            next.insert(name.clone());
                        }
                        chosen.set(next);
                    });
                    html! { <label><input type="checkbox" data-choose={n.clone()} checked={checked} onchange={on_change} />{ n }</label> }
                }) }
            </fieldset>
            <div class="charts">
                <LineChart id="production" title="Messages produced per second" unit="msg/s" series={series} />
                <LineChart id="consumption" title="Messages consumed per second, by group (committed)" unit="msg/s" series={groups} />
            </div>
            { super::lag::lag_view(lab) }
        </section>
    }
}
