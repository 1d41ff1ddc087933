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
