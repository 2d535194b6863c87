//! The live line on a terminal: while a trial runs, the last line of stderr
//! says which trial of how many, the time so far, the estimate of the time
//! left and how long this trial has run, redrawn every second. Only when
//! stderr is a terminal (and `TERM` is not `dumb`); piped or in CI, the
//! per-trial lines of [`super::progress`] are all there is, one per trial.
//! When stdout is the same terminal, the line keeps libtest's
//! `test NAME ... ` in front, so that libtest's `ok` still ends it.

use super::progress::Standing;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the line shows: what comes before it (libtest's `test NAME ... `),
/// the standing, the trial's name (when not in front already) and when the
/// trial began.
struct Line {
    prefix: String,
    standing: Standing,
    name: String,
    /// What runs now inside the trial's case (a pair, a side, a block).
    detail: String,
    since: Instant,
}

type Shown = Option<Line>;

pub struct Live {
    shown: Arc<Mutex<Shown>>,
    stop: Arc<AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

/// Erase the terminal's current line.
const ERASE: &str = "\r\x1b[K";

fn draw(shown: &Shown) {
    use super::progress::clock;
    if let Some(l) = shown {
        let s = &l.standing;
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "{ERASE}{}[{}/{}] {}, ETA {}{}{}, this trial {}",
            l.prefix,
            s.k,
            s.n,
            clock(s.session.elapsed()),
            clock(s.eta.saturating_sub(l.since.elapsed())),
            l.name,
            l.detail,
            clock(l.since.elapsed())
        );
        let _ = e.flush();
    }
}

impl Live {
    /// The live line, when stderr is a terminal that can redraw a line.
    pub fn start() -> Option<Live> {
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        if !std::io::stderr().is_terminal() || dumb {
            return None;
        }
        let shown: Arc<Mutex<Shown>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (shown, stop) = (shown.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut drawn = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    if drawn.elapsed() >= Duration::from_secs(1) {
                        draw(&shown.lock().unwrap_or_else(|p| p.into_inner()));
                        drawn = Instant::now();
                    }
                }
            })
        };
        Some(Live {
            shown,
            stop,
            ticker: Some(ticker),
        })
    }

    /// Trial `name` begins, at `standing`; it is shown until
    /// [`Live::clear`]. When stdout is this terminal too, libtest's
    /// `test NAME ... ` stays in front.
    pub fn begin(&self, name: &str, standing: Standing) {
        let (prefix, name) = if super::progress::shared_stream() {
            (format!("test {name} ... "), String::new())
        } else {
            (String::new(), format!("  {name}"))
        };
        let mut s = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        *s = Some(Line {
            prefix,
            standing,
            name,
            detail: String::new(),
            since: Instant::now(),
        });
        draw(&s);
    }

    /// What runs now inside the shown trial (e.g. `pair 3, tool: tcp_rr`).
    pub fn detail(&self, what: &str) {
        let mut s = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = s.as_mut() {
            l.detail = format!(" — {what}");
        }
        draw(&s);
    }

    /// Erases the line (the trial's own line follows).
    pub fn clear(&self) {
        let mut s = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        if s.take().is_some() {
            eprint!("{ERASE}");
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.clear();
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}
