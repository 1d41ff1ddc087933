//! The real binary in a pseudo-terminal: `Esc` right after an accepted search backs out and does
//! not quit; `q` quits and gives the terminal back.

mod common;

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                start.elapsed() < timeout,
                "no {needle:?} on screen after {timeout:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether canonical input and echo are on for the terminal `tty`, as `stty -a` reports them
/// (both on in the cooked mode a shell expects, both off in raw mode).
fn canonical_and_echo(tty: &Path) -> (bool, bool) {
    let terminal = std::fs::File::open(tty).expect("open the pty for stty");
    let output = std::process::Command::new("stty")
        .arg("-a")
        .stdin(terminal)
        .output()
        .expect("run stty");
    let text = String::from_utf8_lossy(&output.stdout);
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect();
    let on = |flag: &str| {
        if words.contains(&flag) {
            true
        } else if words.contains(&format!("-{flag}").as_str()) {
            false
        } else {
            panic!("stty -a shows neither {flag} nor -{flag}:\n{text}")
        }
    };
    (on("icanon"), on("echo"))
}

#[test]
fn esc_after_a_search_keeps_running_and_q_restores_the_terminal() {
    let family = common::small_family();
    let work = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 30,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_mother"));
    command.arg(&family);
    command.arg("--cache-dir");
    command.arg(cache.path());
    command.cwd(work.path());
    command.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(command).unwrap();
    drop(pty.slave);
    let tty = pty.master.tty_name().expect("the pty's device name");

    let screen = Screen {
        parser: Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(30).unwrap(),
            std::num::NonZeroU16::new(100).unwrap(),
            0,
        ))),
        raw: Arc::new(Mutex::new(Vec::new())),
    };
    let mut reader = pty.master.try_clone_reader().unwrap();
    let (parser, raw) = (Arc::clone(&screen.parser), Arc::clone(&screen.raw));
    std::thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 {
                break;
            }
            parser.lock().unwrap().process(&buffer[..n]);
            raw.lock().unwrap().extend_from_slice(&buffer[..n]);
        }
    });
    let mut keys = pty.master.take_writer().unwrap();
    let mut press = |bytes: &[u8]| {
        keys.write_all(bytes).unwrap();
        keys.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    };

    let tree = screen.wait_for("Edge evidence", Duration::from_secs(120));
    assert!(
        tree.contains("mother-demo/"),
        "the forest shows the demo models:\n{tree}"
    );
    assert!(screen.parser.lock().unwrap().screen().alternate_screen());
    assert_eq!(
        canonical_and_echo(&tty),
        (false, false),
        "the explorer runs in raw mode"
    );

    press(b"/");
    press(b"full0-c1");
    press(b"\r");
    screen.wait_for("match", Duration::from_secs(5));
    press(b"\x1b");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "Esc after a search quit the explorer:\n{}",
        screen.text()
    );
    assert!(screen.parser.lock().unwrap().screen().alternate_screen());
    press(b"q");

    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "mother did not quit on q"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "mother exited with {status:?}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!screen.parser.lock().unwrap().screen().alternate_screen());
    assert_eq!(
        canonical_and_echo(&tty),
        (true, true),
        "raw mode was not turned off"
    );
}
