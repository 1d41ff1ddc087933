//! The real binary in a pseudo-terminal, as a person would use it: start it on a demo family,
//! wait for the tree, move, open a node, export DOT, quit; then check the file and that the
//! terminal was given back (alternate screen left, cursor shown, raw mode off: `stty -a` on the
//! pty shows `-icanon -echo` while it runs and `icanon echo` after it quits).

mod common;
#[path = "pty_session/mod.rs"]
mod pty_session;

use pty_session::Session;
use std::time::Duration;

#[test]
fn explore_export_and_quit_in_a_real_terminal() {
    let family = common::small_family();
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut session = Session::explorer(&family, cache.path(), work.path());

    session.press(b"j");
    session.press(b"j");
    session.press(b"l");
    session.press(b"\r");
    session.press(b"e");
    session.wait_for("mother-tree.dot", Duration::from_secs(5));
    session.press(b"\r");
    session.wait_for("wrote", Duration::from_secs(5));
    session.press(b"q");
    let (status, _) = session.finish();
    assert_eq!(status, 0, "mother exited with {status}");

    let dot = std::fs::read_to_string(work.path().join("mother-tree.dot")).unwrap();
    assert!(dot.starts_with("digraph mother {"), "{dot}");
    assert!(dot.contains(" -> "));
}

/// The explorer on a bundle alone (`mother export`, then `mother --bundle FILE`): the banner names
/// the bundle, the forest is the family's, `r` reads the bundle again, and `q` gives the terminal
/// back.
#[test]
fn the_explorer_opens_on_a_bundle_and_rescans_it() {
    let family = common::small_family();
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("fingerprints");
    let bundle = work.path().join("family.mfb");
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_mother"))
        .arg("export")
        .arg(family.join("hub"))
        .arg("--out")
        .arg(&bundle)
        .arg("--cache-dir")
        .arg(&cache)
        .output()
        .unwrap();
    assert!(export.status.success(), "{export:?}");

    let args = [
        "--bundle".as_ref(),
        bundle.as_os_str(),
        "--cache-dir".as_ref(),
        cache.as_os_str(),
    ];
    let mut session = Session::start(&args, Some(work.path()));
    let screen = session.wait_for("Edge evidence", Duration::from_secs(60));
    assert!(screen.contains("mother-demo/"), "{screen}");
    assert!(screen.contains("no weight file is read"), "{screen}");
    session.press(b"r");
    let screen = session.wait_for("rescanned:", Duration::from_secs(60));
    assert!(screen.contains("mother-demo/"), "{screen}");
    session.press(b"q");
    let (status, _) = session.finish();
    assert_eq!(status, 0, "mother exited with {status}");
}
