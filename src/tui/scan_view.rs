//! The scan view: one row per model with its format, its own progress bar and phase, and a
//! header with the overall bytes, throughput, elapsed time and ETA. Its state is fed by engine
//! events only. The models being read come first, then those waiting, then those finished,
//! each group by id: on a cache bigger than the screen the rows that move stay in view.

use super::theme::Theme;
use crate::discover::{ModelEntry, Skipped};
use crate::engine::{Phase, ScanEvent};
use crate::units as format;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, LineGauge, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState,
};
use std::path::Path;
use std::time::{Duration, Instant};

struct Row {
    id: String,
    total_bytes: u64,
    dtype: String,
    /// The files' format from discovery, refined to the packing (`gptq`, ...) once the
    /// fingerprint is in.
    format: &'static str,
    bytes_done: u64,
    phase: Phase,
}

/// Where the scan is, from the events seen so far.
pub struct ScanProgress {
    rows: Vec<Row>,
    skipped: Vec<Skipped>,
    started: Instant,
    now: Instant,
    /// Set when the scan ended (finished or failed), to freeze the clock.
    ended: Option<Instant>,
    recovering: bool,
    failure: Option<String>,
    /// First visible row of the list.
    offset: usize,
}

impl ScanProgress {
    pub fn new(started: Instant) -> Self {
        Self {
            rows: Vec::new(),
            skipped: Vec::new(),
            started,
            now: started,
            ended: None,
            recovering: false,
            failure: None,
            offset: 0,
        }
    }

    pub fn tick(&mut self, now: Instant) {
        self.now = now.max(self.started);
    }

    pub fn fail(&mut self, reason: String) {
        self.ended.get_or_insert(self.now);
        self.failure = Some(reason);
    }

    pub fn elapsed(&self) -> Duration {
        self.ended.unwrap_or(self.now).duration_since(self.started)
    }

    pub fn apply(&mut self, event: &ScanEvent) {
        match event {
            ScanEvent::Discovered { models, skipped } => {
                self.rows = models.iter().map(row_for).collect();
                self.skipped = skipped.clone();
            }
            ScanEvent::Phase { model, phase } => {
                if let Some(row) = self.rows.get_mut(*model) {
                    if matches!(phase, Phase::FromCache | Phase::FromBundle | Phase::Done) {
                        row.bytes_done = row.total_bytes;
                    }
                    row.phase = phase.clone();
                }
            }
            ScanEvent::Progress { model, bytes_done } => {
                if let Some(row) = self.rows.get_mut(*model) {
                    row.bytes_done = (*bytes_done).min(row.total_bytes);
                    if row.phase == Phase::Queued {
                        row.phase = Phase::Reading;
                    }
                }
            }
            ScanEvent::Format { model, format } => {
                if let Some(row) = self.rows.get_mut(*model) {
                    row.format = format;
                }
            }
            ScanEvent::Recovering => self.recovering = true,
            ScanEvent::Finished(_) => {
                self.ended.get_or_insert(self.now);
            }
        }
    }

    /// Bytes done and bytes to do, over the models still in the scan.
    pub fn totals(&self) -> (u64, u64) {
        self.rows
            .iter()
            .filter(|row| !matches!(row.phase, Phase::Skipped(_)))
            .fold((0, 0), |(done, total), row| {
                (done + row.bytes_done, total + row.total_bytes)
            })
    }

    /// Bytes per second actually read from disk (cache hits cost nothing, so they are left out).
    fn throughput(&self) -> Option<f64> {
        let read: u64 = self
            .rows
            .iter()
            .filter(|row| !matches!(row.phase, Phase::FromCache | Phase::FromBundle))
            .map(|row| row.bytes_done)
            .sum();
        let seconds = self.elapsed().as_secs_f64();
        (seconds > 0.0 && read > 0).then(|| read as f64 / seconds)
    }

    fn line_count(&self) -> usize {
        self.rows.len() + self.skipped.len()
    }

    pub fn scroll(&mut self, delta: isize, visible: usize) {
        let last = self.line_count().saturating_sub(visible.max(1));
        self.offset = self.offset.saturating_add_signed(delta).min(last);
    }

