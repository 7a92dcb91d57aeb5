//! Socket.IO 0.9 clients on Socket.IO sessions: their messages become the packets a socket.io 1.x/2.x client
//! (protocol v4) would send, and every packet for them becomes a 0.9 message. So namespaces, rooms, acks,
//! webhooks and the push API serve 0.9 clients unchanged. Endpoints are namespaces (`""` is `/`); `message` and
//! `json` messages arrive as `message` events; binary attachments reach 0.9 clients as base64 strings.

use super::binary::placeholders_to_base64;
use super::outgoing::array_items;
use super::packet::{self, Packet as SioPacket, PacketKind, is_valid_event_name, join_array};
use super::sio09_message::{self as message, Sio09Kind, Sio09Message};
use crate::engineio::sio09::{Decoded, Sio09Codec};
use crate::engineio::{DecodeError, Incoming, Message, Packet, PacketType, Text};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

/// What a 0.9 client is told when the server ends its session: an error without reason, advice `reconnect`.
const SERVER_CLOSED: &str = "7:::+0";

/// The translation between Socket.IO sessions and 0.9 messages.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sio09Translator;

impl Sio09Codec for Sio09Translator {
    fn encode(&self, packets: &[Packet]) -> Vec<String> {
        let mut messages = Vec::with_capacity(packets.len());
        let mut at = 0;
        while at < packets.len() {
            let packet = &packets[at];
            at += 1;
            let Packet::Text(text) = packet else {
                // An attachment whose packet was not translated.
                continue;
            };
            match packet.kind() {
                // The server ended the session (shutdown, ping timeout...): an error with the advice `reconnect`,
                // which 0.9 clients obey; `0::` would tell them they were booted, and they would stay away. A
                // socket the backend disconnects got its `0::` before this.
                PacketType::Close => messages.push(SERVER_CLOSED.to_string()),
                PacketType::Ping => messages.push("2::".to_string()),
                PacketType::Noop => messages.push("8::".to_string()),
                PacketType::Message => {
                    let Ok(sio) = packet::decode(&text.as_str()[1..]) else {
                        continue;
                    };
                    let attachments: Vec<Bytes> = packets[at..]
                        .iter()
                        .take(sio.attachments)
                        .filter_map(|p| match p {
                            Packet::Binary(data) => Some(data.clone()),
                            Packet::Text(_) => None,
                        })
                        .collect();
                    at += attachments.len();
                    if let Some(message) = outgoing(&sio, &attachments) {
                        messages.push(message);
                    }
                }
                // The open packet (the 0.9 handshake answered it), pongs and upgrades mean nothing in 0.9.
                PacketType::Open | PacketType::Pong | PacketType::Upgrade => {}
            }
        }
        messages
    }

    fn decode(&self, text: &str) -> Result<Decoded, DecodeError> {
        let parsed = message::parse(text).map_err(DecodeError::Sio09)?;
        incoming(&parsed)
    }

    fn refuses(&self, packet: &Packet) -> bool {
        // A CONNECT_ERROR for `/` (protocol v4: `44` then the reason, no namespace).
        match packet {
            Packet::Text(text) => {
                let bytes = text.as_bytes();
                bytes.starts_with(b"44") && bytes.get(2) != Some(&b'/')
            }
            Packet::Binary(_) => false,
        }
    }
}

/// The 0.9 endpoint of a namespace: `""` for `/`.
fn endpoint_of(namespace: &str) -> &str {
    if namespace == "/" { "" } else { namespace }
}

