//! The real binary in a pseudo-terminal: `Esc` right after an accepted search backs out and does
//! not quit; `q` quits and gives the terminal back.

mod common;
#[path = "pty_session/mod.rs"]
mod pty_session;

use pty_session::Session;
use std::time::Duration;

#[test]
fn esc_after_a_search_keeps_running_and_q_restores_the_terminal() {
    let family = common::small_family();
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut session = Session::explorer(&family, cache.path(), work.path());

    session.press(b"/");
    session.press(b"full0-c1");
    session.press(b"\r");
    session.wait_for("match", Duration::from_secs(5));
    session.press(b"\x1b");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        session.is_running(),
        "Esc after a search quit the explorer:\n{}",
        session.text()
    );
    assert!(session.alternate_screen());
    session.press(b"q");
    let (status, _) = session.finish();
    assert_eq!(status, 0, "mother exited with {status}");
}
