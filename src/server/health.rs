//! `/healthz` and `/readyz`: the answers both listeners give (the public one and the push API's).

use crate::engineio::http::{Body, complete};
use http::Response;

/// A health probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `/healthz`: the process serves requests.
    Live,
    /// `/readyz`: the process takes new sessions (not while a shutdown drains them) and, in a cluster, reaches
    /// the other nodes through Redis.
    Ready,
}

/// What `/readyz` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Serving.
    Ready,
    /// A shutdown has begun.
    Draining,
    /// A cluster node whose Redis does not answer: it serves its own sessions, but nothing crosses nodes.
    RedisLost,
}

impl Probe {
    /// The probe at `path`, if it is one.
    pub fn at(path: &str) -> Option<Self> {
        match path {
            "/healthz" => Some(Self::Live),
            "/readyz" => Some(Self::Ready),
            _ => None,
        }
    }

    /// The probe at one of `paths` (the forms a request's path may take), `/healthz` first.
    pub fn among<'p>(paths: impl Iterator<Item = &'p str> + Clone) -> Option<Self> {
        [Self::Live, Self::Ready]
            .into_iter()
            .find(|probe| paths.clone().any(|path| Self::at(path) == Some(*probe)))
    }

    /// The answer, given the process's readiness.
    pub fn answer(self, readiness: Readiness) -> Response<Body> {
        let (status, body) = match (self, readiness) {
            (Self::Live, _) => (200, "ok"),
            (Self::Ready, Readiness::Draining) => (503, "draining"),
            (Self::Ready, Readiness::RedisLost) => (503, "redis unreachable"),
            (Self::Ready, Readiness::Ready) => (200, "ready"),
        };
        complete(status, "text/plain; charset=UTF-8", body)
    }
}

#[cfg(test)]
mod tests {
    use super::{Probe, Readiness};

    #[test]
    fn probes_are_found_by_path_liveness_first() {
        assert_eq!(Probe::at("/healthz"), Some(Probe::Live));
        assert_eq!(Probe::at("/readyz"), Some(Probe::Ready));
        assert_eq!(Probe::at("/readyz/"), None);
        assert_eq!(
            Probe::among(["/readyz", "/healthz"].into_iter()),
            Some(Probe::Live)
        );
        assert_eq!(Probe::among(["/x"].into_iter()), None);
    }

    #[test]
    fn readiness_follows_draining_and_redis() {
        assert_eq!(Probe::Ready.answer(Readiness::Draining).status(), 503);
        assert_eq!(Probe::Ready.answer(Readiness::RedisLost).status(), 503);
        assert_eq!(Probe::Ready.answer(Readiness::Ready).status(), 200);
        assert_eq!(Probe::Live.answer(Readiness::Draining).status(), 200);
        assert_eq!(Probe::Live.answer(Readiness::RedisLost).status(), 200);
    }
}
