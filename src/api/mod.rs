//! The push API on `[api].listen`: backends reach clients at any time (emit, rooms, disconnect, data, listings,
//! engine.io sends), plus `/metrics`, the live status page (`crate::status`), and the health probes (`server::health`) as the public listener answers them.

mod auth;
mod coverage;
mod emit;
mod error;
mod listing;
mod lookup;
mod request;
mod rooms;
mod send;

pub use auth::authorized as bearer_authorized;
pub use error::ApiError;

use crate::engineio::ConnInfo;
use crate::engineio::http::RequestBody;
use crate::engineio::http::{Body, complete};
use crate::server::endpoint::ResponseFuture;
use crate::server::health::Probe;
use crate::server::limits::Gate;
use crate::server::{FrontDoor, HttpHandler};
use crate::status::StatusPage;
use http::{Method, Request, Response};
use std::sync::Arc;

/// The calls the API answers (metric labels).
const CALLS: [&str; 9] = [
    "/v1/emit",
    "/v1/join",
    "/v1/leave",
    "/v1/disconnect",
    "/v1/data",
    "/v1/send",
    "/v1/sockets",
    "/v1/rooms",
    "/metrics",
];

/// The push API.
pub struct Api {
    token: String,
    app: Arc<FrontDoor>,
    gate: Arc<Gate>,
    status: StatusPage,
}

impl Api {
    /// An API over `app`, guarded by `token`, served with `gate`'s connection settings.
    pub fn new(token: String, app: Arc<FrontDoor>, gate: Arc<Gate>) -> Self {
        let status = StatusPage::new(&token, app.clone());
        Self {
            token,
            app,
            gate,
            status,
        }
    }

    async fn handle(&self, req: Request<RequestBody>) -> Response<Body> {
        if let Some(probe) = Probe::at(req.uri().path()) {
            return probe.answer(self.app.readiness());
        }
        if StatusPage::serves(req.uri().path()) {
            // The status page checks the token itself: it also takes the cookie its login form sets.
            return self.status.handle(req).await;
        }
        let call = req.uri().path().to_string();
        let response = if !auth::authorized(req.headers(), &self.token) {
            ApiError::unauthorized().response()
        } else if call == "/metrics" && req.method() == Method::GET {
            complete(
                200,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.app.metrics().encode(),
            )
        } else {
            match self.route(req).await {
                Ok(json) => complete(200, "application/json", json),
                Err(error) => error.response(),
            }
        };
        // Only known calls become label values, so random paths cannot grow the metric without bound.
        let label = CALLS
            .iter()
            .find(|known| **known == call)
            .copied()
            .unwrap_or("other");
        self.app
            .metrics()
            .api_call(label, response.status().as_u16());
        response
    }

    async fn route(&self, req: Request<RequestBody>) -> Result<String, ApiError> {
        let app = &*self.app;
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        match (path.as_str(), method) {
            ("/v1/emit", Method::POST) => {
                emit::emit(app, request::json(&request::body(req).await?)?).await
            }
            ("/v1/join", Method::POST) => {
                rooms::join(app, request::json(&request::body(req).await?)?).await
            }
            ("/v1/leave", Method::POST) => {
                rooms::leave(app, request::json(&request::body(req).await?)?).await
            }
            ("/v1/disconnect", Method::POST) => {
                rooms::disconnect(app, request::json(&request::body(req).await?)?).await
            }
            ("/v1/data", Method::PUT) => {
                rooms::put_data(app, request::json(&request::body(req).await?)?).await
            }
            ("/v1/send", Method::POST) => {
                send::send(app, request::json(&request::body(req).await?)?)
            }
            ("/v1/sockets", Method::GET) => listing::sockets(app, &request::query(&req)).await,
            ("/v1/rooms", Method::GET) => listing::rooms(app, &request::query(&req)).await,
            ("/metrics", Method::GET) => Err(ApiError::not_found(
                "metrics are not collected by this build",
            )),
            ("/v1/emit" | "/v1/join" | "/v1/leave" | "/v1/disconnect" | "/v1/send", _) => {
                Err(ApiError::method("POST"))
            }
            ("/v1/data", _) => Err(ApiError::method("PUT")),
            ("/v1/sockets" | "/v1/rooms" | "/metrics", _) => Err(ApiError::method("GET")),
            _ => Err(ApiError::not_found(format!("no API call at {path}"))),
        }
    }
}

impl HttpHandler for Api {
    fn serve(&self, req: Request<RequestBody>, _conn: ConnInfo) -> ResponseFuture<'_> {
        Box::pin(self.handle(req))
    }

    fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }
}
