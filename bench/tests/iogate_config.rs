//! `bench-loadgen iogate-config` prints the config the benchmark scenarios start iogate with, filled in from its
//! arguments, and refuses incomplete or malformed arguments with usage and exit status 2.

use std::process::{Command, Output};

fn iogate_config(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bench-loadgen"))
        .arg("iogate-config")
        .args(args)
        .output()
        .expect("bench-loadgen runs")
}

#[test]
fn prints_the_scenarios_config_with_the_given_ports_and_webhook() {
    let output = iogate_config(&[
        "--port",
        "41001",
        "--api-port",
        "41002",
        "--webhook",
        "http://127.0.0.1:41003/hook",
    ]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    for line in [
        "[server]\nlisten = \"127.0.0.1:41001\"",
        "[api]\nlisten = \"127.0.0.1:41002\"\ntoken = \"bench-token\"",
        "webhook = \"http://127.0.0.1:41003/hook\"",
        "ping_interval = \"25000ms\"\nping_timeout = \"20000ms\"",
        "transports = [\"polling\", \"websocket\"]",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
}

#[test]
fn refuses_missing_or_bad_arguments() {
    for args in [
        &["--port", "41001", "--api-port", "41002"][..],
        &["--port", "not-a-port", "--api-port", "1", "--webhook", "x"][..],
        &[
            "--port",
            "1",
            "--api-port",
            "2",
            "--webhook",
            "x",
            "--extra",
        ][..],
        &["--port"][..],
    ] {
        let output = iogate_config(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(output.stdout.is_empty(), "{args:?} printed a config");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("usage:"), "{args:?}: {stderr}");
    }
}
