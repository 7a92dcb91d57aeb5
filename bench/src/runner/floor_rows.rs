//! The loopback floors in a run: the fan-out floor over as many connections as the WebSocket fan-out's room, and
//! the relay floor with as many clients as the relay, measured with no server running.

use super::Run;
use crate::floor;

impl Run {
    /// Measures both floors and keeps their readings.
    pub(super) async fn floors(&mut self) {
        let (connections, rounds) = (self.plan.fanout_websocket, self.plan.floor_rounds);
        let sources = self.sources_count;
        match floor::fanout::measure(connections, rounds, sources).await {
            Ok(reading) => {
                eprintln!("   fan-out floor: {}", reading.summary());
                self.floors.push(reading);
            }
            Err(error) => self.floor_failed("fan-out floor", &error),
        }
        let (clients, warmup, window) = (
            self.plan.relay_clients,
            self.plan.relay_warmup,
            self.plan.relay_window,
        );
        match floor::relay::measure(clients, warmup, window).await {
            Ok(reading) => {
                eprintln!("   relay floor: {}", reading.summary());
                self.floors.push(reading);
            }
            Err(error) => self.floor_failed("relay floor", &error),
        }
    }

    fn floor_failed(&mut self, what: &str, error: &crate::Error) {
        self.failures += 1;
        eprintln!("   {what}: FAILED: {error}");
        self.notes.push(format!("{what} failed: {error}"));
    }
}
