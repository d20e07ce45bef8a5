//! The lab for every component below [`LabProvider`]: the state reduced from the websocket
//! and the socket itself. Components read it with [`crate::hooks::use_lab`].

use crate::socket::Socket;
use crate::state::Lab;
use yew::prelude::*;

/// What every page reads: the lab's state and the socket.
#[derive(Clone, PartialEq)]
pub struct LabContext {
    pub lab: UseReducerHandle<Lab>,
    pub socket: Socket,
}

#[derive(Properties, PartialEq)]
pub struct LabProviderProps {
    pub children: Html,
}

/// Opens the websocket once and provides the lab to its children.
#[function_component(LabProvider)]
pub fn lab_provider(p: &LabProviderProps) -> Html {
    let lab = use_reducer(Lab::default);
    let socket = use_memo((), |_| Socket::default());
    {
        let (socket, dispatch) = ((*socket).clone(), lab.dispatcher());
        use_effect_with((), move |_| socket.connect(dispatch));
    }
    let context = LabContext { lab, socket: (*socket).clone() };
    html! {
        <ContextProvider<LabContext> {context}>{ p.children.clone() }</ContextProvider<LabContext>>
    }
}
