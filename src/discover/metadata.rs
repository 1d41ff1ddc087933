//! The small files beside the weights that say what a model is and where it came from:
//! `config.json`, `adapter_config.json`, `model.safetensors.index.json` and the YAML front
//! matter of `README.md`. Each is read whole only when it is small; the front matter is parsed by
//! a line parser that knows just the two keys lineage needs.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value};

use super::ModelConfig;

/// Metadata files larger than this are not read: real ones are kilobytes, an index for a
/// trillion-parameter model is a few megabytes.
pub(super) const METADATA_LIMIT: u64 = 8 * 1024 * 1024;

/// The bytes of a small metadata file, or a reason why they were not read.
/// The caller has checked that `path` leads to a regular file (opening a FIFO would block).
pub(super) fn read_small(path: &Path) -> Result<Vec<u8>, String> {
    let unreadable = |error: std::io::Error| {
        format!("cannot be read: {error} — check its permissions; its metadata is ignored")
    };
    let file = File::open(path).map_err(unreadable)?;
    let too_big = |bytes: u64| {
        format!(
            "is {:.1} MB, more than the {} MB a metadata file may be — not read, its metadata is ignored",
            bytes as f64 / 1e6,
            METADATA_LIMIT / (1024 * 1024)
        )
    };
    let len = file.metadata().map_err(unreadable)?.len();
    if len > METADATA_LIMIT {
        return Err(too_big(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(METADATA_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > METADATA_LIMIT {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("is JSON but not an object".to_string()),
        Err(error) => Err(format!("is not valid JSON ({error})")),
    }
}

fn string_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
}

/// What `config.json` says.
#[derive(Debug, Default)]
pub(super) struct ConfigFacts {
    pub config: ModelConfig,
    /// `_name_or_path`: where the weights were loaded from before this model was saved.
    pub name_or_path: Option<String>,
}

pub(super) fn parse_config(bytes: &[u8]) -> Result<ConfigFacts, String> {
    let map = json_object(bytes)?;
    let architecture = map
        .get("architectures")
        .and_then(Value::as_array)
        .and_then(|list| list.first())
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(ConfigFacts {
        config: ModelConfig {
            architecture,
            model_type: string_field(&map, "model_type"),
            dtype: string_field(&map, "torch_dtype").or_else(|| string_field(&map, "dtype")),
        },
        name_or_path: string_field(&map, "_name_or_path"),
    })
}

/// What `adapter_config.json` says.
#[derive(Debug, Default)]
pub(super) struct AdapterFacts {
    pub base: Option<String>,
    pub rank: Option<u32>,
}

pub(super) fn parse_adapter_config(bytes: &[u8]) -> Result<AdapterFacts, String> {
    let map = json_object(bytes)?;
    Ok(AdapterFacts {
        base: string_field(&map, "base_model_name_or_path"),
        rank: map
            .get("r")
            .and_then(Value::as_u64)
            .and_then(|rank| u32::try_from(rank).ok()),
    })
}

/// The distinct shard files named by an index's `weight_map`, sorted.
pub(super) fn parse_index(bytes: &[u8]) -> Result<Vec<String>, String> {
    let map = json_object(bytes)?;
    let Some(weight_map) = map.get("weight_map").and_then(Value::as_object) else {
        return Err("has no \"weight_map\" object".to_string());
    };
    let mut shards = Vec::new();
    for (tensor, file) in weight_map {
        match file.as_str() {
            Some(file) if !file.is_empty() => shards.push(file.to_string()),
            _ => {
                return Err(format!(
                    "maps tensor {tensor:?} to something that is not a file name"
                ));
            }
        }
    }
    if shards.is_empty() {
        return Err("has an empty \"weight_map\"".to_string());
    }
    shards.sort();
    shards.dedup();
    Ok(shards)
}

/// Lineage keys from a model card's YAML front matter.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct CardLineage {
    /// `base_model`, the first entry when it is a list.
    pub base_model: Option<String>,
    /// `base_model_relation`.
    pub relation: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Key {
    BaseModel,
    Relation,
}

/// Reads `base_model` and `base_model_relation` from the front matter (between a first line `---`
/// and the next `---` or `...`). Handles plain, quoted and commented scalars, `[a, b]` lists and
/// block lists (`- a`, indented or not). Everything else in the card is ignored.
pub(super) fn card_lineage(text: &str) -> CardLineage {
    let mut found = CardLineage::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return found;
    }
    let mut open_list: Option<Key> = None;
    for line in lines {
        let line = line.trim_end();
        if line == "---" || line == "..." {
            break;
        }
        if let Some(key) = open_list {
            let item = line.trim_start();
            if let Some(value) = item.strip_prefix('-')
                && (value.is_empty() || value.starts_with([' ', '\t']))
            {
                if key == Key::BaseModel && found.base_model.is_none() {
                    found.base_model = scalar(value);
                }
                continue;
            }
            if item.is_empty() || item.starts_with('#') || line.starts_with([' ', '\t']) {
                continue;
            }
            open_list = None;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let key = match name.trim() {
            "base_model" => Key::BaseModel,
            "base_model_relation" => Key::Relation,
            _ => continue,
        };
        let value = value.trim();
        let value = if value.is_empty() || value.starts_with('#') {
            open_list = Some(key);
            continue;
        } else if let Some(inline_list) = value.strip_prefix('[') {
            first_of_inline_list(inline_list)
        } else {
            scalar(value)
        };
        match key {
            Key::BaseModel => found.base_model = value,
            Key::Relation => found.relation = value,
        }
    }
    found
}

fn first_of_inline_list(inner: &str) -> Option<String> {
    let inner = inner.trim_start();
    if inner.starts_with(['"', '\'']) {
        return scalar(inner);
    }
    let end = inner.find([',', ']']).unwrap_or(inner.len());
    scalar(&inner[..end])
}

/// One YAML scalar: quoted (with its escapes) or plain (up to a ` #` comment).
/// Empty, `null` and `~` mean no value.
fn scalar(text: &str) -> Option<String> {
    let text = text.trim();
    let value = if let Some(body) = text.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => value.extend(chars.next()),
                c => value.push(c),
            }
        }
        value
    } else if let Some(body) = text.strip_prefix('\'') {
        let mut value = String::new();
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    break;
                }
            }
            value.push(c);
        }
        value
    } else {
        let end = text.find(" #").or(text.find("\t#")).unwrap_or(text.len());
        let plain = text[..end].trim();
        if plain == "null" || plain == "~" {
            return None;
        }
        plain.to_string()
    };
    let value = value.trim().to_string();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn card(front: &str) -> CardLineage {
        card_lineage(&format!(
            "---\n{front}\n---\n# Title\nbase_model: not-front-matter\n"
        ))
    }

    fn lineage(base: Option<&str>, relation: Option<&str>) -> CardLineage {
        CardLineage {
            base_model: base.map(str::to_string),
            relation: relation.map(str::to_string),
        }
    }

    #[test]
    fn plain_quoted_and_commented_strings() {
        assert_eq!(card("base_model: org/a"), lineage(Some("org/a"), None));
        assert_eq!(
            card("base_model: \"org/a\" # the parent\nbase_model_relation: 'finetune'"),
            lineage(Some("org/a"), Some("finetune"))
        );
        assert_eq!(card("base_model: 'it''s'"), lineage(Some("it's"), None));
        assert_eq!(
            card("base_model: org/a#b # note"),
            lineage(Some("org/a#b"), None)
        );
        assert_eq!(card("base_model: null"), lineage(None, None));
    }

    #[test]
    fn block_and_inline_lists_give_their_first_item() {
        let block =
            "license: mit\nbase_model:\n  - org/first\n  - org/second\nbase_model_relation: merge";
        assert_eq!(card(block), lineage(Some("org/first"), Some("merge")));
        let flush = "base_model:\n- \"org/first\"\n- org/second\ntags:\n- x";
        assert_eq!(card(flush), lineage(Some("org/first"), None));
        assert_eq!(
            card("base_model: [ 'org/x', org/y ]"),
            lineage(Some("org/x"), None)
        );
        assert_eq!(
            card("base_model: [org/x, org/y]"),
            lineage(Some("org/x"), None)
        );
    }

    #[test]
    fn keys_elsewhere_or_nested_are_ignored() {
        assert_eq!(
            card("model:\n  base_model: org/nested"),
            lineage(None, None)
        );
        assert_eq!(card_lineage("base_model: org/a\n"), lineage(None, None));
        assert_eq!(
            card_lineage("---\nbase_model: org/a"),
            lineage(Some("org/a"), None)
        );
        assert_eq!(
            card_lineage("\u{feff}---\r\nbase_model: org/a\r\n---\r\n"),
            lineage(Some("org/a"), None)
        );
    }

    /// A model id as the hub writes them (`org/name` or a bare name).
    fn model_id() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9][A-Za-z0-9._-]{0,12}/[A-Za-z0-9][A-Za-z0-9._-]{0,16}",
            "[A-Za-z0-9][A-Za-z0-9._-]{0,12}",
        ]
    }

    /// `key: value` in one of the ways a model card writes it, as YAML lines.
    fn written(key: &str, value: &str, style: usize, indent: &str) -> String {
        let double = value.replace('\\', "\\\\").replace('"', "\\\"");
        let single = value.replace('\'', "''");
        match style {
            0 => format!("{key}: {value}"),
            1 => format!("{key}: \"{double}\""),
            2 => format!("{key}: '{single}'"),
            3 => format!("{key}: {value} # a comment"),
            4 => format!("{key}: [{value}, other/model]"),
            5 => format!("{key}: [ \"{double}\", 'other/model' ]"),
            6 => format!("{key}:\n{indent}- {value}\n{indent}- other/model"),
            _ => format!("{key}: # the parents\n{indent}- '{single}'"),
        }
    }

    /// Lines of other front-matter keys, lists and comments the parser must pass over.
    fn other_lines() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(
            prop::sample::select(vec![
                "license: apache-2.0",
                "tags:\n- text-classification\n- base_model: not/this",
                "language: [en, fr]",
                "# base_model: commented/out",
                "model-index:\n  - name: x\n    base_model: nested/one",
                "datasets:\n  - glue",
                "pipeline_tag: fill-mask",
                "",
            ])
            .prop_map(str::to_string),
            0..4,
        )
    }

    proptest! {
        /// Whatever the style, the order of keys and the other lines around them, the parser
        /// reads back the base model and relation that were written, and nothing after the
        /// closing `---` or nested under another key.
        #[test]
        fn written_lineage_is_read_back(
            base in model_id(),
            relation in prop::option::of(prop::sample::select(vec!["finetune", "adapter", "quantized", "merge"])),
            styles in (0usize..8, 0usize..4),
            indent in prop::sample::select(vec!["", "  ", "    "]),
            before in other_lines(),
            between in other_lines(),
            after in other_lines(),
            crlf in any::<bool>(),
        ) {
            let mut lines = vec!["---".to_string()];
            lines.extend(before);
            lines.push(written("base_model", &base, styles.0, indent));
            lines.extend(between);
            if let Some(relation) = relation {
                lines.push(written("base_model_relation", relation, styles.1, indent));
            }
            lines.extend(after);
            lines.extend(["---".to_string(), "base_model: body/text".to_string()]);
            let text = lines.join(if crlf { "\r\n" } else { "\n" });
            prop_assert_eq!(
                card_lineage(&text),
                lineage(Some(&base), relation),
                "{}",
                text
            );
        }

        /// Any text, front matter or not, is read without a panic.
        #[test]
        fn any_text_is_read_without_a_panic(body in ".*", lines in prop::collection::vec(".*", 0..6)) {
            card_lineage(&body);
            card_lineage(&format!("---\n{}", lines.join("\n")));
        }
    }

    #[test]
    fn index_lists_distinct_shards_and_rejects_garbage() {
        let index = br#"{"metadata":{},"weight_map":{"a":"m-2.safetensors","b":"m-1.safetensors","c":"m-2.safetensors"}}"#;
        assert_eq!(
            parse_index(index).unwrap(),
            vec!["m-1.safetensors", "m-2.safetensors"]
        );
        assert!(parse_index(b"{}").unwrap_err().contains("weight_map"));
        assert!(parse_index(b"{\"weight_map\":{\"a\":3}}").is_err());
        assert!(parse_index(b"[1]").unwrap_err().contains("not an object"));
        assert!(
            parse_index(b"{oops")
                .unwrap_err()
                .contains("not valid JSON")
        );
    }
}