    pub fn scroll_to(&mut self, top: bool, visible: usize) {
        self.offset = if top {
            0
        } else {
            self.line_count().saturating_sub(visible.max(1))
        };
    }

    /// The header line: overall progress, throughput, elapsed and ETA.
    pub fn header(&self, theme: Theme) -> Line<'static> {
        let (done, total) = self.totals();
        let mut spans = vec![Span::styled(
            format!("{} / {}", format::size(done), format::size(total)),
            theme.title(),
        )];
        let throughput = self.throughput();
        if let Some(rate) = throughput {
            spans.push(Span::raw(format!("  {}", format::rate(rate))));
        }
        spans.push(Span::raw(format!(
            "  elapsed {}",
            format::clock(self.elapsed())
        )));
        if let Some(failure) = &self.failure {
            spans.push(Span::styled(
                format!("  scan failed: {failure}"),
                theme.error(),
            ));
        } else if self.recovering {
            spans.push(Span::styled("  recovering the forest…", theme.accent()));
        } else if let Some(rate) = throughput.filter(|_| total > done) {
            let eta = Duration::from_secs_f64((total - done) as f64 / rate);
            spans.push(Span::raw(format!("  ETA {}", format::clock(eta))));
        } else if self.rows.is_empty() {
            spans.push(Span::styled("  looking for models…", theme.muted()));
        }
        Line::from(spans)
    }

    /// Draws the table; skipped files are named relative to the scanned `root`.
    pub fn draw(&self, frame: &mut Frame, area: Rect, root: &Path, theme: Theme) {
        let block = Block::bordered().title(Line::from(vec![
            Span::styled(" Models ", theme.title()),
            Span::styled(
                format!(
                    "{} found, {} skipped ",
                    self.rows.len(),
                    self.skipped_count()
                ),
                theme.muted(),
            ),
        ]));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [heading, list] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        let columns = columns(heading);
        let titles = ["MODEL", "SIZE", "DTYPE", "FORMAT", "PROGRESS", "PHASE"];
        for (title, column) in titles.into_iter().zip(columns) {
            frame.render_widget(Paragraph::new(title).style(theme.muted()), column);
        }

        let visible = list.height as usize;
        let offset = self.offset.min(self.line_count().saturating_sub(visible));
        let model_rows = self
            .shown_order()
            .into_iter()
            .map(|row| Some(&self.rows[row]));
        let skipped_rows = self.skipped.iter().map(|_| None);
        for (line, (index, row)) in model_rows
            .chain(skipped_rows)
            .enumerate()
            .skip(offset)
            .take(visible)
            .enumerate()
        {
            let area = Rect {
                y: list.y + line as u16,
                height: 1,
                ..list
            };
            match row {
                Some(row) => draw_row(frame, area, row, theme),
                None => {
                    let skipped = &self.skipped[index - self.rows.len()];
                    draw_skipped_file(frame, area, root, skipped, theme);
                }
            }
        }
        if self.line_count() > visible {
            let mut state =
                ScrollbarState::new(self.line_count().saturating_sub(visible)).position(offset);
            frame.render_stateful_widget(
                Scrollbar::new(ScrollbarOrientation::VerticalRight),
                list,
                &mut state,
            );
        }
    }

    /// The model rows in the order they are listed: being read, waiting, finished.
    fn shown_order(&self) -> Vec<usize> {
        let group = |phase: &Phase| match phase {
            Phase::Reading => 0,
            Phase::Queued => 1,
            Phase::FromCache | Phase::FromBundle | Phase::Done | Phase::Skipped(_) => 2,
        };
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_by_key(|&row| group(&self.rows[row].phase));
        order
    }

    fn skipped_count(&self) -> usize {
        self.skipped.len()
            + self
                .rows
                .iter()
                .filter(|row| matches!(row.phase, Phase::Skipped(_)))
                .count()
    }
}

fn row_for(entry: &ModelEntry) -> Row {
    Row {
        id: entry.id.clone(),
        total_bytes: entry.total_bytes,
        dtype: entry
            .config
            .dtype
            .clone()
            .map_or_else(|| "?".to_string(), |d| short_dtype(&d)),
        format: entry.format.name(),
        bytes_done: 0,
        phase: Phase::Queued,
    }
}

