//! The loopback floors in a run: the fan-out floor over as many connections as the WebSocket fan-out's room, its
//! polling shape over as many as the polling fan-out's room, and
//! the relay floor with as many clients as the relay, closed-loop and at the WebSocket relay's half-load rate, and
//! its polling shape at the polling relay's half-load rate, measured with no server running. Beside them, the
//! minimal relay server (`floor::minimal_server`) at each transport's half-load rate, with the relay scenario's
//! clients and the run's backend: the latency those tools leave to a server that does almost nothing.

use super::Run;
use crate::floor::{self, FloorReading};
use crate::report::number;
use crate::scenario::{self, Ctx, Pace, Problems, Transport};
use crate::servers::Server;

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
        self.minimal_server_relay(Transport::Websocket).await;
        self.minimal_server_relay(Transport::Polling).await;
    }

    /// The relay scenario at `transport`'s half-load rate (the same clients, pacing, warm-up and window) against the
    /// minimal relay server and the run's backend; skipped with a note when no such rate is known.
    async fn minimal_server_relay(&mut self, transport: Transport) {
        let what = format!("minimal relay server, {transport} at half load");
        let Some(rate) = self.half_load.get(&transport).copied() else {
            self.notes.push(format!(
                "{what}: not measured, the half-load rate is not known"
            ));
            return;
        };
        let (clients, warmup, window) = (
            self.plan.relay_clients,
            self.plan.relay_warmup,
            self.plan.relay_window,
        );
        let mut problems = Problems::default();
        let outcome = match Server::start_minimal(&self.backend).await {
            Ok(server) => {
                let ctx = Ctx::single(
                    &server,
                    &self.backend,
                    self.sources.clone(),
                    self.plan.connect_concurrency,
                );
                let pace = Pace::Rate(rate);
                let outcome = scenario::relay(
                    &ctx,
                    transport,
                    clients,
                    warmup,
                    window,
                    pace,
                    &mut problems,
                )
                .await;
                server.stop().await;
                outcome
            }
            Err(error) => Err(error),
        };
        self.notes.extend(
            problems
                .notes
                .into_iter()
                .map(|note| format!("{what}: {note}")),
        );
        let mut outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => return self.floor_failed(&what, &error),
        };
        let server = outcome.cpu.server;
        let reading = FloorReading {
            name: format!(
                "minimal relay server over {transport} at {} emits/s (its half-load rate), {clients} clients: the \
                 relay scenario's clients and the run's backend around a server that only relays, each emit \
                 timed as the relay's",
                number(rate)
            ),
            unit_name: "ack",
            units: (outcome.acks_per_second * server.wall).round() as u64,
            user_seconds: server.user,
            system_seconds: server.system,
            wall_seconds: server.wall,
            p50_ms: outcome.latencies.percentile_ms(50.0),
            p99_ms: outcome.latencies.percentile_ms(99.0),
        };
        eprintln!("   {what} ({rate:.0} emits/s): {}", reading.summary());
        self.floors.push(reading);
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
