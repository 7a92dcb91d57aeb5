//! What an operator reads from the real `iogate` binary: one startup line per endpoint, the push API and the
//! listener; a backend that is down told once in plain words with its URL, however many clients it refuses (so
//! are an https URL whose server speaks plain HTTP and a wrong path); and no ANSI colour codes where the output is
//! not a terminal (a pipe here, as under a service manager, `docker logs` or IIS's stdout log file), nor on a
//! terminal when `NO_COLOR` is set.
use crate::common;
use common::iogate_process::IogateProcess;
use common::{Backend, Reply, eio, scratch};
use std::process::Command;
use std::time::Duration;

const ESC: u8 = 0x1b;

fn assert_no_escape(output: &[u8]) {
    assert!(
        !output.contains(&ESC),
        "an escape byte in: {}",
        String::from_utf8_lossy(output)
    );
}

#[tokio::test]
async fn startup_lines_name_each_endpoint_the_api_and_the_listener() {
    let backend = Backend::echo().await;
    let api_port = scratch::free_port();
    let config = format!(
        "[api]\nlisten = \"127.0.0.1:{api_port}\"\ntoken = \"startup-TOKEN\"\n\
         [[endpoint]]\npath = \"/socket.io\"\nwebhook = \"{url}\"\nsecret = \"signing-SECRET\"\n\
         [endpoint.recovery]\nmax_disconnection = \"2m\"\n\
         [[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{url}\"\ntransports = [\"websocket\"]\n",
        url = backend.url()
    );
    let iogate = IogateProcess::start(&config, &[]).await;
    let lines = iogate
        .wait_for_line("iogate listening on", Duration::from_secs(5))
        .await;
    let expected = [
        format!(
            "endpoint /socket.io: socket.io, webhook {}, transports polling+websocket, recovery up to 2m",
            backend.url()
        ),
        format!(
            "endpoint /engine.io: engine.io, webhook {}, transports websocket, unsigned",
            backend.url()
        ),
        format!("push API on http://127.0.0.1:{api_port}"),
        format!("iogate listening on http://127.0.0.1:{}", iogate.port),
    ];
    let mut at = 0;
    for wanted in &expected {
        let found = lines[at..]
            .iter()
            .position(|line| line.contains(wanted.as_str()))
            .unwrap_or_else(|| panic!("no line {wanted:?} after line {at}: {lines:#?}"));
        at += found + 1;
    }
    let text = iogate.text();
    assert!(
        !text.contains("SECRET") && !text.contains("TOKEN"),
        "{text}"
    );
    assert_no_escape(&iogate.bytes());
}

/// Socket.IO clients that each complete the handshake and ask to connect `/`; each gets a CONNECT_ERROR.
async fn refused_clients(port: u16, count: usize) {
    let base = format!("http://127.0.0.1:{port}/socket.io/");
    for _ in 0..count {
        let (sid, _) = eio::handshake(&base).await;
        let sent = eio::post(&eio::poll_url(&base, &sid), "40").await;
        assert_eq!(sent.status, 200, "{}", sent.text);
        let answer = eio::get(&eio::poll_url(&base, &sid)).await;
        assert!(
            answer
                .text
                .contains("44{\"message\":\"Connection refused\"}"),
            "{}",
            answer.text
        );
    }
}

#[tokio::test]
async fn a_backend_that_is_down_is_told_once_in_plain_words() {
    let closed = scratch::free_port();
    let webhook = format!("http://127.0.0.1:{closed}/iogate");
    let config = format!("[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"{webhook}\"\n");
    let iogate = IogateProcess::start(&config, &[]).await;
    refused_clients(iogate.port, 5).await;
    let plain = format!("webhook {webhook}: connection refused (is the backend running?)");
    iogate.wait_for_line(&plain, Duration::from_secs(5)).await;
    // Time for any further line the refusals could have caused.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lines = iogate.lines();
    let telling: Vec<&String> = lines.iter().filter(|l| l.contains(&webhook)).collect();
    assert_eq!(
        telling.len(),
        2,
        "the startup line and one failure line: {lines:#?}"
    );
    assert!(telling[0].contains("endpoint /socket.io"), "{lines:#?}");
    assert!(telling[1].contains(&plain), "{lines:#?}");
    assert!(
        !lines.iter().any(|line| line.contains("os error")),
        "no stack of errors: {lines:#?}"
    );
    assert_no_escape(&iogate.bytes());
}

