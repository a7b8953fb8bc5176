//! Reading a capture file, with errors a user can act on.

use std::path::Path;

use anyhow::{Context as _, Result, bail};

use super::{Capture, SCHEMA};

pub fn load_capture(path: &Path) -> Result<Capture> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_capture(&text).with_context(|| format!("{} is not a usable capture", path.display()))
}

pub fn parse_capture(text: &[u8]) -> Result<Capture> {
    if text.iter().all(u8::is_ascii_whitespace) {
        bail!("the file is empty");
    }
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
        if e.is_eof() {
            anyhow::anyhow!("it ends early at line {} (truncated?)", e.line())
        } else {
            anyhow::anyhow!("it is not valid JSON: {e}")
        }
    })?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => bail!("schema {other:?} is not supported (this permtrace reads {SCHEMA})"),
        None => bail!("it has no \"schema\" field; it is not a permtrace capture"),
    }
    serde_json::from_value(value).context("its content does not match the capture schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_truncated_and_foreign_files_are_clear_errors() {
        let err = |t: &str| format!("{:#}", parse_capture(t.as_bytes()).unwrap_err());
        assert!(err("").contains("empty"));
        assert!(err("{\"schema\": \"permtrace.capture/1\", \"files\": [").contains("truncated"));
        assert!(err("{\"a\": 1}").contains("no \"schema\""));
        assert!(err("{\"schema\": \"permtrace.capture/9\"}").contains("not supported"));
        assert!(err("not json").contains("not valid JSON"));
    }

    #[test]
    fn a_capture_round_trips() {
        let cap = Capture {
            schema: SCHEMA.into(),
            ..Default::default()
        };
        let text = serde_json::to_vec(&cap).unwrap();
        assert_eq!(parse_capture(&text).unwrap(), cap);
    }
}