/// The 0.9 message for a packet going to the client; `None` for what 0.9 cannot express.
fn outgoing(sio: &SioPacket, attachments: &[Bytes]) -> Option<String> {
    let endpoint = endpoint_of(&sio.namespace);
    let payload = match &sio.payload {
        Some(raw) if !attachments.is_empty() => {
            placeholders_to_base64(raw.get(), attachments).ok()?
        }
        Some(raw) => raw.get().to_string(),
        None => String::new(),
    };
    Some(match sio.kind {
        PacketKind::Connect => message::encode(Sio09Kind::Connect, None, false, endpoint, None),
        PacketKind::Disconnect => {
            message::encode(Sio09Kind::Disconnect, None, false, endpoint, None)
        }
        // 0.9 errors carry a reason from a fixed list: a refused namespace is `unauthorized` (2).
        PacketKind::ConnectError => {
            message::encode(Sio09Kind::Error, None, false, endpoint, Some("2"))
        }
        PacketKind::Event | PacketKind::BinaryEvent => {
            let items = array_items(&payload)?;
            let (name, args) = items.split_first()?;
            let name = if name.get().starts_with('"') {
                name.get().to_string()
            } else {
                serde_json::to_string(name.get()).ok()?
            };
            let data = if args.is_empty() {
                format!("{{\"name\":{name}}}")
            } else {
                format!("{{\"name\":{name},\"args\":{}}}", join_array(args))
            };
            message::encode(Sio09Kind::Event, sio.id, true, endpoint, Some(&data))
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            let id = sio.id?;
            let empty = array_items(&payload).is_none_or(|args| args.is_empty());
            let data = if empty {
                id.to_string()
            } else {
                format!("{id}+{payload}")
            };
            message::encode(Sio09Kind::Ack, None, false, endpoint, Some(&data))
        }
    })
}

#[derive(Deserialize)]
struct Sio09Event<'a> {
    #[serde(borrow)]
    name: &'a RawValue,
    #[serde(borrow, default)]
    args: Option<Vec<&'a RawValue>>,
}

fn sio_message(
    kind: PacketKind,
    namespace: &str,
    id: Option<u64>,
    payload: Option<&str>,
) -> Incoming {
    let text = packet::encode(kind, namespace, 0, id, payload);
    Incoming::Message(Message::Text(Text::from(text)))
}

/// What a 0.9 message from the client stands for, as protocol v4 packets.
fn incoming(parsed: &Sio09Message<'_>) -> Result<Decoded, DecodeError> {
    let (path, query) = match parsed.endpoint.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (parsed.endpoint, None),
    };
    if !path.is_empty() && !path.starts_with('/') {
        return Err(DecodeError::Sio09("endpoint does not start with /"));
    }
    let namespace = if path.is_empty() { "/" } else { path };
    // An id without `+` asks for an automatic acknowledgement, sent at once; `id+` is answered by the application.
    let (id, reply) = match parsed.id {
        Some(id) if parsed.data_ack => (Some(id), None),
        Some(id) => {
            let ack = packet::encode(PacketKind::Ack, namespace, 0, Some(id), Some("[]"));
            (None, Some(Packet::message(&Message::Text(Text::from(ack)))))
        }
        None => (None, None),
    };
    let packets = match parsed.kind {
        Sio09Kind::Disconnect if path.is_empty() => vec![
            sio_message(PacketKind::Disconnect, "/", None, None),
            Incoming::Control(PacketType::Close, Text::default()),
        ],
        Sio09Kind::Disconnect => vec![sio_message(PacketKind::Disconnect, namespace, None, None)],
        // The main endpoint is connected by the server at the handshake.
        Sio09Kind::Connect if path.is_empty() => Vec::new(),
        Sio09Kind::Connect => {
            let query = query.or_else(|| parsed.data.strip_prefix('?'));
            // A `,` would end the namespace of the packet: escaped, it means the same once the query is decoded.
            let target = match query {
                Some(query) if !query.is_empty() => {
                    format!("{namespace}?{}", query.replace(',', "%2C"))
                }
                _ => namespace.to_string(),
            };
            vec![sio_message(PacketKind::Connect, &target, None, None)]
        }
        Sio09Kind::Heartbeat => vec![Incoming::Control(PacketType::Pong, Text::default())],
        Sio09Kind::Message => {
            let text = serde_json::to_string(parsed.data)
                .map_err(|_| DecodeError::Sio09("message is not text"))?;
            vec![message_event(namespace, id, &text)]
        }
        // `json.send(undefined)` sends no data: 0.9 servers passed it on as nothing.
        Sio09Kind::Json if parsed.data.is_empty() => vec![message_event(namespace, id, "null")],
        Sio09Kind::Json => {
            let value: &RawValue = serde_json::from_str(parsed.data)
                .map_err(|_| DecodeError::Sio09("json message is not JSON"))?;
            vec![message_event(namespace, id, value.get())]
        }
        // An event without data names no event: 0.9 servers emitted nothing for it.
        Sio09Kind::Event if parsed.data.is_empty() => Vec::new(),
        Sio09Kind::Event => {
            let event: Sio09Event<'_> = serde_json::from_str(parsed.data)
                .map_err(|_| DecodeError::Sio09("event is not {\"name\":...,\"args\":[...]}"))?;
            if !event.name.get().starts_with('"') {
                return Err(DecodeError::Sio09("event name is not a string"));
            }
            if !is_valid_event_name(event.name) {
                // As 0.9 servers ignore blacklisted events (`disconnect`), reserved names are dropped.
                tracing::debug!(
                    name = event.name.get(),
                    "reserved event name from a 0.9 client ignored"
                );
                return Ok(Decoded {
                    packets: Vec::new(),
                    reply,
                });
            }
            let mut items = vec![event.name];
            items.extend(event.args.unwrap_or_default());
            vec![sio_message(
                PacketKind::Event,
                namespace,
                id,
                Some(&join_array(&items)),
            )]
        }
        Sio09Kind::Ack => {
            let (digits, args) = match parsed.data.split_once('+') {
                Some((digits, args)) => (digits, args),
                None => (parsed.data, "[]"),
            };
            let ack_id: u64 = digits
                .parse()
                .map_err(|_| DecodeError::Sio09("ack id is not a number"))?;
            let args = array_items(args)
                .ok_or(DecodeError::Sio09("ack arguments are not a JSON array"))?;
            vec![sio_message(
                PacketKind::Ack,
                namespace,
                Some(ack_id),
                Some(&join_array(&args)),
            )]
        }
        Sio09Kind::Noop => vec![Incoming::Control(PacketType::Noop, Text::default())],
        Sio09Kind::Error => Vec::new(),
    };
    Ok(Decoded { packets, reply })
}

