//! What a measured piece of work cost: wall time and CPU time, and the
//! machine's load while it ran.
//!
//! `bench` measures every figure through [`measure`]. On a shared machine
//! wall time moves with the other processes (a 10,000-user run took 5.4 s
//! to 13 s of wall time for the same binary); the CPU time of the thread
//! that ran the simulation moves far less, because time spent descheduled
//! is not counted. A simulation is single-threaded, so its thread's CPU
//! time is its whole cost; a sweep spreads runs over worker threads, so it
//! is measured by the process's CPU time ([`measure_process`]).

use std::time::{Duration, Instant};

use cpu_time::{ProcessTime, ThreadTime};

/// Wall and CPU time of one measured piece of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cost {
    pub wall: Duration,
    pub cpu: Duration,
}

impl Cost {
    /// The cheaper of two measurements of the same work, field by field:
    /// each is the closest to what the work itself costs (the machine only
    /// ever adds to either).
    pub fn min(self, other: Cost) -> Cost {
        Cost {
            wall: self.wall.min(other.wall),
            cpu: self.cpu.min(other.cpu),
        }
    }
}

/// Both times added, for a total over several pieces of work.
impl std::ops::Add for Cost {
    type Output = Cost;

    fn add(self, other: Cost) -> Cost {
        Cost {
            wall: self.wall + other.wall,
            cpu: self.cpu + other.cpu,
        }
    }
}

/// Run `work` on this thread; its result and what it cost (this thread's
/// CPU time: the simulation runs on it alone).
pub fn measure<T>(work: impl FnOnce() -> T) -> (T, Cost) {
    measure_by(|| ThreadTime::now().as_duration(), work)
}

/// [`measure`] for work spread over threads: the whole process's CPU time.
pub fn measure_process<T>(work: impl FnOnce() -> T) -> (T, Cost) {
    measure_by(|| ProcessTime::now().as_duration(), work)
}

/// Wall time, and CPU time as `cpu_clock` reads it, around `work`.
fn measure_by<T>(cpu_clock: impl Fn() -> Duration, work: impl FnOnce() -> T) -> (T, Cost) {
    let cpu = cpu_clock();
    let wall = Instant::now();
    let value = work();
    let cost = Cost {
        wall: wall.elapsed(),
        cpu: cpu_clock().saturating_sub(cpu),
    };
    (value, cost)
}

/// `amount` per second of `took` (simulated seconds, runs, cases), or 0
/// when nothing was measured.
pub fn per_second(amount: f64, took: Duration) -> f64 {
    let secs = took.as_secs_f64();
    if secs > 0.0 { amount / secs } else { 0.0 }
}

/// The 1, 5 and 15 minute load averages (Linux's `/proc/loadavg`, what
/// `uptime` prints), or `None` where there is no such file.
pub fn load_average() -> Option<[f64; 3]> {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadavg_is_its_first_three_fields() {
        assert_eq!(
            parse_loadavg("9.87 5.43 2.10 3/1234 56789\n"),
            Some([9.87, 5.43, 2.10])
        );
        assert_eq!(parse_loadavg("1.0 2.0"), None);
        assert_eq!(parse_loadavg("busy 2.0 3.0"), None);
    }

    #[test]
    fn thread_cpu_time_counts_this_threads_work() {
        let (sum, busy) = measure(|| {
            (0..20_000_000u64).fold(0u64, |sum, i| sum.wrapping_add(std::hint::black_box(i)))
        });
        assert!(sum > 0);
        // The work ran on this thread: some CPU time, never more than the
        // wall time it took (a clock read as wall, or as another thread's
        // time, breaks one of the two).
        assert!(busy.cpu > Duration::ZERO, "{busy:?}");
        assert!(busy.cpu <= busy.wall + Duration::from_millis(2), "{busy:?}");
        // The process's clock counts this thread's work too.
        let (_, whole) = measure_process(|| {
            (0..20_000_000u64).fold(0u64, |sum, i| sum.wrapping_add(std::hint::black_box(i)))
        });
        assert!(whole.cpu > Duration::ZERO, "{whole:?}");
    }

    #[test]
    fn the_cheaper_of_two_measurements_is_taken_field_by_field() {
        let a = Cost {
            wall: Duration::from_millis(10),
            cpu: Duration::from_millis(8),
        };
        let b = Cost {
            wall: Duration::from_millis(12),
            cpu: Duration::from_millis(7),
        };
        let best = a.min(b);
        assert_eq!((best.wall, best.cpu), (a.wall, b.cpu));
        assert_eq!((a + b).cpu, Duration::from_millis(15));
        assert_eq!(per_second(30.0, Duration::from_secs(2)), 15.0);
        assert_eq!(per_second(30.0, Duration::ZERO), 0.0);
    }
}
