//! First run, in a pseudo-terminal as a person sees it: `mother demo` trains the family on its
//! own screen (bars, ETA) and then scans and opens the explorer; `q` during training cancels,
//! says so in one line, and gives the terminal back. Nothing unlabelled is left on the normal
//! screen either way. The families are tiny (a root and its child: about 4 s of training).

#[path = "pty_session/mod.rs"]
mod pty_session;

use pty_session::Session;
use std::path::Path;
use std::time::Duration;

/// `mother demo ARGS DIR --cache-dir CACHE` in a pty.
fn start_demo(args: &[&str], dir: &Path, cache: &Path) -> Session {
    let mut all: Vec<&std::ffi::OsStr> = vec!["demo".as_ref()];
    all.extend(args.iter().map(std::ffi::OsStr::new));
    all.extend([dir.as_os_str(), "--cache-dir".as_ref(), cache.as_os_str()]);
    Session::start(&all, None)
}

const TINY: [&str; 10] = [
    "--small",
    "--full-trees",
    "1",
    "--lora-trees",
    "0",
    "--children",
    "1",
    "--depth",
    "1",
    "--no-extras",
];

#[test]
fn the_demo_trains_on_its_own_screen_then_opens_the_explorer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let mut session = start_demo(&TINY, dir.path(), cache.path());
    // The key bar is drawn last: waiting for it, not the header, reads a whole frame (a
    // loaded machine can show half of one).
    let training = session.wait_for("q cancel", Duration::from_secs(20));
    for words in [
        "training the demo family",
        "trained",
        "written",
        "elapsed",
        "ETA",
    ] {
        assert!(training.contains(words), "no {words:?} on\n{training}");
    }
    let tree = session.wait_for("Edge evidence", Duration::from_secs(60));
    assert!(tree.contains("mother-demo/full0-c0"), "{tree}");
    assert!(
        tree.contains("Demo family in"),
        "the banner says where: {tree}"
    );
    session.press(b"q");
    let (status, after) = session.finish();
    assert_eq!(status, 0);
    assert_eq!(after.trim(), "", "left on the normal screen:\n{after}");
    assert!(
        dir.path().join("truth.json").is_file(),
        "the family is complete"
    );
}

#[test]
fn q_during_training_cancels_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let mut session = start_demo(&TINY, dir.path(), cache.path());
    session.wait_for("training the demo family", Duration::from_secs(20));
    session.press(b"q");
    let (status, after) = session.finish();
    assert_eq!(status, 1);
    let lines: Vec<&str> = after.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line is left, the reason:\n{after}");
    assert!(
        lines[0].starts_with("mother: demo training cancelled"),
        "{after}"
    );
    assert!(
        !dir.path().join("truth.json").exists(),
        "a cancelled family never looks complete"
    );
}
