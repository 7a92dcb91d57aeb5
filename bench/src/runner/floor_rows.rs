//! The loopback floors in a run: the fan-out floor over as many connections as the WebSocket fan-out's room, its
//! polling shape over as many as the polling fan-out's room, and
//! the relay floor with as many clients as the relay, closed-loop and at the WebSocket relay's half-load rate, and
//! its polling shape at the polling relay's half-load rate, measured with no server running.

use super::Run;
use crate::floor;
use crate::scenario::Transport;

impl Run {
    /// Measures the floors and keeps their readings.
    pub(super) async fn floors(&mut self) {
        let connections = self.plan.fanout_websocket;
        let rounds = self.plan.fanout_floor_rounds();
        let sources = self.sources_count;
        match floor::fanout::measure(connections, rounds, sources).await {
            Ok(reading) => {
                eprintln!("   fan-out floor: {}", reading.summary());
                self.floors.push(reading);
            }
            Err(error) => self.floor_failed("fan-out floor", &error),
        }
        let polling = floor::fanout::Shape::Polling;
        match floor::fanout::measure_shape(polling, self.plan.fanout_polling, rounds, sources).await
        {
            Ok(reading) => {
                eprintln!("   polling fan-out floor: {}", reading.summary());
                self.floors.push(reading);
            }
            Err(error) => self.floor_failed("polling fan-out floor", &error),
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
        self.paced_relay_floor(Transport::Websocket).await;
        self.paced_relay_floor(Transport::Polling).await;
    }

    /// The relay floor shaped as `transport`'s round, at the rate that transport's relay was offered at half load
    /// (the same pacing), for its p99 at that rate to be read against; skipped with a note when no such rate is
    /// known.
    async fn paced_relay_floor(&mut self, transport: Transport) {
        let (shape, what, origin) = match transport {
            Transport::Websocket => (
                floor::relay::Shape::WebSocket,
                "relay floor at a fixed rate",
                "the WebSocket relay's half-load rate",
            ),
            Transport::Polling => (
                floor::relay::Shape::Polling,
                "polling relay floor at a fixed rate",
                "the polling relay's half-load rate",
            ),
        };
        let Some(rate) = self.half_load.get(&transport).copied() else {
            self.notes
                .push(format!("{what}: not measured, {origin} is not known"));
            return;
        };
        let (clients, warmup, window) = (
            self.plan.relay_clients,
            self.plan.relay_warmup,
            self.plan.relay_window,
        );
        match floor::relay::measure_at(shape, clients, rate, Some(origin), warmup, window).await {
            Ok(reading) => {
                eprintln!("   {what} ({rate:.0} emits/s): {}", reading.summary());
                self.floors.push(reading);
            }
            Err(error) => self.floor_failed(what, &error),
        }
    }

    fn floor_failed(&mut self, what: &str, error: &crate::Error) {
        self.failures += 1;
        eprintln!("   {what}: FAILED: {error}");
        self.notes.push(format!("{what} failed: {error}"));
    }
}