/// A `message` event (how 0.9 `send` and `json.send` arrive) with one argument.
fn message_event(namespace: &str, id: Option<u64>, argument: &str) -> Incoming {
    let payload = format!("[\"message\",{argument}]");
    sio_message(PacketKind::Event, namespace, id, Some(&payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(packet: &str) -> Packet {
        Packet::Text(Text::from(packet))
    }

    fn decoded(message: &str) -> Decoded {
        Sio09Translator.decode(message).unwrap()
    }

    fn sio(text: &str) -> Incoming {
        Incoming::Message(Message::Text(Text::from(text)))
    }

    #[test]
    fn packets_for_the_client_become_09_messages() {
        let packets = [
            text("0{\"sid\":\"x\"}"),
            text("40"),
            text("40/chat,"),
            text("42[\"news\",{\"a\":1},2]"),
            text("42/chat,7[\"hi\"]"),
            text("43/chat,3[\"ok\"]"),
            text("434[]"),
            text("44/admin,\"Not authorized\""),
            text("41/chat,"),
            text("2"),
            text("6"),
            text("451-[\"file\",{\"_placeholder\":true,\"num\":0}]"),
            Packet::Binary(Bytes::from_static(&[1, 2, 3])),
            text("1"),
        ];
        assert_eq!(
            Sio09Translator.encode(&packets),
            [
                "1::",
                "1::/chat",
                "5:::{\"name\":\"news\",\"args\":[{\"a\":1},2]}",
                "5:7+:/chat:{\"name\":\"hi\"}",
                "6::/chat:3+[\"ok\"]",
                "6:::4",
                "7::/admin:2",
                "0::/chat",
                "2::",
                "8::",
                "5:::{\"name\":\"file\",\"args\":[\"AQID\"]}",
                "7:::+0",
            ]
        );
    }

    #[test]
    fn client_messages_become_v4_packets() {
        assert_eq!(
            decoded("5:1+::{\"name\":\"echo\",\"args\":[{\"x\":1},\"y\"]}").packets,
            [sio("21[\"echo\",{\"x\":1},\"y\"]")]
        );
        assert_eq!(
            decoded("5::/chat:{\"name\":\"ping\"}").packets,
            [sio("2/chat,[\"ping\"]")]
        );
        assert_eq!(
            decoded("1::/chat?token=a").packets,
            [sio("0/chat?token=a,")]
        );
        assert!(decoded("1::").packets.is_empty());
        assert_eq!(
            decoded("0::").packets,
            [
                sio("1"),
                Incoming::Control(PacketType::Close, Text::default())
            ]
        );
        assert_eq!(decoded("0::/chat").packets, [sio("1/chat,")]);
        assert_eq!(
            decoded("2::").packets,
            [Incoming::Control(PacketType::Pong, Text::default())]
        );
        assert_eq!(decoded("6:::4+[\"A\",1]").packets, [sio("34[\"A\",1]")]);
        assert_eq!(decoded("6::/chat:5").packets, [sio("3/chat,5[]")]);
        assert_eq!(
            decoded("4::/chat:{\"j\":[1]}").packets,
            [sio("2/chat,[\"message\",{\"j\":[1]}]")]
        );
        assert!(decoded("7:::1+0").packets.is_empty());
        assert_eq!(decoded("4::").packets, [sio("2[\"message\",null]")]);
        assert!(decoded("5:1+::").packets.is_empty());
    }

    #[test]
    fn only_a_refused_main_namespace_refuses_the_handshake() {
        assert!(Sio09Translator.refuses(&text("44\"Not authorized\"")));
        assert!(Sio09Translator.refuses(&text("44{\"code\":1}")));
        assert!(!Sio09Translator.refuses(&text("44/chat,\"no\"")));
        assert!(!Sio09Translator.refuses(&text("40")));
        assert!(!Sio09Translator.refuses(&Packet::Binary(Bytes::new())));
    }

    #[test]
    fn ids_without_plus_are_acknowledged_at_once() {
        let result = decoded("3:9::hello \"you\"");
        assert_eq!(
            result.packets,
            [sio("2[\"message\",\"hello \\\"you\\\"\"]")]
        );
        assert_eq!(result.reply, Some(text("439[]")));
        assert_eq!(Sio09Translator.encode(&[text("439[]")]), ["6:::9"]);
        let result = decoded("5:2:/chat:{\"name\":\"x\"}");
        assert_eq!(result.packets, [sio("2/chat,[\"x\"]")]);
        assert_eq!(result.reply, Some(text("43/chat,2[]")));
    }

    #[test]
    fn a_comma_in_an_endpoint_query_stays_in_the_namespace_query() {
        // Found by the legacy_message fuzz target: the comma ended the namespace, and the packet was refused.
        for (message, query) in [
            ("1::/chat?ids=1,2", "ids=1%2C2"),
            ("1::/chat:?a=1,2&b=,", "a=1%2C2&b=%2C"),
            (
                "1::/chaT:?\"\"\"5:\"\"\"1+::{\"name\":\"echo\"\"\",",
                "\"\"\"5:\"\"\"1+::{\"name\":\"echo\"\"\"%2C",
            ),
        ] {
            let packets = decoded(message).packets;
            let [Incoming::Message(Message::Text(text))] = &packets[..] else {
                panic!("{message:?} became {packets:?}");
            };
            let connect = packet::decode(text.as_str()).expect("a CONNECT packet");
            let got = connect.namespace.split_once('?').map(|(_, query)| query);
            assert_eq!(got, Some(query), "{message:?}");
        }
    }

    #[test]
    fn reserved_events_are_dropped_and_bad_messages_refused() {
        assert!(decoded("5:::{\"name\":\"disconnect\"}").packets.is_empty());
        for bad in [
            "5:::not json",
            "5:::{\"name\":1}",
            "5:::{\"args\":[]}",
            "4:::{",
            "6:::x",
            "6:::1+{}",
            "1::chat",
            "9::",
        ] {
            assert!(Sio09Translator.decode(bad).is_err(), "{bad:?}");
        }
    }
}
