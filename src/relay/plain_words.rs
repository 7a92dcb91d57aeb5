//! A failed webhook call in plain words, for an operator reading the log: what went wrong and, where one is
//! likely, what to check (`connection refused (is the backend running?)`), without the URL (the caller names it).

use super::webhook::HookError;
use iogate_hook_client::ErrorClass;
use std::time::Duration;

/// `error` in plain words; `timeout` is the time the call was allowed.
pub fn describe(error: &HookError, timeout: Duration) -> String {
    match error {
        HookError::Status(status) => describe_status(*status),
        HookError::Transport(error) => {
            let detail = detail_of(&error.to_string());
            match error.class() {
                ErrorClass::Connect => describe_connect(&detail),
                ErrorClass::Timeout => format!(
                    "no answer within {} (webhook_timeout; is the backend overloaded or stuck?)",
                    humantime::format_duration(timeout)
                ),
                ErrorClass::Closed => {
                    "the backend closed the connection without answering".to_string()
                }
                ErrorClass::Interrupted => format!("the connection broke mid-answer: {detail}"),
                ErrorClass::Malformed => format!("the answer is not valid HTTP: {detail}"),
                ErrorClass::TooLarge => format!("the answer is too large: {detail}"),
                ErrorClass::Other => detail,
            }
        }
    }
}

/// A failure to connect: refused, a host name that does not resolve, a TLS handshake that failed, or else as
/// the client said it.
fn describe_connect(detail: &str) -> String {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("connection refused") {
        "connection refused (is the backend running?)".to_string()
    } else if lower.contains("lookup")
        || lower.contains("dns")
        || lower.contains("name or service not known")
        || lower.contains("no address associated")
        || lower.contains("nodename nor servname")
    {
        "host name not found (check the host in the webhook URL)".to_string()
    } else if [
        "certificate",
        "tls",
        "handshake",
        "alert",
        "corrupt message",
    ]
    .iter()
    .any(|word| lower.contains(word))
    {
        format!(
            "TLS handshake failed ({detail}; is it an https server with a trusted certificate?)"
        )
    } else if lower.contains("unreachable") {
        format!("network unreachable ({detail})")
    } else {
        format!("cannot connect ({detail})")
    }
}

/// A non-2xx answer, with what it usually means.
fn describe_status(status: u16) -> String {
    let hint = match status {
        300..=399 => " (redirects are not followed: use the final URL)",
        401 | 403 => " (does the backend expect another secret or signature?)",
        404 | 405 => " (check the path of the webhook URL)",
        500..=599 => " (the backend failed: see its log)",
        _ => "",
    };
    format!("answered HTTP {status}{hint}")
}

/// The client's message without its leading `POST <url>: ` (the caller names the URL once) and the
/// `cannot connect: ` the plain words replace.
fn detail_of(message: &str) -> String {
    let detail = match message.strip_prefix("POST ") {
        Some(rest) => rest.split_once(": ").map_or(rest, |(_, after)| after),
        None => message,
    };
    // What the https client puts before the cause.
    let detail = detail
        .strip_prefix("error sending request: ")
        .unwrap_or(detail);
    let detail = detail
        .strip_prefix("client error (Connect): ")
        .unwrap_or(detail);
    detail
        .strip_prefix("cannot connect: ")
        .unwrap_or(detail)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use iogate_hook_client::SendError;

    fn transport(class: ErrorClass, message: &str) -> HookError {
        HookError::Transport(SendError::new(class, message))
    }

    fn words(error: &HookError) -> String {
        describe(error, Duration::from_secs(5))
    }

    #[test]
    fn a_refused_connection_asks_whether_the_backend_runs() {
        let error = transport(
            ErrorClass::Connect,
            "POST http://127.0.0.1:5000/iogate: cannot connect: Connection refused (os error 111)",
        );
        assert_eq!(
            words(&error),
            "connection refused (is the backend running?)"
        );
    }

    #[test]
    fn a_host_name_that_does_not_resolve_is_named_so() {
        let error = transport(
            ErrorClass::Connect,
            "POST http://backend.invalid/hook: cannot connect: failed to lookup address information: Name or service not known",
        );
        assert_eq!(
            words(&error),
            "host name not found (check the host in the webhook URL)"
        );
    }

    #[test]
    fn a_tls_failure_keeps_its_cause() {
        let error = transport(
            ErrorClass::Connect,
            "POST https://h/hook: error sending request: client error (Connect): invalid peer certificate: UnknownIssuer",
        );
        assert_eq!(
            words(&error),
            "TLS handshake failed (invalid peer certificate: UnknownIssuer; is it an https server with a trusted certificate?)"
        );
        // An https URL whose server speaks plain HTTP.
        let error = transport(
            ErrorClass::Connect,
            "POST https://127.0.0.1:8081/hook: error sending request: client error (Connect): received corrupt message of type InvalidContentType",
        );
        assert!(
            words(&error).starts_with("TLS handshake failed (received corrupt message"),
            "{}",
            words(&error)
        );
    }

    #[test]
    fn a_timeout_names_the_time_allowed() {
        let error = transport(ErrorClass::Timeout, "POST http://h/: no answer within 5s");
        assert!(
            words(&error).starts_with("no answer within 5s"),
            "{}",
            words(&error)
        );
    }

    #[test]
    fn statuses_carry_a_hint_where_one_is_likely() {
        assert_eq!(
            words(&HookError::Status(404)),
            "answered HTTP 404 (check the path of the webhook URL)"
        );
        assert_eq!(
            words(&HookError::Status(503)),
            "answered HTTP 503 (the backend failed: see its log)"
        );
        assert_eq!(words(&HookError::Status(422)), "answered HTTP 422");
    }

    #[test]
    fn other_failures_keep_the_message_without_the_url() {
        let error = transport(
            ErrorClass::Closed,
            "POST http://h/: connection closed before any response",
        );
        assert_eq!(
            words(&error),
            "the backend closed the connection without answering"
        );
        let error = transport(ErrorClass::Malformed, "POST http://h/: bad status line");
        assert_eq!(
            words(&error),
            "the answer is not valid HTTP: bad status line"
        );
    }
}
