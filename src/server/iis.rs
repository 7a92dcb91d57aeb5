//! Running under IIS: the ASP.NET Core Module's token, app path base and shutdown event, and the ports IIS
//! hands over.

use http::{HeaderMap, Method};
use std::borrow::Cow;
use std::net::SocketAddr;

/// The header carrying the ASP.NET Core Module's pairing token.
pub const TOKEN_HEADER: &str = "ms-aspnetcore-token";

/// What the ASP.NET Core Module (or HttpPlatformHandler) told the process through its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IisSettings {
    /// `ASPNETCORE_TOKEN`: every request must carry it as `MS-ASPNETCORE-TOKEN`.
    pub token: Option<String>,
    /// `ASPNETCORE_APPL_PATH`: the IIS application's virtual path, e.g. `/myApp` (never `/`).
    pub path_base: Option<String>,
}

impl IisSettings {
    /// Reads the settings through `env`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let token = env("ASPNETCORE_TOKEN").filter(|t| !t.is_empty());
        let path_base = env("ASPNETCORE_APPL_PATH")
            .map(|p| format!("/{}", p.trim_matches('/')))
            .filter(|p| p != "/");
        Self { token, path_base }
    }

    /// Whether a request passes the token check (always, when no token is set).
    pub fn token_ok(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        headers.get(TOKEN_HEADER).is_some_and(|v| {
            crate::relay::signing::constant_time_eq(v.as_bytes(), token.as_bytes())
        })
    }

    /// Whether a request is the module's shutdown event (`POST {base}/iisintegration`, `MS-ASPNETCORE-EVENT: shutdown`).
    /// Only under the module (a token is set): without its token nothing shows that the request comes from IIS.
    pub fn is_shutdown_event(&self, method: &Method, path: &str, headers: &HeaderMap) -> bool {
        if self.token.is_none() {
            return false;
        }
        let is_event = headers
            .get("ms-aspnetcore-event")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"shutdown"));
        *method == Method::POST
            && is_event
            && self
                .candidates(path)
                .iter()
                .any(|p| p.eq_ignore_ascii_case("/iisintegration"))
    }

    /// The paths a request path may mean: as is, and with the path base removed or added (the base may or may
    /// not be on incoming paths, depending on how IIS forwards). Only a path base added allocates.
    pub fn candidates<'p>(&self, path: &'p str) -> Candidates<'p> {
        let other = self
            .path_base
            .as_deref()
            .map(|base| match strip_base(path, base) {
                Some(stripped) => Cow::Borrowed(stripped),
                None => Cow::Owned(format!("{base}{path}")),
            });
        Candidates { as_is: path, other }
    }
}

/// The paths a request path may mean ([`IisSettings::candidates`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidates<'p> {
    /// The path as it came.
    as_is: &'p str,
    /// The path with the path base removed, or added (none without a path base).
    other: Option<Cow<'p, str>>,
}

impl Candidates<'_> {
    /// Every path, the path as it came first.
    pub fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        std::iter::once(self.as_is).chain(self.other.as_deref())
    }
}

fn strip_base<'p>(path: &'p str, base: &str) -> Option<&'p str> {
    let head = path.get(..base.len())?;
    if !head.eq_ignore_ascii_case(base) {
        return None;
    }
    match &path[base.len()..] {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// The listen address from the environment: `ASPNETCORE_PORT` or `HTTP_PLATFORM_PORT` (IIS: loopback), then
/// `PORT` (all interfaces). `Err` names the variable holding something that is not a port.
pub fn listen_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<SocketAddr>, String> {
    for (name, loopback) in [
        ("ASPNETCORE_PORT", true),
        ("HTTP_PLATFORM_PORT", true),
        ("PORT", false),
    ] {
        let Some(value) = env(name).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let port: u16 = value
            .trim()
            .parse()
            .map_err(|_| format!("{name}={value:?} is not a port number"))?;
        let ip = if loopback {
            [127, 0, 0, 1]
        } else {
            [0, 0, 0, 0]
        };
        return Ok(Some(SocketAddr::from((ip, port))));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn ports_in_precedence_order() {
        let both = [
            ("PORT", "9000"),
            ("HTTP_PLATFORM_PORT", "9001"),
            ("ASPNETCORE_PORT", "9002"),
        ];
        assert_eq!(
            listen_from_env(&env(&both)).unwrap(),
            Some("127.0.0.1:9002".parse().unwrap())
        );
        assert_eq!(
            listen_from_env(&env(&[("HTTP_PLATFORM_PORT", "9001")])).unwrap(),
            Some("127.0.0.1:9001".parse().unwrap())
        );
        assert_eq!(
            listen_from_env(&env(&[("PORT", "9000")])).unwrap(),
            Some("0.0.0.0:9000".parse().unwrap())
        );
        assert_eq!(listen_from_env(&env(&[])).unwrap(), None);
        let err = listen_from_env(&env(&[("ASPNETCORE_PORT", "http")])).unwrap_err();
        assert!(err.contains("ASPNETCORE_PORT"), "{err}");
    }

    #[test]
    fn path_base_may_or_may_not_be_on_the_path() {
        let iis = IisSettings::from_env(&env(&[("ASPNETCORE_APPL_PATH", "/myApp/")]));
        assert_eq!(iis.path_base.as_deref(), Some("/myApp"));
        assert_eq!(
            iis.candidates("/myApp/socket/").iter().collect::<Vec<_>>(),
            vec!["/myApp/socket/", "/socket/"]
        );
        assert_eq!(
            iis.candidates("/MYAPP/socket").iter().collect::<Vec<_>>(),
            vec!["/MYAPP/socket", "/socket"]
        );
        assert_eq!(
            iis.candidates("/socket/").iter().collect::<Vec<_>>(),
            vec!["/socket/", "/myApp/socket/"]
        );
        assert_eq!(
            iis.candidates("/myAppX/socket").iter().collect::<Vec<_>>(),
            vec!["/myAppX/socket", "/myApp/myAppX/socket"]
        );
        assert_eq!(
            IisSettings::from_env(&env(&[("ASPNETCORE_APPL_PATH", "/")])).path_base,
            None
        );
    }

    #[test]
    fn token_and_shutdown_event() {
        let iis = IisSettings::from_env(&env(&[
            ("ASPNETCORE_TOKEN", "abc"),
            ("ASPNETCORE_APPL_PATH", "/myApp"),
        ]));
        let mut headers = HeaderMap::new();
        assert!(!iis.token_ok(&headers));
        headers.insert("ms-aspnetcore-token", HeaderValue::from_static("abd"));
        assert!(!iis.token_ok(&headers));
        headers.insert("ms-aspnetcore-token", HeaderValue::from_static("abc"));
        assert!(iis.token_ok(&headers));
        headers.insert("ms-aspnetcore-event", HeaderValue::from_static("shutdown"));
        assert!(iis.is_shutdown_event(&Method::POST, "/myApp/iisintegration", &headers));
        assert!(iis.is_shutdown_event(&Method::POST, "/iisintegration", &headers));
        assert!(!iis.is_shutdown_event(&Method::GET, "/myApp/iisintegration", &headers));
        assert!(IisSettings::default().token_ok(&HeaderMap::new()));
        let without_token = IisSettings::from_env(&env(&[("ASPNETCORE_APPL_PATH", "/myApp")]));
        assert!(!without_token.is_shutdown_event(&Method::POST, "/myApp/iisintegration", &headers));
        assert!(!IisSettings::default().is_shutdown_event(
            &Method::POST,
            "/iisintegration",
            &headers
        ));
    }
}
