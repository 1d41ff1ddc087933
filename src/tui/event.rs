//! The threads that feed the one event channel: the terminal reader, the clock, and the
//! forwarder of a scan's events. The UI thread only receives; it never reads weights.

use super::app::AppEvent;
use crate::engine::ScanEvent;
use crossbeam_channel::{Receiver, Sender};
use crossterm::event::{self, Event};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often the clock ticks: often enough for a live throughput, rare enough to stay idle.
pub const TICK: Duration = Duration::from_millis(250);

/// How long the reader waits for input before checking whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// Reads keys, mouse and resizes until `stop` is set or the receiver is gone.
pub fn spawn_input(events: Sender<AppEvent>, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(INPUT_POLL) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(_) => break,
            }
            let message = match event::read() {
                Ok(Event::Key(key)) => AppEvent::Key(key),
                Ok(Event::Mouse(mouse)) => AppEvent::Mouse(mouse),
                Ok(Event::Resize(width, height)) => AppEvent::Resize(width, height),
                Ok(_) => continue,
                Err(_) => break,
            };
            if events.send(message).is_err() {
                break;
            }
        }
    })
}

/// Sends a tick every [`TICK`] until `stop` is set or the receiver is gone.
pub fn spawn_clock(events: Sender<AppEvent>, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            thread::sleep(TICK);
            if events.send(AppEvent::Tick(Instant::now())).is_err() {
                break;
            }
        }
    })
}

/// Forwards one scan's events until the engine drops its sender.
pub fn spawn_forwarder(scan: Receiver<ScanEvent>, events: Sender<AppEvent>) -> JoinHandle<()> {
    thread::spawn(move || {
        for event in scan {
            if events.send(AppEvent::Scan(event)).is_err() {
                break;
            }
        }
    })
}
