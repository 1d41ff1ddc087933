//! The terminal explorer: scan progress, the model tree, edge panels, keyboard and mouse.
//!
//! [`run`] owns the terminal and the threads; everything the user sees is drawn by
//! [`app::App`], which is built and driven without a terminal in the tests.

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

use crate::engine::{self, ScanHandle, ScanOptions};
use anyhow::Context as _;
use app::{Action, App, AppConfig, AppEvent};
use crossbeam_channel::Sender;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How the explorer is started.
pub struct TuiOptions {
    pub scan: ScanOptions,
    /// A line shown on top, e.g. why the demo family is shown instead of the hub cache.
    pub banner: Option<String>,
}

/// Runs the explorer until the user quits. The terminal is restored on every way out:
/// normal exit, error (by the guard's drop) and panic (by the hook, before the message).
pub fn run(options: TuiOptions) -> anyhow::Result<()> {
    let hook_active = install_panic_hook();
    let _guard = TerminalGuard {
        hook_active: hook_active.clone(),
    };
    crossterm::terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
    crossterm::execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)
        .context("cannot set up the terminal screen")?;
    let mut terminal = ratatui::Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .context("cannot set up the terminal")?;

    let export_dir = std::env::current_dir().context("cannot read the working directory")?;
    let mut app = App::new(AppConfig {
        root: options.scan.root.clone(),
        banner: options.banner.clone(),
        theme: theme::Theme::from_env(),
        started: Instant::now(),
        export_dir,
    });

    let (sender, receiver) = crossbeam_channel::unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let input = event::spawn_input(sender.clone(), stop.clone());
    let clock = event::spawn_clock(sender.clone(), stop.clone());
    let mut scan = Some(start_scan(&options.scan, &sender));

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
                    scan = Some(start_scan(&options.scan, &sender));
                }
            }
        }
    })();

    finish_scan(scan);
    stop.store(true, Ordering::Relaxed);
    drop(receiver);
    // Both threads wake within a poll or tick period once `stop` is set.
    let _ = input.join();
    let _ = clock.join();
    outcome
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

fn restore_terminal() {
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

fn start_scan(options: &ScanOptions, sender: &Sender<AppEvent>) -> ScanHandle {
    let handle = engine::spawn_scan(options.clone());
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
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            Some(format!("the scan thread stopped unexpectedly: {message}"))
        }
    }
}

/// Cancels a scan that may still run and waits for its thread.
fn finish_scan(scan: Option<ScanHandle>) {
    if let Some(handle) = scan {
        handle.cancel.store(true, Ordering::Relaxed);
        let _ = handle.thread.join();
    }
}
