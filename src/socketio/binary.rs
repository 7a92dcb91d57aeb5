//! Binary attachments inside raw JSON: placeholders `{"_placeholder":true,"num":i}` on the wire,
//! `{"$binary":"<base64>"}` in webhooks. Only the matched objects are rewritten; every other byte is kept.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Placeholder {
    #[serde(rename = "_placeholder")]
    placeholder: bool,
    num: usize,
}

/// A `{"$binary": ...}` object as a backend writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryJson {
    /// The base64 text.
    #[serde(rename = "$binary")]
    pub base64: String,
}

impl BinaryJson {
    /// Decodes the base64 text.
    pub fn decode(&self) -> Result<Bytes, String> {
        STANDARD
            .decode(&self.base64)
            .map(Bytes::from)
            .map_err(|e| format!("invalid $binary base64: {e}"))
    }
}

/// The JSON text `{"$binary":"<base64>"}` for `data`.
pub fn binary_json(data: &[u8]) -> String {
    format!("{{\"$binary\":\"{}\"}}", STANDARD.encode(data))
}

/// Calls `rewrite` on every JSON object of `raw` (outside strings) whose first key is one of `keys`;
/// a `Some` result replaces the object's text.
fn rewrite_objects(
    raw: &str,
    keys: &[&str],
    mut rewrite: impl FnMut(&str) -> Result<Option<String>, String>,
) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut copied = 0;
    let mut at = 0;
    let mut in_string = false;
    while at < bytes.len() {
        let byte = bytes[at];
        if in_string {
            match byte {
                b'\\' => at += 1,
                b'"' => in_string = false,
                _ => {}
            }
            at += 1;
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' => {
                let inner = raw[at + 1..].trim_start();
                if keys.iter().any(|key| inner.starts_with(key)) {
                    let mut stream =
                        serde_json::Deserializer::from_str(&raw[at..]).into_iter::<&RawValue>();
                    if let Some(Ok(object)) = stream.next() {
                        let end = at + stream.byte_offset();
                        if let Some(replacement) = rewrite(object.get())? {
                            out.push_str(&raw[copied..at]);
                            out.push_str(&replacement);
                            copied = end;
                            at = end;
                            continue;
                        }
                    }
                }
            }
            _ => {}
        }
        at += 1;
    }
    out.push_str(&raw[copied..]);
    Ok(out)
}

/// Replaces each placeholder with `{"$binary":...}` from `attachments`. Every attachment must be used in range.
pub fn placeholders_to_binary(raw: &str, attachments: &[Bytes]) -> Result<String, String> {
    replace_placeholders(raw, attachments, |data| binary_json(data))
}

/// Replaces each placeholder with its attachment as a base64 JSON string, for clients without binary support.
pub fn placeholders_to_base64(raw: &str, attachments: &[Bytes]) -> Result<String, String> {
    replace_placeholders(raw, attachments, |data| {
        format!("\"{}\"", STANDARD.encode(data))
    })
}

fn replace_placeholders(
    raw: &str,
    attachments: &[Bytes],
    render: impl Fn(&Bytes) -> String,
) -> Result<String, String> {
    rewrite_objects(raw, &["\"_placeholder\"", "\"num\""], |object| {
        let Ok(placeholder) = serde_json::from_str::<Placeholder>(object) else {
            return Ok(None);
        };
        if !placeholder.placeholder {
            return Ok(None);
        }
        let data = attachments
            .get(placeholder.num)
            .ok_or("placeholder number out of range")?;
        Ok(Some(render(data)))
    })
}

/// Replaces each `{"$binary":...}` with a placeholder and returns the attachments in order.
pub fn binary_to_placeholders(raw: &str) -> Result<(String, Vec<Bytes>), String> {
    let mut attachments = Vec::new();
    let text = rewrite_objects(raw, &["\"$binary\""], |object| {
        let Ok(binary) = serde_json::from_str::<BinaryJson>(object) else {
            return Ok(None);
        };
        attachments.push(binary.decode()?);
        Ok(Some(format!(
            "{{\"_placeholder\":true,\"num\":{}}}",
            attachments.len() - 1
        )))
    })?;
    Ok((text, attachments))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_binary_objects_and_back() {
        let raw = r#"["up",{"_placeholder":true,"num":0},{"x":1.50,"s":"{\"_placeholder\":true,\"num\":0}"},{"num":1,"_placeholder":true}]"#;
        let attachments = [Bytes::from_static(&[1, 2, 3]), Bytes::from_static(&[4])];
        let converted = placeholders_to_binary(raw, &attachments).unwrap();
        assert_eq!(
            converted,
            r#"["up",{"$binary":"AQID"},{"x":1.50,"s":"{\"_placeholder\":true,\"num\":0}"},{"$binary":"BA=="}]"#
        );
        let (back, found) = binary_to_placeholders(&converted).unwrap();
        assert_eq!(found, attachments);
        assert_eq!(
            back,
            r#"["up",{"_placeholder":true,"num":0},{"x":1.50,"s":"{\"_placeholder\":true,\"num\":0}"},{"_placeholder":true,"num":1}]"#
        );
    }

    #[test]
    fn binary_json_round_trips() {
        let json = binary_json(&[1, 2, 3]);
        assert_eq!(json, r#"{"$binary":"AQID"}"#);
        let parsed: BinaryJson = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.decode().unwrap(), Bytes::from_static(&[1, 2, 3]));
        let bad: BinaryJson = serde_json::from_str(r#"{"$binary":"!!"}"#).unwrap();
        assert!(bad.decode().is_err());
    }

    #[test]
    fn bad_numbers_and_base64_are_errors_and_lookalikes_are_kept() {
        assert!(placeholders_to_binary(r#"[{"_placeholder":true,"num":5}]"#, &[]).is_err());
        assert!(binary_to_placeholders(r#"[{"$binary":"!!"}]"#).is_err());
        let lookalike = r#"[{"$binary":"AQ==","extra":1},{"_placeholder":false,"num":0}]"#;
        assert_eq!(binary_to_placeholders(lookalike).unwrap().0, lookalike);
        assert_eq!(placeholders_to_binary(lookalike, &[]).unwrap(), lookalike);
    }
}