#[tokio::test]
async fn a_tls_failure_and_a_wrong_path_are_told_in_plain_words() {
    let plain_http = Backend::echo().await;
    let not_found = Backend::start(|_| Reply::status(404)).await;
    let tls_url = plain_http.url().replacen("http://", "https://", 1);
    let config = format!(
        "[[endpoint]]\npath = \"/tls\"\nprotocol = \"engine.io\"\nwebhook = \"{tls_url}\"\n\
         [[endpoint]]\npath = \"/missing\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\n",
        not_found.url()
    );
    let iogate = IogateProcess::start(&config, &[]).await;
    for path in ["/tls/", "/missing/", "/tls/", "/missing/"] {
        let answer = eio::get(&format!(
            "http://127.0.0.1:{}{path}?EIO=4&transport=polling",
            iogate.port
        ))
        .await;
        assert_eq!(answer.status, 502, "{path}: {}", answer.text);
    }
    let tls = format!("webhook {tls_url}: TLS handshake failed (");
    let missing = format!(
        "webhook {}: answered HTTP 404 (check the path of the webhook URL)",
        not_found.url()
    );
    iogate.wait_for_line(&tls, Duration::from_secs(5)).await;
    let lines = iogate.wait_for_line(&missing, Duration::from_secs(5)).await;
    for told in [&tls, &missing] {
        assert_eq!(
            lines
                .iter()
                .filter(|line| line.contains(told.as_str()))
                .count(),
            1,
            "{told}: {lines:#?}"
        );
    }
}

#[tokio::test]
async fn no_colour_in_a_pipe_even_for_warnings() {
    let closed = scratch::free_port();
    let config = format!(
        "[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"http://127.0.0.1:{closed}/iogate\"\n"
    );
    let iogate = IogateProcess::start(&config, &[]).await;
    refused_clients(iogate.port, 1).await;
    let lines = iogate
        .wait_for_line("connection refused", Duration::from_secs(5))
        .await;
    assert!(
        lines.iter().any(|line| line.contains(" WARN ")),
        "{lines:#?}"
    );
    assert_no_escape(&iogate.bytes());
}

/// The output of iogate run on a terminal (a pseudo-terminal made by util-linux's `script`), failing at once on
/// a port already taken (its error is logged), with `no_color` as `NO_COLOR` when given.
fn on_a_terminal(no_color: Option<&str>) -> Vec<u8> {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let dir = scratch::fresh_dir("terminal-colour");
    let config = dir.join("iogate.toml");
    std::fs::write(
        &config,
        "[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"http://127.0.0.1:9/iogate\"\n",
    )
    .expect("write the config");
    let command = format!(
        "{} --config {} --listen 127.0.0.1:{port}",
        env!("CARGO_BIN_EXE_iogate"),
        config.display()
    );
    let mut script = Command::new("script");
    script
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR");
    if let Some(value) = no_color {
        script.env("NO_COLOR", value);
    }
    let output = script
        .output()
        .expect("util-linux `script` runs (package bsdutils)");
    drop(taken);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("cannot listen on"), "{text}");
    output.stdout
}

#[test]
fn colour_on_a_terminal_unless_no_color_is_set() {
    assert!(
        on_a_terminal(None).contains(&ESC),
        "a terminal gets colour: the check below would see it"
    );
    assert_no_escape(&on_a_terminal(Some("1")));
}
