//! The terminal explorer: scan progress, the model tree, edge panels, keyboard and mouse.
//!
//! [`run`] owns the terminal and the threads; everything the user sees is drawn by
//! [`app::App`], which is built and driven without a terminal in the tests, except the first-run
//! training of the demo family, drawn by [`training_view`] before the app exists.

pub mod app;
pub mod charts;
mod event;
pub mod evidence;
pub mod export_file;
pub mod forest;
mod help;
pub mod keys;
pub mod numbers;
mod scan_view;
pub mod tensor_table;
pub mod theme;
pub mod training_view;
pub mod wrap;

use crate::demo::{DemoPlan, DemoProgress, build_demo};
use crate::discover::Discovery;
use crate::engine::{self, ScanHandle, ScanOptions};
use anyhow::Context as _;
use app::{Action, App, AppConfig, AppEvent};
use crossbeam_channel::{Receiver, Sender};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use training_view::TrainingProgress;

/// How the explorer is started.
pub struct TuiOptions {
    pub scan: ScanOptions,
    /// A line shown on top, e.g. why the demo family is shown instead of the hub cache.
    pub banner: Option<String>,
    /// A demo family to train, on its own screen, before the scan of `scan.root` starts.
    pub demo: Option<DemoPlan>,
    /// What a discovery of `scan.root` found just before, when the caller looked (a rescan
    /// looks again: the cache may have changed).
    pub found: Option<Discovery>,
    /// Bundle files (`mother export`) whose models join the scan's, read again on a rescan.
    pub bundles: Vec<PathBuf>,
    /// Only the bundles: `scan.root` names the first one and is not walked.
    pub bundles_only: bool,
}

/// Fails, before anything is written to the terminal, when stdin or stdout is not a terminal
/// (a pipe, a file, a CI job): the explorer would only print escape codes there. `fix` says
/// what to run instead and ends the message.
pub fn require_terminal(fix: &str) -> anyhow::Result<()> {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return Ok(());
    }
    anyhow::bail!(
        "no terminal: the explorer needs stdin and stdout to be a terminal, and here one of \
         them is a pipe or a file — {fix}"
    )
}

/// Runs the explorer until the user quits. The terminal is restored on every way out:
/// normal exit, error (by the guard's drop) and panic (by the hook, before the message).
pub fn run(options: TuiOptions) -> anyhow::Result<()> {
    require_terminal("use `mother scan` to print the forest (add --json for JSON)")?;
    let hook_active = install_panic_hook();
    let _guard = TerminalGuard {
        hook_active: hook_active.clone(),
    };
    crossterm::terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
    TERMINAL_ENTERED.store(true, Ordering::SeqCst);
    crossterm::execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)
        .context("cannot set up the terminal screen")?;
    let mut terminal = ratatui::Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .context("cannot set up the terminal")?;

    let export_dir = std::env::current_dir().context("cannot read the working directory")?;
    let (sender, receiver) = crossbeam_channel::unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let input = event::spawn_input(sender.clone(), stop.clone());
    let clock = event::spawn_clock(sender.clone(), stop.clone());
    let stop_threads = || {
        stop.store(true, Ordering::Relaxed);
        // Both threads wake within a poll or tick period once `stop` is set.
        let _ = input.join();
        let _ = clock.join();
    };
    if let Some(plan) = &options.demo {
        let view = TrainingProgress::new(plan.dir.clone(), options.banner.clone(), Instant::now());
        if let Err(error) = train_demo(&mut terminal, plan, view, &receiver) {
            drop(receiver);
            stop_threads();
            return Err(error);
        }
    }
    let mut app = App::new(AppConfig {
        root: options.scan.root.clone(),
        banner: options.banner.clone(),
        theme: theme::Theme::from_env(),
        started: Instant::now(),
        export_dir,
    });
    let mut scan = Some(start_scan(&options, options.found.clone(), &sender));

    let outcome = (|| -> anyhow::Result<()> {
        loop {
            terminal
                .draw(|frame| app.draw(frame))
                .context("cannot draw to the terminal")?;
            let first = receiver.recv().context("the event threads stopped")?;
            // Handle everything queued before the next draw, so a burst of progress events
            // costs one frame, not one frame each.
            let mut action = app.handle(first);
            while action == Action::Continue {
                let Ok(next) = receiver.try_recv() else { break };
                action = app.handle(next);
            }
            if let Some(reason) = reap_finished(&mut scan) {
                app.handle(AppEvent::ScanFailed(reason));
            }
            // A copy (`y`, `Y`) reaches the clipboard as an OSC 52 sequence written straight to
            // the terminal, which works over ssh too; it draws nothing on the screen.
            if let Some(sequence) = app.take_clipboard() {
                let backend = terminal.backend_mut();
                std::io::Write::write_all(backend, sequence.as_bytes())
                    .and_then(|()| std::io::Write::flush(backend))
                    .context("cannot write the copied text to the terminal")?;
            }
            match action {
                Action::Continue => {}
                Action::Quit => {
                    // One last frame, so "cancelling" shows while the scan thread winds down.
                    terminal
                        .draw(|frame| app.draw(frame))
                        .context("cannot draw to the terminal")?;
                    return Ok(());
                }
                Action::Rescan => {
                    finish_scan(scan.take());
                    scan = Some(start_scan(&options, None, &sender));
                }
            }
        }
    })();

    finish_scan(scan);
    drop(receiver);
    stop_threads();
    outcome
}

