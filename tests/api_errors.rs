//! The push API's guard rails against a running gateway with `[api] token = "t0k"`: bearer authentication on every
//! call and on `/metrics`, health probes without a token, nothing of the API on the public listener, and every
//! error path with its status, code and a message that names the field at fault.

use crate::common;
use common::Backend;
use common::api::{self, Api, assert_error, sockets_count};
use common::eio;
use common::sio::{SioWs, accept};
use std::time::Duration;

/// Every call of the API (method, path, a valid body), `/metrics` included.
const CALLS: [(&str, &str, Option<&str>); 9] = [
    ("POST", "/v1/emit", Some(r#"{"event":"x"}"#)),
    ("POST", "/v1/join", Some(r#"{"rooms":["r"]}"#)),
    ("POST", "/v1/leave", Some(r#"{"rooms":["r"]}"#)),
    ("POST", "/v1/disconnect", Some(r#"{}"#)),
    ("PUT", "/v1/data", Some(r#"{"sid":"x","data":1}"#)),
    ("POST", "/v1/send", Some(r#"{"sids":[],"data":[]}"#)),
    ("GET", "/v1/sockets", None),
    ("GET", "/v1/rooms", None),
    ("GET", "/metrics", None),
];

async fn socketio() -> (Backend, common::Gateway, Api) {
    let backend = Backend::start(accept).await;
    let gateway = api::socketio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    (backend, gateway, api)
}

// ---- authentication ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_call_without_the_right_bearer_token_is_unauthorized() {
    let (_backend, _gateway, api) = socketio().await;
    let refused = [
        None,
        Some("Bearer wrong"),
        Some("Bearer t0k0"),
        Some("Bearer t0"),
        Some("Bearer "),
        Some("Basic dDBrOg=="),
        Some("Basic t0k"),
        Some("t0k"),
        Some("Token t0k"),
    ];
    for (method, path, body) in CALLS {
        for auth in refused {
            let answer = api.request(method, path, body, auth).await;
            let what = format!("{method} {path} with {auth:?}");
            assert_eq!(answer.status, 401, "{what}: {}", answer.text);
            assert_error(&answer, 401, "unauthorized");
            let challenge = answer.header("www-authenticate").unwrap_or_default();
            assert!(
                challenge.starts_with("Bearer"),
                "{what}: a 401 carries a Bearer challenge, got {challenge:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_right_token_is_accepted_on_every_call() {
    let (_backend, _gateway, api) = socketio().await;
    for (method, path, body) in CALLS {
        let answer = api.call(method, path, body).await;
        // The calls themselves may be refused for other reasons (no such socket, wrong protocol), never for auth.
        assert_ne!(answer.status, 401, "{method} {path}: {}", answer.text);
    }
    assert_eq!(api.get("/v1/sockets").await.text, r#"{"sockets":[]}"#);
    assert_eq!(api.get("/v1/rooms").await.text, r#"{"rooms":[]}"#);
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_need_the_token_too() {
    let (_backend, _gateway, api) = socketio().await;
    for (method, path) in [
        ("GET", "/v1/nope"),
        ("GET", "/"),
        ("GET", "/v1/emit"),
        ("DELETE", "/v1/data"),
    ] {
        let answer = api.request(method, path, None, None).await;
        assert_error(&answer, 401, "unauthorized");
    }
}

#[tokio::test]
async fn health_probes_answer_without_a_token_on_both_listeners() {
    let (_backend, gateway, api) = socketio().await;
    for (path, text) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let answer = api.request("GET", path, None, None).await;
        assert_eq!((answer.status, answer.text.as_str()), (200, text), "{path}");
        let wrong = api.request("GET", path, None, Some("Bearer nope")).await;
        assert_eq!(wrong.status, 200, "{path} ignores a wrong token");
        let public = eio::get(&gateway.url(path)).await;
        assert_eq!(
            (public.status, public.text.as_str()),
            (200, text),
            "{path} public"
        );
    }
}

#[tokio::test]
async fn readyz_reports_draining_on_both_listeners_while_healthz_stays_up() {
    let (_backend, gateway, api) = socketio().await;
    assert!(gateway.running.app.drain(Duration::from_secs(1)).await);
    let answer = api.request("GET", "/readyz", None, None).await;
    assert_eq!((answer.status, answer.text.as_str()), (503, "draining"));
    let public = eio::get(&gateway.url("/readyz")).await;
    assert_eq!((public.status, public.text.as_str()), (503, "draining"));
    for url in [api.url("/healthz"), gateway.url("/healthz")] {
        assert_eq!(eio::get(&url).await.status, 200, "{url}");
    }
}

#[tokio::test]
async fn the_public_listener_serves_neither_metrics_nor_the_api() {
    let (_backend, gateway, _api) = socketio().await;
    let http = eio::http();
    for (method, path, body) in CALLS {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = http
            .request(method, gateway.url(path))
            .header("authorization", "Bearer t0k");
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let answer = eio::answer(request.send().await.expect("request")).await;
        assert_eq!(answer.status, 404, "{path} on the public listener");
        assert!(
            !answer.text.contains("iogate_"),
            "{path}: no metrics leak: {}",
            answer.text
        );
    }
}

// ---- malformed requests -----------------------------------------------------------------------------------

#[tokio::test]
async fn invalid_json_is_a_bad_request() {
    let (_backend, _gateway, api) = socketio().await;
    for body in [
        "",
        "{",
        r#"{"event":"x""#,
        "not json",
        r#"{"event":"x"} {"event":"y"}"#,
        r#"{"event":"x",}"#,
        "[]",
        "\"x\"",
        "null",
        // A positional array is not an object, even when it lines up with the fields.
        r#"[null,null,null,null,"x",[],null]"#,
    ] {
        let answer = api.post("/v1/emit", body).await;
        assert_error(&answer, 400, "invalid_request");
    }
    let answer = api.put("/v1/data", "{nope}").await;
    assert_error(&answer, 400, "invalid_request");
    let answer = api.post("/v1/join", "[1]").await;
    assert_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn unknown_fields_are_refused_by_name() {
    let (_backend, _gateway, api) = socketio().await;
    for (method, path, body, field) in [
        ("POST", "/v1/emit", r#"{"event":"x","evnt":1}"#, "evnt"),
        (
            "POST",
            "/v1/emit",
            r#"{"event":"x","to":{"room":["a"]}}"#,
            "room",
        ),
        (
            "POST",
            "/v1/emit",
            r#"{"event":"x","except":{"sids":[]}}"#,
            "sids",
        ),
        ("POST", "/v1/emit", r#"{"event":"x","ack":true}"#, "ack"),
        ("POST", "/v1/join", r#"{"rooms":["a"],"room":"b"}"#, "room"),
        (
            "POST",
            "/v1/leave",
            r#"{"rooms":["a"],"sockets":[]}"#,
            "sockets",
        ),
        ("POST", "/v1/disconnect", r#"{"closed":true}"#, "closed"),
        (
            "PUT",
            "/v1/data",
            r#"{"sid":"a","data":1,"merge":true}"#,
            "merge",
        ),
        (
            "POST",
            "/v1/send",
            r#"{"sids":[],"data":[],"text":"x"}"#,
            "text",
        ),
    ] {
        let answer = api.call(method, path, Some(body)).await;
        let message = assert_error(&answer, 400, "invalid_request");
        assert!(
            message.contains(field),
            "{path} {body}: the message names `{field}`: {message}"
        );
    }
}

#[tokio::test]
async fn mistyped_fields_are_refused_with_their_path() {
    let (_backend, _gateway, api) = socketio().await;
    for (method, path, body, field) in [
        (
            "POST",
            "/v1/emit",
            r#"{"event":"x","to":{"rooms":[1]}}"#,
            "to.rooms[0]",
        ),
        (
            "POST",
            "/v1/emit",
            r#"{"event":"x","to":{"rooms":["a",{}]}}"#,
            "to.rooms[1]",
        ),
        (
            "POST",
            "/v1/emit",
            r#"{"event":"x","except":{"sockets":"a"}}"#,
            "except.sockets",
        ),
        ("POST", "/v1/emit", r#"{"event":"x","to":["a"]}"#, "to"),
        ("POST", "/v1/emit", r#"{"event":"x","to":[]}"#, "to"),
        (
            "POST",
            "/v1/emit",
            r#"{"event":"x","except":[["a"]]}"#,
            "except",
        ),
        ("POST", "/v1/emit", r#"{"event":"x","to":"room"}"#, "to"),
        (
            "POST",
            "/v1/join",
            r#"{"rooms":["a"],"to":[[],["r"]]}"#,
            "to",
        ),
        ("POST", "/v1/emit", r#"{"event":"x","args":"a"}"#, "args"),
        (
            "POST",
            "/v1/emit",
            r#"{"event":"x","args":{"a":1}}"#,
            "args",
        ),
        (
            "POST",
            "/v1/emit",
            r#"{"event":"x","endpoint":5}"#,
            "endpoint",
        ),
        (
            "POST",
            "/v1/emit",
            r#"{"event":"x","namespace":["/"]}"#,
            "namespace",
        ),
        (
            "POST",
            "/v1/emit",
            r#"{"event":"x","ack_timeout":5}"#,
            "ack_timeout",
        ),
        ("POST", "/v1/join", r#"{"rooms":"a"}"#, "rooms"),
        ("POST", "/v1/join", r#"{"rooms":["a",2]}"#, "rooms[1]"),
        ("POST", "/v1/leave", r#"{"rooms":[null]}"#, "rooms[0]"),
        ("POST", "/v1/disconnect", r#"{"close":"yes"}"#, "close"),
        (
            "POST",
            "/v1/disconnect",
            r#"{"to":{"sockets":[7]}}"#,
            "to.sockets[0]",
        ),
        ("PUT", "/v1/data", r#"{"sid":5,"data":1}"#, "sid"),
        ("POST", "/v1/send", r#"{"sids":"a","data":[]}"#, "sids"),
    ] {
        let answer = api.call(method, path, Some(body)).await;
        let message = assert_error(&answer, 400, "invalid_request");
        assert!(
            message.contains(&format!("`{field}`")),
            "{path} {body}: the message names `{field}`: {message}"
        );
    }
}

#[tokio::test]
async fn missing_required_fields_are_named() {
    let (_backend, _gateway, api) = socketio().await;
    for (method, path, body, field) in [
        ("POST", "/v1/emit", r#"{"args":[1]}"#, "event"),
        ("POST", "/v1/join", r#"{"to":{"rooms":["a"]}}"#, "rooms"),
        ("POST", "/v1/leave", r#"{}"#, "rooms"),
        ("PUT", "/v1/data", r#"{"data":1}"#, "sid"),
        ("PUT", "/v1/data", r#"{"sid":"a"}"#, "data"),
        ("POST", "/v1/send", r#"{"data":[]}"#, "sids"),
        ("POST", "/v1/send", r#"{"sids":[]}"#, "data"),
    ] {
        let answer = api.call(method, path, Some(body)).await;
        let message = assert_error(&answer, 400, "invalid_request");
        assert!(
            message.contains(field),
            "{path} {body}: the message names `{field}`: {message}"
        );
    }
    for path in ["/v1/join", "/v1/leave"] {
        let answer = api.post(path, r#"{"rooms":[]}"#).await;
        let message = assert_error(&answer, 400, "invalid_request");
        assert!(message.contains("rooms"), "{path}: {message}");
    }
}

#[tokio::test]
async fn an_event_name_must_be_a_string_or_a_number_clients_accept() {
    let backend = Backend::start(accept).await;
    let gateway = api::socketio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    let (mut client, _sid) = SioWs::connected(&gateway, "/", None).await;
    for event in [
        "{\"a\":1}",
        "[\"x\"]",
        "null",
        "true",
        "false",
        "\"connect\"",
        "\"disconnect\"",
        "\"connect_error\"",
    ] {
        for extra in ["", r#","ack_timeout":"1s""#] {
            let body = format!(r#"{{"event":{event},"args":[1]{extra}}}"#);
            let answer = api.post("/v1/emit", &body).await;
            let message = assert_error(&answer, 400, "invalid_request");
            assert!(message.contains("event"), "{body}: {message}");
        }
    }
    client.assert_silent(Duration::from_millis(300)).await;
    // Numbers are valid names.
    assert_eq!(api.emit(r#"{"event":7,"args":["n"]}"#).await, 1);
    assert_eq!(client.recv_text().await, r#"42[7,"n"]"#);
}

#[tokio::test]
async fn invalid_emits_are_refused_even_when_no_socket_is_targeted() {
    let (_backend, _gateway, api) = socketio().await;
    // Nobody is connected: the request is still checked, with or without acks.
    for body in [
        r#"{"event":"connect"}"#,
        r#"{"event":"connect","ack_timeout":"1s"}"#,
        r#"{"event":"x","args":[{"$binary":"!!"}]}"#,
        r#"{"event":"x","args":[{"$binary":"!!"}],"ack_timeout":"1s"}"#,
    ] {
        let answer = api.post("/v1/emit", body).await;
        assert_error(&answer, 400, "invalid_request");
    }
}

#[tokio::test]
async fn a_bad_ack_timeout_is_refused() {
    let (_backend, _gateway, api) = socketio().await;
    for timeout in [
        "\"soon\"",
        "\"\"",
        "\"-1s\"",
        "\"5\"",
        "\"2 fortnights\"",
        "5",
        "null",
    ] {
        let body = format!(r#"{{"event":"x","ack_timeout":{timeout}}}"#);
        let answer = api.post("/v1/emit", &body).await;
        if timeout == "null" {
            // `null` is the same as leaving it out.
            assert_eq!(sockets_count(&answer.text), 0, "{body}");
            continue;
        }
        let message = assert_error(&answer, 400, "invalid_request");
        assert!(message.contains("ack_timeout"), "{body}: {message}");
    }
}

#[tokio::test]
async fn a_binary_arg_with_bad_base64_is_refused_and_nothing_is_sent() {
    let backend = Backend::start(accept).await;
    let gateway = api::socketio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    let (mut client, _sid) = SioWs::connected(&gateway, "/", None).await;
    let answer = api
        .post(
            "/v1/emit",
            r#"{"event":"x","args":[{"$binary":"not base64!"}]}"#,
        )
        .await;
    let message = assert_error(&answer, 400, "invalid_request");
    assert!(message.contains("binary"), "{message}");
    client.assert_silent(Duration::from_millis(300)).await;
}

// ---- endpoints and namespaces -----------------------------------------------------------------------------

#[tokio::test]
async fn unknown_endpoints_are_not_found() {
    let (_backend, _gateway, api) = socketio().await;
    for (method, path, body) in [
        (
            "POST",
            "/v1/emit",
            Some(r#"{"endpoint":"/nope","event":"x"}"#),
        ),
        (
            "POST",
            "/v1/join",
            Some(r#"{"endpoint":"/nope","rooms":["r"]}"#),
        ),
        (
            "POST",
            "/v1/leave",
            Some(r#"{"endpoint":"/socket","rooms":["r"]}"#),
        ),
        (
            "POST",
            "/v1/disconnect",
            Some(r#"{"endpoint":"/socket.io/x"}"#),
        ),
        (
            "PUT",
            "/v1/data",
            Some(r#"{"endpoint":"/nope","sid":"a","data":1}"#),
        ),
        (
            "POST",
            "/v1/send",
            Some(r#"{"endpoint":"/nope","sids":[],"data":[]}"#),
        ),
        ("GET", "/v1/sockets?endpoint=/nope", None),
        ("GET", "/v1/rooms?endpoint=%2Fnope", None),
    ] {
        let answer = api.call(method, path, body).await;
        assert_error(&answer, 404, "not_found");
    }
    // The path is matched like the public listener matches it: a trailing slash is the same endpoint.
    let answer = api
        .post("/v1/emit", r#"{"endpoint":"/socket.io/","event":"x"}"#)
        .await;
    assert_eq!(sockets_count(&answer.text), 0);
}

#[tokio::test]
async fn the_endpoint_must_be_named_when_several_exist() {
    let backend = Backend::start(accept).await;
    let gateway = api::gateway_with(&format!(
        "{}{}",
        api::socketio_endpoint("/a", &backend.url(), ""),
        api::socketio_endpoint("/b", &backend.url(), "")
    ))
    .await;
    let api = Api::of(&gateway);
    for (method, path, body) in [
        ("POST", "/v1/emit", Some(r#"{"event":"x"}"#)),
        ("POST", "/v1/join", Some(r#"{"rooms":["r"]}"#)),
        ("POST", "/v1/leave", Some(r#"{"rooms":["r"]}"#)),
        ("POST", "/v1/disconnect", Some("{}")),
        ("PUT", "/v1/data", Some(r#"{"sid":"a","data":1}"#)),
        ("POST", "/v1/send", Some(r#"{"sids":[],"data":[]}"#)),
        ("GET", "/v1/sockets", None),
        ("GET", "/v1/rooms", None),
    ] {
        let answer = api.call(method, path, body).await;
        let message = assert_error(&answer, 400, "invalid_request");
        assert!(message.contains("endpoint"), "{path}: {message}");
    }
    for endpoint in ["/a", "/b"] {
        let body = format!(r#"{{"endpoint":"{endpoint}","event":"x"}}"#);
        assert_eq!(api.emit(&body).await, 0);
        let listing = api
            .get_ok(&format!("/v1/sockets?endpoint={endpoint}"))
            .await;
        assert_eq!(listing.to_string(), r#"{"sockets":[]}"#);
    }
}

#[tokio::test]
async fn namespaces_the_endpoint_does_not_serve_are_not_found() {
    let (_backend, _gateway, api) = socketio().await;
    for (method, path, body) in [
        (
            "POST",
            "/v1/emit",
            Some(r#"{"namespace":"/admin","event":"x"}"#),
        ),
        (
            "POST",
            "/v1/emit",
            Some(r#"{"namespace":"/admin","event":"x","ack_timeout":"1s"}"#),
        ),
        (
            "POST",
            "/v1/emit",
            Some(r#"{"namespace":"chat","event":"x"}"#),
        ),
        (
            "POST",
            "/v1/join",
            Some(r#"{"namespace":"/admin","rooms":["r"]}"#),
        ),
        (
            "POST",
            "/v1/leave",
            Some(r#"{"namespace":"/admin","rooms":["r"]}"#),
        ),
        ("POST", "/v1/disconnect", Some(r#"{"namespace":"/admin"}"#)),
        (
            "PUT",
            "/v1/data",
            Some(r#"{"namespace":"/admin","sid":"a","data":1}"#),
        ),
        ("GET", "/v1/sockets?namespace=/admin", None),
        ("GET", "/v1/rooms?namespace=%2Fadmin", None),
    ] {
        let answer = api.call(method, path, body).await;
        let message = assert_error(&answer, 404, "not_found");
        assert!(
            message.contains("admin") || message.contains("chat"),
            "{message}"
        );
    }
    // A served namespace nobody connected to yet is simply empty.
    assert_eq!(api.emit(r#"{"namespace":"/chat","event":"x"}"#).await, 0);
    assert!(api.sockets("namespace=/chat").await.is_empty());
    assert!(api.rooms("namespace=/chat").await.is_empty());
}

#[tokio::test]
async fn calls_for_the_other_protocol_are_bad_requests() {
    let backend = Backend::start(accept).await;
    let sio = api::socketio_gateway(&backend.url(), "").await;
    let answer = Api::of(&sio)
        .post("/v1/send", r#"{"sids":[],"data":["x"]}"#)
        .await;
    let message = assert_error(&answer, 400, "invalid_request");
    assert!(message.contains("engine.io"), "{message}");

    let eio_gateway = api::engineio_gateway(&backend.url(), "").await;
    let api = Api::of(&eio_gateway);
    for (method, path, body) in [
        ("POST", "/v1/emit", Some(r#"{"event":"x"}"#)),
        (
            "POST",
            "/v1/emit",
            Some(r#"{"event":"x","ack_timeout":"1s"}"#),
        ),
        ("POST", "/v1/join", Some(r#"{"rooms":["r"]}"#)),
        ("POST", "/v1/leave", Some(r#"{"rooms":["r"]}"#)),
        ("POST", "/v1/disconnect", Some("{}")),
        ("PUT", "/v1/data", Some(r#"{"sid":"a","data":1}"#)),
        ("GET", "/v1/sockets", None),
        ("GET", "/v1/rooms", None),
    ] {
        let answer = api.call(method, path, body).await;
        let message = assert_error(&answer, 400, "invalid_request");
        assert!(message.contains("socket.io"), "{path}: {message}");
    }
}

#[tokio::test]
async fn send_refuses_messages_that_are_neither_text_nor_binary() {
    let backend = Backend::start(accept).await;
    let gateway = api::engineio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    for (data, index) in [
        (r#"[5]"#, "data[0]"),
        (r#"["ok",null]"#, "data[1]"),
        (r#"["ok","ok",{"text":"x"}]"#, "data[2]"),
        (r#"[{"$binary":"!!"}]"#, "data[0]"),
        (r#"[{"$binary":"AQID","x":1}]"#, "data[0]"),
        (r#"[["x"]]"#, "data[0]"),
    ] {
        let body = format!(r#"{{"sids":[],"data":{data}}}"#);
        let answer = api.post("/v1/send", &body).await;
        let message = assert_error(&answer, 400, "invalid_request");
        assert!(message.contains(index), "{body}: {message}");
    }
}

#[tokio::test]
async fn putting_data_for_an_unknown_socket_is_not_found() {
    let backend = Backend::start(accept).await;
    let gateway = api::socketio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    let (_client, sid) = SioWs::connected(&gateway, "/", None).await;
    for (namespace, unknown) in [
        ("/", "AAAAAAAAAAAAAAAAAAAA"),
        ("/", "not a sid"),
        ("/", ""),
        ("/chat", sid.as_str()),
    ] {
        let body = format!(r#"{{"namespace":"{namespace}","sid":"{unknown}","data":1}}"#);
        let answer = api.put("/v1/data", &body).await;
        assert_error(&answer, 404, "not_found");
    }
    let body = format!(r#"{{"sid":"{sid}","data":1}}"#);
    assert_eq!(api.put("/v1/data", &body).await.text, "{}");
}

// ---- paths, methods, sizes ----------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_paths_are_not_found() {
    let (_backend, _gateway, api) = socketio().await;
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/v1"),
        ("GET", "/v1/"),
        ("POST", "/v1/nope"),
        ("POST", "/v1/emit/"),
        ("POST", "/v1/EMIT"),
        ("POST", "/v2/emit"),
        ("GET", "/metrics/x"),
        ("GET", "/socket.io/"),
    ] {
        let answer = api.call(method, path, Some("{}")).await;
        assert_error(&answer, 404, "not_found");
    }
}

#[tokio::test]
async fn wrong_methods_are_refused_with_the_allowed_one() {
    let (_backend, _gateway, api) = socketio().await;
    for (method, path, allowed) in [
        ("GET", "/v1/emit", "POST"),
        ("PUT", "/v1/emit", "POST"),
        ("GET", "/v1/join", "POST"),
        ("DELETE", "/v1/leave", "POST"),
        ("GET", "/v1/disconnect", "POST"),
        ("POST", "/v1/data", "PUT"),
        ("GET", "/v1/data", "PUT"),
        ("GET", "/v1/send", "POST"),
        ("POST", "/v1/sockets", "GET"),
        ("DELETE", "/v1/rooms", "GET"),
        ("POST", "/metrics", "GET"),
    ] {
        let answer = api.call(method, path, Some("{}")).await;
        let message = assert_error(&answer, 405, "method_not_allowed");
        assert!(message.contains(allowed), "{method} {path}: {message}");
        assert_eq!(
            answer.header("allow"),
            Some(allowed),
            "{method} {path}: a 405 lists the allowed method"
        );
    }
}

#[tokio::test]
async fn bodies_over_4_mib_are_too_large() {
    let backend = Backend::start(accept).await;
    // A 4 MiB event is more than the default max_buffer (1 MiB) lets one session hold: it would close the client's
    // session. This test is about the API's body limit, so the client may hold that much.
    let gateway = api::socketio_gateway(&backend.url(), "max_buffer = 5242880").await;
    let api = Api::of(&gateway);
    let (mut client, _sid) = SioWs::connected(&gateway, "/", None).await;
    const LIMIT: usize = 4 * 1024 * 1024;

    // Just under the limit is fine, and arrives.
    let wrapper = r#"{"event":"big","args":[""]}"#.len();
    let text = "a".repeat(LIMIT - wrapper);
    let body = format!(r#"{{"event":"big","args":["{text}"]}}"#);
    assert_eq!(body.len(), LIMIT);
    assert_eq!(api.emit(&body).await, 1);
    let received = client.recv_text().await;
    assert_eq!(received.len(), 2 + r#"["big",""]"#.len() + text.len());

    // One byte more is refused, whatever the call, and nothing reaches the client.
    let body = format!(r#"{{"event":"big","args":["{text}a"]}}"#);
    assert_eq!(body.len(), LIMIT + 1);
    for (method, path) in [
        ("POST", "/v1/emit"),
        ("POST", "/v1/join"),
        ("PUT", "/v1/data"),
        ("POST", "/v1/send"),
    ] {
        let answer = api.call(method, path, Some(&body)).await;
        let message = assert_error(&answer, 413, "payload_too_large");
        assert!(message.contains(&LIMIT.to_string()), "{message}");
    }
    // Far more, too.
    let huge = "x".repeat(16 * 1024 * 1024);
    let answer = api.post("/v1/emit", &huge).await;
    assert_error(&answer, 413, "payload_too_large");
    client.assert_silent(Duration::from_millis(300)).await;
}
