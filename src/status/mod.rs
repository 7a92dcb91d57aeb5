//! The live status page on the API listener: `GET /status` (the page, or the login form), `POST /status/login`,
//! `GET /status.json` (one snapshot), `GET /status/events` (a snapshot per second as server-sent events), and the
//! page's script and style. Everything but the script and style needs the API token (see [`auth`]). The page is
//! plain HTML, CSS and JavaScript built into the binary: no external requests, no build step.

pub mod auth;
pub mod events;
pub mod history;
pub mod node_counts;
pub mod sampler;
pub mod snapshot;

use crate::engineio::http::{Body, RequestBody, complete};
use crate::server::FrontDoor;
use auth::StatusAuth;
use events::Streams;
use history::History;
use http::header::{ALLOW, HeaderName, HeaderValue, LOCATION, SET_COOKIE};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use node_counts::NodeCounts;
use sampler::Sampler;
use std::sync::Arc;

const PAGE: &str = include_str!("page.html");
const LOGIN: &str = include_str!("login.html");
const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// The largest login form body, in bytes.
const MAX_FORM: usize = 4096;

/// What the page may load: its own script and style, its own API; nothing else, and no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The status page's routes.
pub struct StatusPage {
    auth: StatusAuth,
    app: Arc<FrontDoor>,
    sampler: Arc<Sampler>,
    history: Arc<History>,
    streams: Streams,
}

impl StatusPage {
    /// The page of `app`, guarded by the API `token`; starts keeping the plots' history (inside a Tokio
    /// runtime).
    pub fn new(token: &str, app: Arc<FrontDoor>) -> Self {
        Self {
            auth: StatusAuth::new(token),
            history: History::start(&app),
            sampler: Arc::new(Sampler::new(NodeCounts::start(&app))),
            app,
            streams: Streams::default(),
        }
    }

    /// Whether `path` is one of the page's.
    pub fn serves(path: &str) -> bool {
        path == "/status" || path == "/status.json" || path.starts_with("/status/")
    }

    /// Status streams open now.
    pub fn open_streams(&self) -> usize {
        self.streams.open()
    }

    /// Answers a request for one of the page's paths.
    pub async fn handle(&self, req: Request<RequestBody>) -> Response<Body> {
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        match (path.as_str(), method) {
            ("/status/page.js", Method::GET | Method::HEAD) => {
                asset("text/javascript; charset=utf-8", SCRIPT)
            }
            ("/status/page.css", Method::GET | Method::HEAD) => {
                asset("text/css; charset=utf-8", STYLE)
            }
            ("/status/login", Method::POST) => self.login(req).await,
            ("/status", Method::GET | Method::HEAD) => self.page(&req),
            ("/status.json", Method::GET | Method::HEAD) => {
                if !self.auth.allows(req.headers()) {
                    return login_form(401, "");
                }
                let json = self.sampler.json(&self.app);
                complete(200, "application/json", json.as_bytes().to_vec())
            }
            ("/status/events", Method::GET) => {
                if !self.auth.allows(req.headers()) {
                    return login_form(401, "");
                }
                self.streams
                    .start(self.app.clone(), self.sampler.clone(), &self.history)
            }
            ("/status/login", _) => method_not_allowed("POST"),
            ("/status" | "/status.json" | "/status/page.js" | "/status/page.css", _) => {
                method_not_allowed("GET, HEAD")
            }
            ("/status/events", _) => method_not_allowed("GET"),
            _ => complete(404, "text/plain; charset=UTF-8", "no such page\n"),
        }
    }

    /// `/status`: a `?token=` is traded for the cookie (and dropped from the URL); then the page, or the form.
    fn page(&self, req: &Request<RequestBody>) -> Response<Body> {
        let token = req.uri().query().and_then(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "token")
                .map(|(_, value)| value.into_owned())
        });
        if let Some(token) = token {
            return if self.auth.is_token(&token) {
                self.let_in()
            } else {
                login_form(401, "That token is not the API token.")
            };
        }
        if self.auth.allows(req.headers()) {
            html(200, PAGE.to_string())
        } else {
            login_form(401, "")
        }
    }

    /// `POST /status/login` with `token=...`: the cookie and the page, or the form again.
    async fn login(&self, req: Request<RequestBody>) -> Response<Body> {
        let Ok(body) = Limited::new(req.into_body(), MAX_FORM).collect().await else {
            return login_form(400, "The form could not be read.");
        };
        let body = body.to_bytes();
        let token = form_urlencoded::parse(&body)
            .find(|(name, _)| name == "token")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        if self.auth.is_token(&token) {
            self.let_in()
        } else {
            login_form(401, "That token is not the API token.")
        }
    }

    /// 303 to `/status` with the cookie.
    fn let_in(&self) -> Response<Body> {
        let mut response = complete(303, "text/plain; charset=UTF-8", "");
        let headers = response.headers_mut();
        headers.insert(LOCATION, HeaderValue::from_static("/status"));
        if let Ok(cookie) = HeaderValue::from_str(&self.auth.set_cookie()) {
            headers.insert(SET_COOKIE, cookie);
        }
        headers.insert(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        );
        response
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response<Body> {
    complete(200, content_type, body)
}

fn html(status: u16, body: String) -> Response<Body> {
    let mut response = complete(status, "text/html; charset=utf-8", body);
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The login form with `status`, and `message` shown above it (plain text, no markup).
fn login_form(status: u16, message: &'static str) -> Response<Body> {
    html(status, LOGIN.replace("{{message}}", message))
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = complete(405, "text/plain; charset=UTF-8", "method not allowed\n");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}