/// `config.json` writes torch names (`float32`); the column is narrow, so use safetensors' names.
fn short_dtype(dtype: &str) -> String {
    match dtype.trim_start_matches("torch.") {
        "float32" => "F32".to_string(),
        "float16" => "F16".to_string(),
        "bfloat16" => "BF16".to_string(),
        "float64" => "F64".to_string(),
        "int8" => "I8".to_string(),
        other => other.to_string(),
    }
}

/// Model, size, dtype, format, progress, phase. The format column fits `bitsandbytes`, the
/// longest name; the phase column fits `from cache`, the longest phase (a skip reason takes
/// the progress column's room as well). At 80 columns the model id keeps 23.
fn columns(area: Rect) -> [Rect; 6] {
    Layout::horizontal([
        Constraint::Fill(3),
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(12),
        Constraint::Fill(2),
        Constraint::Length(10),
    ])
    .spacing(1)
    .areas(area)
}

fn phase_text(phase: &Phase) -> String {
    match phase {
        Phase::Queued => "queued".to_string(),
        Phase::Reading => "reading".to_string(),
        Phase::FromCache => "from cache".to_string(),
        Phase::FromBundle => "from bundle".to_string(),
        Phase::Done => "done".to_string(),
        Phase::Skipped(reason) => format!("skipped: {reason}"),
    }
}

fn draw_row(frame: &mut Frame, area: Rect, row: &Row, theme: Theme) {
    let [id, size, dtype, file_format, gauge, phase] = columns(area);
    frame.render_widget(Paragraph::new(row.id.as_str()), id);
    frame.render_widget(Paragraph::new(format::size(row.total_bytes)), size);
    frame.render_widget(Paragraph::new(row.dtype.as_str()), dtype);
    frame.render_widget(Paragraph::new(row.format), file_format);
    if let Phase::Skipped(_) = row.phase {
        // A skipped model has no progress to show; its reason gets the bar's room too.
        let reason = Rect {
            width: phase.right().saturating_sub(gauge.x),
            ..gauge
        };
        frame.render_widget(
            Paragraph::new(phase_text(&row.phase)).style(theme.error()),
            reason,
        );
        return;
    }
    let ratio = if row.total_bytes == 0 {
        if matches!(
            row.phase,
            Phase::Done | Phase::FromCache | Phase::FromBundle
        ) {
            1.0
        } else {
            0.0
        }
    } else {
        (row.bytes_done as f64 / row.total_bytes as f64).clamp(0.0, 1.0)
    };
    frame.render_widget(progress_gauge(ratio, theme), gauge);
    let style = match row.phase {
        Phase::Reading => theme.accent(),
        Phase::Queued => theme.muted(),
        Phase::Done | Phase::FromCache | Phase::FromBundle | Phase::Skipped(_) => Style::new(),
    };
    frame.render_widget(Paragraph::new(phase_text(&row.phase)).style(style), phase);
}

fn draw_skipped_file(frame: &mut Frame, area: Rect, root: &Path, skipped: &Skipped, theme: Theme) {
    // A file that is not a model has no format to show: the reason starts in that column.
    let [id, _, _, reason_area, _, phase] = columns(area);
    let name = crate::discover::name_under_root(root, &skipped.path);
    frame.render_widget(Paragraph::new(name), id);
    let reason = Rect {
        width: phase.right().saturating_sub(reason_area.x),
        ..reason_area
    };
    frame.render_widget(
        Paragraph::new(format!("skipped: {}", skipped.reason)).style(theme.error()),
        reason,
    );
}

/// A progress bar with its percentage. Distinct symbols for the filled and empty parts keep it
/// readable without colour. The demo's training screen draws its bars with it too.
pub fn progress_gauge(ratio: f64, theme: Theme) -> LineGauge<'static> {
    LineGauge::default()
        .ratio(ratio)
        .label(format!("{:>3.0}%", ratio * 100.0))
        .filled_symbol(symbols::line::THICK.horizontal)
        .unfilled_symbol(symbols::line::NORMAL.horizontal)
        .filled_style(theme.accent())
        .unfilled_style(theme.muted())
}