type Screen = ratatui::Terminal<CrosstermBackend<std::io::Stdout>>;

/// What the trainer thread reports.
enum TrainingEvent {
    Progress(DemoProgress),
    Finished(Result<(), String>),
}

/// Trains the demo family on a background thread while drawing its progress, until it is
/// written (`Ok`), fails, or the user cancels (both `Err`, with what to do). A cancelled trainer
/// is left to run until the process exits: the family's `truth.json` is written last, so a
/// family cut short is never taken for a complete one and is trained again next time.
fn train_demo(
    terminal: &mut Screen,
    plan: &DemoPlan,
    mut view: TrainingProgress,
    events: &Receiver<AppEvent>,
) -> anyhow::Result<()> {
    let theme = theme::Theme::from_env();
    let (sender, progress) = crossbeam_channel::unbounded();
    let (spec, dir) = (plan.spec.clone(), plan.dir.clone());
    let trainer = std::thread::Builder::new()
        .name("mother-demo".into())
        .spawn(move || {
            let report = |event| {
                let _ = sender.send(TrainingEvent::Progress(event));
            };
            let outcome = build_demo(&spec, &dir, &report)
                .map(drop)
                .map_err(|error| error.to_string());
            let _ = sender.send(TrainingEvent::Finished(outcome));
        })
        .context("the operating system refused to start the training thread")?;
    loop {
        terminal
            .draw(|frame| view.draw(frame, frame.area(), theme))
            .context("cannot draw to the terminal")?;
        crossbeam_channel::select! {
            recv(events) -> event => match event.context("the event threads stopped")? {
                AppEvent::Key(key) if training_view::is_cancel(&key) => {
                    view.cancel();
                    terminal
                        .draw(|frame| view.draw(frame, frame.area(), theme))
                        .context("cannot draw to the terminal")?;
                    anyhow::bail!(
                        "demo training cancelled — nothing half-trained is kept as complete; \
                         run `mother` (or `mother demo`) again to train it"
                    );
                }
                AppEvent::Tick(now) => view.tick(now),
                _ => {}
            },
            recv(progress) -> event => match event {
                Ok(TrainingEvent::Progress(step)) => view.apply(step),
                Ok(TrainingEvent::Finished(Ok(()))) => {
                    let _ = trainer.join();
                    return Ok(());
                }
                Ok(TrainingEvent::Finished(Err(reason))) => anyhow::bail!(
                    "training the demo family in {} failed: {reason}",
                    plan.dir.display()
                ),
                Err(_) => {
                    let message = match trainer.join() {
                        Err(payload) => panic_message(payload.as_ref()),
                        Ok(()) => "no message".to_string(),
                    };
                    anyhow::bail!(
                        "the demo training thread stopped unexpectedly ({message}); please \
                         report this as a bug, and try `mother demo --no-tui` meanwhile"
                    );
                }
            },
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string())
}

/// Restores the terminal when dropped, whatever way `run` leaves, and hands panics back to
/// the previous hook.
struct TerminalGuard {
    hook_active: Arc<AtomicBool>,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        self.hook_active.store(false, Ordering::SeqCst);
        restore_terminal();
    }
}

/// Set once raw mode is on, so that restoring writes nothing to a terminal that was never
/// entered (an error before that point must leave the shell's screen exactly as it was), and
/// restores once when both the panic hook and the guard get there.
static TERMINAL_ENTERED: AtomicBool = AtomicBool::new(false);

fn restore_terminal() {
    if !TERMINAL_ENTERED.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture, LeaveAlternateScreen);
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(std::io::stdout(), crossterm::cursor::Show);
}

/// While the explorer runs, a panic on the UI thread restores the terminal before the previous
/// hook prints the message, so the message is readable. A panic on a background thread is not
/// printed over the screen: it reaches the UI through that thread's join and is shown there.
/// Returns the switch that hands panics back to the previous hook when the explorer ends.
fn install_panic_hook() -> Arc<AtomicBool> {
    let active = Arc::new(AtomicBool::new(true));
    let ui_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    let switch = active.clone();
    std::panic::set_hook(Box::new(move |info| {
        if !switch.load(Ordering::SeqCst) {
            previous(info);
        } else if std::thread::current().id() == ui_thread {
            restore_terminal();
            previous(info);
        }
    }));
    active
}

fn start_scan(
    options: &TuiOptions,
    found: Option<Discovery>,
    sender: &Sender<AppEvent>,
) -> ScanHandle {
    let found = found.or_else(|| options.bundles_only.then(Discovery::default));
    let handle = engine::spawn_scan_with(options.scan.clone(), found, options.bundles.clone());
    event::spawn_forwarder(handle.events.clone(), sender.clone());
    handle
}

/// Joins the scan thread once it has ended; returns why it failed, if it did.
fn reap_finished(scan: &mut Option<ScanHandle>) -> Option<String> {
    if !scan.as_ref()?.thread.is_finished() {
        return None;
    }
    let handle = scan.take()?;
    match handle.thread.join() {
        Ok(Ok(_)) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(payload) => Some(format!(
            "the scan thread stopped unexpectedly: {}",
            panic_message(payload.as_ref())
        )),
    }
}

/// Cancels a scan that may still run and waits for its thread.
fn finish_scan(scan: Option<ScanHandle>) {
    if let Some(handle) = scan {
        handle.cancel.store(true, Ordering::Relaxed);
        let _ = handle.thread.join();
    }
}
