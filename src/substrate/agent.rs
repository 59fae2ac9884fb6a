//! What a host runs for an app: an agent. Hosts ([`crate::substrate::host`]) hold agents and poll them;
//! the apps ([`crate::app`]) make them. This trait lives apart from both so that neither needs
//! the other to name it.

use crate::results::AppRecord;
use crate::substrate::engine::Time;
use smoltcp::iface::{Context, SocketSet};

/// One side of an app.
///
/// `rec` is the record of the agent's own app, made by [`crate::app::record`] from the same
/// traffic that [`crate::app::install`] made the agent from, so it is of the agent's kind; an
/// agent handed another kind's record measures nothing and asks for no wake-up.
pub trait Agent {
    fn poll(
        &mut self,
        now: Time,
        cx: &mut Context,
        sockets: &mut SocketSet<'static>,
        rec: &mut AppRecord,
    ) -> Option<Time>;
}
