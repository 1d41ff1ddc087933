//! The real `mother` binary in a pseudo-terminal, driven as a person would: keys in, the screen
//! parsed by vt100 out, and the terminal's modes read back with `stty`. Shared by the pty tests
//! (`tui_pty`, `tui_pty_keys`, `demo_training_screen`), each of which includes it by path.

// Each test binary uses only some of the session's methods.
#![allow(dead_code)]

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ROWS: u16 = 30;
pub const COLUMNS: u16 = 100;

/// `mother ARGS` in a 100x30 pty, with what it drew kept both parsed and raw.
pub struct Session {
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    keys: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    tty: PathBuf,
}

impl Session {
    /// Starts the binary with `args`, in `cwd` when given.
    pub fn start<S: AsRef<OsStr>>(args: &[S], cwd: Option<&Path>) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLUMNS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_mother"));
        command.args(args);
        if let Some(cwd) = cwd {
            command.cwd(cwd);
        }
        command.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(command).expect("start mother");
        drop(pty.slave);
        let tty = pty.master.tty_name().expect("the pty's device name");
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
            tty,
        }
    }

    /// The explorer on `folder` (fingerprints cached in `cache`, run in `cwd`), once its forest
    /// is on screen; checks it runs on the alternate screen in raw mode.
    pub fn explorer(folder: &Path, cache: &Path, cwd: &Path) -> Self {
        let args = [
            folder.as_os_str(),
            "--cache-dir".as_ref(),
            cache.as_os_str(),
        ];
        let session = Session::start(&args, Some(cwd));
        let tree = session.wait_for("Edge evidence", Duration::from_secs(120));
        assert!(
            tree.contains("mother-demo/"),
            "the forest shows the demo models:\n{tree}"
        );
        assert!(session.alternate_screen());
        assert_eq!(
            session.canonical_and_echo(),
            (false, false),
            "the explorer runs in raw mode"
        );
        session
    }

    pub fn text(&self) -> String {
        self.parser.lock().expect("parser").screen().contents()
    }

    pub fn alternate_screen(&self) -> bool {
        self.parser
            .lock()
            .expect("parser")
            .screen()
            .alternate_screen()
    }

    /// Waits until `needle` is on screen and returns the screen.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
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

    /// Sends keys, then gives the program a moment to draw what they did.
    pub fn press(&mut self, bytes: &[u8]) {
        self.keys.write_all(bytes).expect("send keys");
        self.keys.flush().expect("send keys");
        std::thread::sleep(Duration::from_millis(150));
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("poll mother").is_none()
    }

    /// Whether canonical input and echo are on for the pty, as `stty -a` reports them (both on
    /// in the cooked mode a shell expects, both off in raw mode).
    pub fn canonical_and_echo(&self) -> (bool, bool) {
        let terminal = std::fs::File::open(&self.tty).expect("open the pty for stty");
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

    /// Waits for the exit and checks the terminal was given back: alternate screen left, cursor
    /// shown, raw mode off. Returns the exit code and the normal screen's text.
    pub fn finish(mut self) -> (u32, String) {
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
        assert!(
            !self.alternate_screen(),
            "the alternate screen was not left"
        );
        let tail = {
            let raw = self.raw.lock().expect("raw");
            String::from_utf8_lossy(&raw[raw.len().saturating_sub(4096)..]).into_owned()
        };
        assert!(tail.contains("\x1b[?25h"), "the cursor was not shown again");
        assert_eq!(
            self.canonical_and_echo(),
            (true, true),
            "raw mode was not turned off: the shell would get no line editing and no echo"
        );
        let text = self.text();
        drop(self.master);
        (status.exit_code(), text)
    }
}
