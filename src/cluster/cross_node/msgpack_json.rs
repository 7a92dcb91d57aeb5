//! msgpack values (as the Node ecosystem's notepack encodes them) turned into the JSON text iogate sends: binary
//! becomes `{"$binary":"<base64>"}` (which the emit path turns into binary attachments), a timestamp becomes its
//! ISO string (as Node's `JSON.stringify` of a `Date`), non-finite floats and `undefined` become `null`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rmpv::Value;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// The msgpack extension type of timestamps.
const TIMESTAMP: i8 = -1;

/// The legacy notepack extension type of an `ArrayBuffer` (and, empty, of `undefined`).
const LEGACY_BUFFER: i8 = 0;

/// The JSON text of `value`.
pub fn to_json(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// A room name as Node reads it: a string, or a number's decimal text.
pub fn room_name(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => text.as_str().map(str::to_string),
        Value::Integer(number) => Some(number.to_string()),
        Value::F64(number) if number.is_finite() => Some(number.to_string()),
        _ => None,
    }
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Nil => out.push_str("null"),
        Value::Boolean(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Integer(number) => {
            let _ = write!(out, "{number}");
        }
        Value::F32(number) => float(f64::from(*number), out),
        Value::F64(number) => float(*number, out),
        Value::String(text) => match text.as_str() {
            Some(text) => string(text, out),
            None => string(&String::from_utf8_lossy(text.as_bytes()), out),
        },
        Value::Binary(bytes) => binary(bytes, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                match key {
                    Value::String(text) if text.as_str().is_some() => {
                        string(text.as_str().unwrap_or_default(), out);
                    }
                    other => string(&to_json(other), out),
                }
                out.push(':');
                write(item, out);
            }
            out.push('}');
        }
        Value::Ext(TIMESTAMP, bytes) => match timestamp(bytes) {
            Some(text) => string(&text, out),
            None => out.push_str("null"),
        },
        Value::Ext(LEGACY_BUFFER, bytes) if bytes == &[0] => out.push_str("null"),
        Value::Ext(LEGACY_BUFFER, bytes) => binary(bytes, out),
        Value::Ext(kind, bytes) => {
            let _ = write!(out, "[{kind},");
            binary(bytes, out);
            out.push(']');
        }
    }
}

fn float(number: f64, out: &mut String) {
    match serde_json::Number::from_f64(number) {
        Some(number) => {
            let _ = write!(out, "{number}");
        }
        None => out.push_str("null"),
    }
}

fn string(text: &str, out: &mut String) {
    out.push_str(&serde_json::Value::from(text).to_string());
}

fn binary(bytes: &[u8], out: &mut String) {
    let _ = write!(out, "{{\"$binary\":\"{}\"}}", STANDARD.encode(bytes));
}

/// A msgpack timestamp (32, 64 or 96 bit) as `YYYY-MM-DDTHH:MM:SS.sssZ`; `None` before 1970 or malformed.
fn timestamp(bytes: &[u8]) -> Option<String> {
    let (seconds, nanos) = match bytes.len() {
        4 => (u64::from(u32::from_be_bytes(bytes.try_into().ok()?)), 0),
        8 => {
            let packed = u64::from_be_bytes(bytes.try_into().ok()?);
            (packed & 0x3_ffff_ffff, (packed >> 34) as u32)
        }
        12 => {
            let nanos = u32::from_be_bytes(bytes[..4].try_into().ok()?);
            let seconds = i64::from_be_bytes(bytes[4..].try_into().ok()?);
            (u64::try_from(seconds).ok()?, nanos)
        }
        _ => return None,
    };
    let time =
        SystemTime::UNIX_EPOCH.checked_add(Duration::new(seconds, nanos.min(999_999_999)))?;
    Some(humantime::format_rfc3339_millis(time).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Value {
        rmpv::decode::read_value(&mut &bytes[..]).unwrap()
    }

    #[test]
    fn notepack_values_become_json() {
        // ["obj",{a:1,c:1.5,d:null}] as the emitter encodes it.
        let obj = decode(&hex::decode("92a36f626a83a16101a163cb3ff8000000000000a164c0").unwrap());
        assert_eq!(to_json(&obj), r#"["obj",{"a":1,"c":1.5,"d":null}]"#);
        let bin = decode(&hex::decode("92a362696ec403010203").unwrap());
        assert_eq!(to_json(&bin), r#"["bin",{"$binary":"AQID"}]"#);
        let date = decode(&hex::decode("92a464617465d6ff00000000").unwrap());
        assert_eq!(to_json(&date), r#"["date","1970-01-01T00:00:00.000Z"]"#);
        let odd = Value::Map(vec![(Value::from(1), Value::F64(f64::NAN))]);
        assert_eq!(to_json(&odd), r#"{"1":null}"#);
        let escaped = Value::from("a\"b\n");
        assert_eq!(to_json(&escaped), r#""a\"b\n""#);
        assert_eq!(room_name(&decode(&[0x7b])).as_deref(), Some("123"));
    }
}
