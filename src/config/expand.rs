//! `${VAR}` expansion inside every string value of a parsed TOML document.

use toml::Value;

/// Replaces `${NAME}` in every string of `value` with the environment variable `NAME`.
/// `$${` stands for a literal `${`. Returns `(key path, message)` for the first problem.
pub fn expand_env(
    value: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    walk(value, String::new(), lookup)
}

fn walk(
    value: &mut Value,
    path: String,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, String)> {
    match value {
        Value::String(text) => {
            *text = expand_text(text, lookup).map_err(|msg| (path, msg))?;
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                walk(item, format!("{path}[{index}]"), lookup)?;
            }
        }
        Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(item, child, lookup)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn expand_text(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or_else(|| format!("unterminated ${{ in {text:?}"))?;
            let name = &after[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("bad variable name {name:?} in {text:?}"));
            }
            let found =
                lookup(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
            out.push_str(&found);
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "TOKEN").then(|| "s3cret".to_string())
    }

    #[test]
    fn expands_known_variables_and_escapes() {
        assert_eq!(expand_text("a${TOKEN}b", &env).unwrap(), "as3cretb");
        assert_eq!(expand_text("$${TOKEN}", &env).unwrap(), "${TOKEN}");
        assert_eq!(expand_text("cost $5", &env).unwrap(), "cost $5");
    }

    #[test]
    fn missing_variable_names_key_path() {
        let mut doc: Value = toml::from_str("[api]\ntoken = \"${NOPE}\"").unwrap();
        let (path, msg) = expand_env(&mut doc, &env).unwrap_err();
        assert_eq!(path, "api.token");
        assert!(msg.contains("NOPE"), "{msg}");
    }

    #[test]
    fn unterminated_is_an_error() {
        assert!(expand_text("${TOKEN", &env).is_err());
    }
}
