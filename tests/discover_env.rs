//! Where the hub cache is, by the same precedence as the official client, checked with made-up
//! environments (the process environment is never touched).

use std::ffi::OsString;
use std::path::PathBuf;

use mother::discover::hub_cache_from;

fn cache(pairs: &[(&str, &str)]) -> Option<PathBuf> {
    hub_cache_from(|name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| OsString::from(value))
    })
}

const ALL: [(&str, &str); 5] = [
    ("HF_HUB_CACHE", "/a/hub-cache"),
    ("HUGGINGFACE_HUB_CACHE", "/b/legacy"),
    ("HF_HOME", "/c/hf-home"),
    ("XDG_CACHE_HOME", "/d/xdg"),
    ("HOME", "/e/home"),
];

#[test]
fn each_variable_wins_over_the_ones_after_it() {
    let expected = [
        "/a/hub-cache",
        "/b/legacy",
        "/c/hf-home/hub",
        "/d/xdg/huggingface/hub",
        "/e/home/.cache/huggingface/hub",
    ];
    for (dropped, expected) in expected.iter().enumerate() {
        assert_eq!(
            cache(&ALL[dropped..]),
            Some(PathBuf::from(expected)),
            "with {:?}",
            &ALL[dropped..]
        );
    }
}

#[test]
fn empty_values_count_as_unset() {
    let env = [("HF_HUB_CACHE", ""), ("HF_HOME", "/h"), ("HOME", "/e")];
    assert_eq!(cache(&env), Some(PathBuf::from("/h/hub")));
}

#[test]
fn tilde_and_variables_are_expanded() {
    let env = [("HF_HOME", "~/hf"), ("HOME", "/home/me")];
    assert_eq!(cache(&env), Some(PathBuf::from("/home/me/hf/hub")));
    let env = [
        ("HF_HUB_CACHE", "$SCRATCH/${USER}/hub"),
        ("SCRATCH", "/scratch"),
        ("USER", "me"),
    ];
    assert_eq!(cache(&env), Some(PathBuf::from("/scratch/me/hub")));
    let env = [("XDG_CACHE_HOME", "$NOT_SET/cache")];
    assert_eq!(
        cache(&env),
        Some(PathBuf::from("$NOT_SET/cache/huggingface/hub"))
    );
    let env = [("HUGGINGFACE_HUB_CACHE", "~"), ("HOME", "/home/me")];
    assert_eq!(cache(&env), Some(PathBuf::from("/home/me")));
}

#[test]
fn the_real_environment_gives_some_folder() {
    // Whatever this machine has set, some folder comes back (HOME is set in any test runner).
    assert!(mother::discover::default_hub_cache().is_some());
}
