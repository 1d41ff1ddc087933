//! First run, in a pseudo-terminal as a person sees it: `mother demo` trains the family on its
//! own screen (bars, ETA) and then scans and opens the explorer; `q` during training cancels,
//! says so in one line, and gives the terminal back. Nothing unlabelled is left on the normal
//! screen either way. The families are tiny (a root and its child: about 4 s of training).

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: u16 = 30;
const COLUMNS: u16 = 100;

/// `mother demo` in a pty, with what it drew kept both parsed and raw.
struct Session {
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    keys: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Session {
    fn start(args: &[&str], dir: &std::path::Path, cache: &std::path::Path) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLUMNS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_mother"));
        command.arg("demo");
        command.args(args);
        command.arg(dir);
        command.arg("--cache-dir");
        command.arg(cache);
        command.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(command).expect("start mother");
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(ROWS).expect("rows"),
            std::num::NonZeroU16::new(COLUMNS).expect("columns"),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let (screen, bytes) = (Arc::clone(&parser), Arc::clone(&raw));
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                screen.lock().expect("parser").process(&buffer[..n]);
                bytes.lock().expect("raw").extend_from_slice(&buffer[..n]);
            }
        });
        let keys = pty.master.take_writer().expect("pty writer");
        Session {
            child,
            master: pty.master,
            keys,
            parser,
            raw,
        }
    }

    fn text(&self) -> String {
        self.parser.lock().expect("parser").screen().contents()
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
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn press(&mut self, bytes: &[u8]) {
        self.keys.write_all(bytes).expect("send keys");
        self.keys.flush().expect("send keys");
    }

    /// Waits for the exit, then returns its status and the normal screen's text.
    fn finish(mut self) -> (u32, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for mother") {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "mother did not quit"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(200));
        let parser = self.parser.lock().expect("parser");
        assert!(
            !parser.screen().alternate_screen(),
            "the alternate screen was not left"
        );
        let raw = self.raw.lock().expect("raw");
        let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(4096)..]).into_owned();
        assert!(tail.contains("\x1b[?25h"), "the cursor was not shown again");
        drop(self.master);
        (status.exit_code(), parser.screen().contents())
    }
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
    let mut session = Session::start(&TINY, dir.path(), cache.path());
    let training = session.wait_for("training the demo family", Duration::from_secs(20));
    for words in ["trained", "written", "elapsed", "ETA", "q cancel"] {
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
    let mut session = Session::start(&TINY, dir.path(), cache.path());
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
