//! The fields a cluster adds to API answers: `"nodes": N` (the nodes that answered, this one included) and
//! `"partial": true` when a live node did not answer within `peer_timeout`. A single node adds neither.

use crate::socketio::ops::Coverage;
use serde::Serialize;

/// `nodes` and `partial`, flattened into an answer.
#[derive(Serialize, Default)]
pub struct CoverageFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    nodes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partial: Option<bool>,
}

impl From<Option<Coverage>> for CoverageFields {
    fn from(coverage: Option<Coverage>) -> Self {
        coverage.map_or_else(Self::default, |coverage| Self {
            nodes: Some(coverage.nodes),
            partial: coverage.partial.then_some(true),
        })
    }
}

/// `{"sockets":N}` with the coverage fields.
#[derive(Serialize)]
pub struct SocketCount {
    sockets: usize,
    #[serde(flatten)]
    coverage: CoverageFields,
}

impl SocketCount {
    /// The JSON answer for `sockets` counted over `coverage`.
    pub fn json(sockets: usize, coverage: Option<Coverage>) -> String {
        serde_json::to_string(&Self {
            sockets,
            coverage: coverage.into(),
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_nodes_add_nothing_clusters_add_nodes_and_partial_only_when_partial() {
        assert_eq!(SocketCount::json(3, None), r#"{"sockets":3}"#);
        let complete = Coverage {
            nodes: 2,
            partial: false,
        };
        assert_eq!(
            SocketCount::json(2, Some(complete)),
            r#"{"sockets":2,"nodes":2}"#
        );
        let partial = Coverage {
            nodes: 1,
            partial: true,
        };
        assert_eq!(
            SocketCount::json(1, Some(partial)),
            r#"{"sockets":1,"nodes":1,"partial":true}"#
        );
    }
}
