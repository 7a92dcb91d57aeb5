//! The parked sessions row: memory per socket a server keeps for connection state recovery while its client is
//! away, iogate (the endpoint's `recovery`, clients asking for offsets) against Node (`connectionStateRecovery`).

use super::{DEFAULT_HEARTBEAT, Run, count, seconds};
use crate::report::Better;
use crate::scenario::{self, Ctx, Problems, Transport};
use crate::servers::Server;
use std::time::Duration;

/// How long both servers keep a dropped session: iogate's `max_disconnection` default and Node's
/// `maxDisconnectionDuration` default, far longer than the scenario needs.
const RECOVERY_WINDOW: Duration = Duration::from_secs(120);

impl Run {
    /// Clients connect over each transport, receive one emit with an offset, and all drop; memory per parked
    /// session.
    pub(super) async fn parked(&mut self) {
        let n = self.plan.idle_sessions;
        let settle = self.plan.idle_settle;
        for transport in [Transport::Websocket, Transport::Polling] {
            for kind in self.servers.clone() {
                let start = Server::start_recovering(
                    &self.tools,
                    kind,
                    &self.backend,
                    DEFAULT_HEARTBEAT,
                    RECOVERY_WINDOW,
                );
                let outcome = on_fresh_server!(self, kind, started start, |ctx, problems| {
                    scenario::parked(&ctx, n, settle, transport, &mut problems).await
                });
                let what = format!("parked {transport}");
                let Some(o) = self.record(kind, &what, outcome) else {
                    continue;
                };
                eprintln!(
                    "   {kind} {what}: {} sessions, {} counted parked after {:.0} ms; {:.2} KiB/session connected \
                     and idle, {:.2} KiB/session parked",
                    o.sessions,
                    o.parked,
                    o.parking.as_secs_f64() * 1e3,
                    o.connected_kib,
                    o.parked_kib
                );
                self.put(
                    kind,
                    format!(
                        "{what}, {} sessions (recovery window {}): memory per session while disconnected and \
                         recoverable (RSS delta / N)",
                        count(n),
                        seconds(RECOVERY_WINDOW)
                    ),
                    "KiB",
                    Better::Lower,
                    o.parked_kib,
                );
            }
        }
    }
}
