//! Where the official Hugging Face client keeps its hub cache, worked out from the environment
//! the same way `huggingface_hub` does, with `~` and `$VARS` expanded.
//!
//! The lookup is a parameter so that tests can try every precedence rule without touching the
//! process environment (which is shared by all threads of a test binary).

use std::ffi::OsString;
use std::path::PathBuf;

/// The hub cache for an environment given by `lookup` (variable name -> value).
///
/// Precedence: `HF_HUB_CACHE`, `HUGGINGFACE_HUB_CACHE`, `HF_HOME/hub`,
/// `XDG_CACHE_HOME/huggingface/hub`, `~/.cache/huggingface/hub`. Empty values count as unset.
/// `None` only when no variable is set and no home folder is known.
pub fn hub_cache_from(lookup: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    match chosen_source(&lookup) {
        Some((variable, below)) => {
            let value = lookup(variable).unwrap_or_default();
            expand(value, &lookup)
                .map(|folder| below.iter().fold(folder, |path, part| path.join(part)))
        }
        None => home_dir(&lookup).map(|home| home.join(".cache").join("huggingface").join("hub")),
    }
}

/// The environment variable that chose [`hub_cache_from`]'s answer, for messages that say
/// where a path came from; `None` when it is the built-in `~/.cache/huggingface/hub`.
pub fn hub_cache_variable(lookup: impl Fn(&str) -> Option<OsString>) -> Option<&'static str> {
    chosen_source(&lookup).map(|(variable, _)| variable)
}

/// The variables that can set the hub cache, in the client's order of precedence, each with
/// the folders below its value where the cache is.
const SOURCES: [(&str, &[&str]); 4] = [
    ("HF_HUB_CACHE", &[]),
    ("HUGGINGFACE_HUB_CACHE", &[]),
    ("HF_HOME", &["hub"]),
    ("XDG_CACHE_HOME", &["huggingface", "hub"]),
];

/// The first of [`SOURCES`] that is set (an empty value counts as unset).
fn chosen_source(
    lookup: &impl Fn(&str) -> Option<OsString>,
) -> Option<(&'static str, &'static [&'static str])> {
    SOURCES
        .into_iter()
        .find(|(variable, _)| lookup(variable).is_some_and(|value| !value.is_empty()))
}

/// The user's home: `HOME` from the lookup, else what the platform reports.
fn home_dir(lookup: &impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    match lookup("HOME").filter(|home| !home.is_empty()) {
        Some(home) => Some(PathBuf::from(home)),
        None => directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()),
    }
}

/// Expands `$NAME` and `${NAME}` (unknown names stay as written, like Python's `expandvars`),
/// then a leading `~`. A value that is not UTF-8 is taken as a literal path.
fn expand(value: OsString, lookup: &impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let Some(text) = value.to_str() else {
        return Some(PathBuf::from(value));
    };
    let text = expand_vars(text, lookup);
    if text == "~" {
        return home_dir(lookup);
    }
    if let Some(rest) = text.strip_prefix("~/") {
        return home_dir(lookup).map(|home| home.join(rest));
    }
    Some(PathBuf::from(text))
}

fn expand_vars(text: &str, lookup: &impl Fn(&str) -> Option<OsString>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, written_len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        let value = if name.is_empty() { None } else { lookup(name) };
        match value {
            Some(value) => out.push_str(&value.to_string_lossy()),
            None => out.push_str(&rest[dollar..dollar + 1 + written_len]),
        }
        rest = &after[written_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn variables_expand_braced_and_bare_and_unknown_ones_stay() {
        let lookup = env(&[("A", "/x"), ("B_2", "y")]);
        assert_eq!(
            expand_vars("$A/${B_2}/$NOPE/${C", &lookup),
            "/x/y/$NOPE/${C"
        );
        assert_eq!(expand_vars("cost $ 5", &lookup), "cost $ 5");
    }

    /// One piece of a value: literal text (starting with a character that ends a bare name,
    /// so that `$A` followed by it is still `$A`), a variable written `$NAME` or `${NAME}`, or
    /// a `$` that starts no name.
    #[derive(Debug, Clone)]
    enum Piece {
        Text(String),
        Variable { name: String, braced: bool },
        LoneDollar,
    }

    fn piece() -> impl Strategy<Value = Piece> {
        prop_oneof![
            "[/.: -][^$]{0,6}".prop_map(Piece::Text),
            ("[A-Za-z_][A-Za-z0-9_]{0,6}", any::<bool>())
                .prop_map(|(name, braced)| Piece::Variable { name, braced }),
            Just(Piece::LoneDollar),
        ]
    }

    proptest! {
        /// Against the obvious reading, piece by piece: a set variable becomes its value (not
        /// expanded again, even when it holds a `$`), an unset one and a lone `$` stay as
        /// written, and text passes through.
        #[test]
        fn expansion_matches_the_piecewise_reference(
            pieces in prop::collection::vec(piece(), 0..8),
            values in prop::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,6}", ".{0,6}", 0..6),
            set_names in prop::collection::vec(any::<bool>(), 8),
        ) {
            // Some of the pieces' own names are set too, so that both branches are common.
            let mut values = values;
            for (piece, set) in pieces.iter().zip(&set_names) {
                if let (Piece::Variable { name, .. }, true) = (piece, set) {
                    values.entry(name.clone()).or_insert_with(|| format!("<{name}>"));
                }
            }
            let mut text = String::new();
            let mut expected = String::new();
            // Every piece ends a bare name before it (text starts with a separator, the others
            // with `$`), and none starts with `{`, so the pieces read the same together as apart.
            for piece in &pieces {
                match piece {
                    Piece::Text(literal) => {
                        text.push_str(literal);
                        expected.push_str(literal);
                    }
                    Piece::Variable { name, braced } => {
                        let written = if *braced {
                            format!("${{{name}}}")
                        } else {
                            format!("${name}")
                        };
                        text.push_str(&written);
                        expected.push_str(values.get(name).unwrap_or(&written));
                    }
                    Piece::LoneDollar => {
                        text.push('$');
                        expected.push('$');
                    }
                }
            }
            let lookup = |name: &str| values.get(name).map(OsString::from);
            prop_assert_eq!(expand_vars(&text, &lookup), expected, "{:?}", text);
        }

        /// Text without a `$` comes back unchanged, whatever the environment holds.
        #[test]
        fn text_without_a_dollar_is_unchanged(text in "[^$]*") {
            prop_assert_eq!(expand_vars(&text, &|_: &str| Some(OsString::from("x"))), text);
        }
    }
}
