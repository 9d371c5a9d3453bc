//! `BRICKLINT_PROFILE=1`: the time, CPU time and resident memory of each phase of a run, and the
//! CPU time of each rule, printed to stderr. A ground-level module: every layer may mark the end
//! of a phase with [`phase`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Is `BRICKLINT_PROFILE` set (and not `0`)?
pub fn profiling() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("BRICKLINT_PROFILE").is_some_and(|v| v != "0"))
}

/// Mark the end of phase `name`: prints its wall time, CPU time and the resident memory after it
/// (the first call only starts the clock).
pub fn phase(name: &str) {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    static LAST_CPU: Mutex<f64> = Mutex::new(0.0);
    if !profiling() {
        return;
    }
    let now = Instant::now();
    if let Ok(mut last) = LAST.lock() {
        if let Some(t) = *last {
            let rss = rss_mb()
                .map(|mb| format!("  rss {mb:.0} MB"))
                .unwrap_or_default();
            let cpu = process_cpu_ms();
            let dcpu = LAST_CPU
                .lock()
                .map(|mut l| cpu - std::mem::replace(&mut *l, cpu))
                .unwrap_or(0.0);
            eprintln!(
                "bricklint profile: {name:<10} {:>8.1} ms  cpu {dcpu:>6.1} ms{rss}",
                (now - t).as_secs_f64() * 1e3
            );
        }
        if last.is_none() {
            if let Ok(mut l) = LAST_CPU.lock() {
                *l = process_cpu_ms();
            }
        }
        *last = Some(now);
    }
}

/// Resident memory of the process now (Linux), in MB.
fn rss_mb() -> Option<f64> {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages as f64 * 4096.0 / 1e6)
}

/// CPU time (user + system) of the process so far, in ms (Linux; 0 elsewhere).
fn process_cpu_ms() -> f64 {
    #[cfg(target_os = "linux")]
    {
        let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage fills the struct it is given.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) } == 0 {
            // SAFETY: initialised by the successful call above.
            let ru = unsafe { ru.assume_init() };
            let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
            return ms(ru.ru_utime) + ms(ru.ru_stime);
        }
    }
    0.0
}

/// CPU time per slot (an enabled rule, by position), in nanoseconds, summed over threads.
static SLOT_NANOS: [AtomicU64; 64] = [const { AtomicU64::new(0) }; 64];

/// A clock for [`add_time`]: `None` when not profiling (nothing to measure).
pub fn start() -> Option<Instant> {
    profiling().then(Instant::now)
}

/// Add the time since `start` to slot `k` (slots past the 64th are not counted).
pub fn add_time(k: usize, start: Option<Instant>) {
    if let (Some(t), Some(slot)) = (start, SLOT_NANOS.get(k)) {
        slot.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

/// Print the eight slots that took the most time, named by `names` (slot `k` is `names[k]`),
/// and reset every slot.
pub fn print_slot_times(what: &str, names: &[&str]) {
    if !profiling() {
        return;
    }
    let mut v: Vec<(u64, &str)> = names
        .iter()
        .enumerate()
        .filter_map(|(k, c)| Some((SLOT_NANOS.get(k)?.swap(0, Ordering::Relaxed), *c)))
        .collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    let top: Vec<String> = v
        .iter()
        .take(8)
        .map(|(n, c)| format!("{c} {:.1}", *n as f64 / 1e6))
        .collect();
    eprintln!("bricklint profile:   {what}: {}", top.join(", "));
}
