//! The log writer: log lines leave the request path through a bounded in-memory queue.
//!
//! Writing a line to stdout directly costs the logging thread a `write` system call under
//! stdout's lock for every line (about a third of a request's CPU at `info` in the load
//! benchmark, `docs/performance.md`). Here a line is copied into a shared buffer and a writer
//! thread sends whatever has gathered to stdout with one `write`, so under load many lines go
//! out per system call and the request path never waits for the pipe. The writer looks again
//! [`GATHER`] after each write rather than being woken for every line: a line waits at most
//! that long under load.
//!
//! Why not `tracing-appender`'s `non_blocking`: it sends every line as its own channel message
//! (a `Vec` allocation each) and wakes its worker for each one, and a full channel either drops
//! lines or blocks per message. A first version here that woke the writer per line cost more
//! CPU per request than writing directly (docs/performance.md, "Hot path levers"); gathering
//! lines into one buffer is what makes the queue pay off.
//!
//! **When the buffer is full** ([`CAPACITY`] bytes of lines not yet written, as when whatever
//! reads stdout stalls), the logging thread waits until the writer thread has made room: lines
//! are never dropped, and a stalled log reader slows the service down as a direct write would
//! have. **At shutdown** [`flush`] writes out what is queued and stops the thread; lines logged
//! after that are written directly.

use std::io::{self, Write};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Most bytes of log lines queued before logging threads wait for the writer thread.
pub(crate) const CAPACITY: usize = 1024 * 1024;

/// How long the writer thread waits for more lines after a write before it goes to sleep.
const GATHER: Duration = Duration::from_millis(1);

/// The queue shared by logging threads and the writer thread.
struct Queue {
    state: Mutex<State>,
    /// Wakes the writer thread when lines arrive or the queue closes.
    arrived: Condvar,
    /// Wakes logging threads waiting for room, and [`flush`] waiting for the writer.
    written: Condvar,
}

#[derive(Default)]
struct State {
    lines: Vec<u8>,
    /// Whether the writer thread sleeps until a line arrives (then a line must wake it).
    idle: bool,
    /// Set by [`flush`]: the thread writes what is queued and ends; later lines go directly.
    closed: bool,
    thread: Option<JoinHandle<()>>,
}

/// The process's queue, started with the first [`NonBlockingStdout`].
static QUEUE: OnceLock<Queue> = OnceLock::new();

fn queue() -> &'static Queue {
    QUEUE.get_or_init(|| Queue {
        state: Mutex::new(State::default()),
        arrived: Condvar::new(),
        written: Condvar::new(),
    })
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `line`, waiting while the queue is full; `false` when the queue is closed.
    fn push(&'static self, line: &[u8]) -> bool {
        let mut state = self.lock();
        if state.thread.is_none() && !state.closed {
            match std::thread::Builder::new()
                .name("servicekit-log".into())
                .spawn(move || self.run())
            {
                Ok(thread) => state.thread = Some(thread),
                // No thread, no queue: lines are written directly.
                Err(_) => state.closed = true,
            }
        }
        while !state.closed && !state.lines.is_empty() && state.lines.len() + line.len() > CAPACITY
        {
            state = self.written.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.closed {
            return false;
        }
        state.lines.extend_from_slice(line);
        if state.idle {
            state.idle = false;
            self.arrived.notify_one();
        }
        true
    }

    /// The writer thread: swaps the queued lines out and writes them until closed.
    ///
    /// After each write it pauses for [`GATHER`] before looking again, so that under load
    /// the lines of that moment go out in one `write` and no logging thread has to wake it;
    /// only when a pause brought nothing does it sleep until the next line wakes it.
    fn run(&self) {
        let mut spare = Vec::new();
        let mut state = self.lock();
        loop {
            if state.lines.is_empty() {
                if state.closed {
                    return;
                }
                state = self
                    .arrived
                    .wait_timeout(state, GATHER)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                if state.lines.is_empty() && !state.closed {
                    state.idle = true;
                    while state.idle && !state.closed {
                        state = self.arrived.wait(state).unwrap_or_else(|e| e.into_inner());
                    }
                }
                continue;
            }
            std::mem::swap(&mut state.lines, &mut spare);
            self.written.notify_all();
            drop(state);
            // Nothing useful can be done when stdout fails (a closed pipe); the lines are lost
            // as a direct write would have lost them.
            let _ = io::stdout().lock().write_all(&spare);
            spare.clear();
            if spare.capacity() > CAPACITY {
                spare.shrink_to(CAPACITY);
            }
            state = self.lock();
        }
    }
}

/// Writes out every queued line and stops the writer thread; later lines are written directly.
/// Called when the service's shutdown completes and before `run_main` returns.
pub(crate) fn flush() {
    let Some(queue) = QUEUE.get() else { return };
    let thread = {
        let mut state = queue.lock();
        state.closed = true;
        queue.arrived.notify_one();
        state.thread.take()
    };
    if let Some(thread) = thread {
        let _ = thread.join();
    }
    let _ = io::stdout().lock().flush();
}

/// [`MakeWriter`] for the log subscriber: stdout through the queue of the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NonBlockingStdout;

/// One log line's writer; `tracing-subscriber` writes each formatted line with one `write_all`.
#[derive(Debug)]
pub(crate) struct LineWriter;

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !queue().push(buf) {
            io::stdout().lock().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for NonBlockingStdout {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter
    }
}
