//! What an unfinished packet may cost, as the broker's front door bounds it: large unfinished
//! packets of all connections share one byte budget (`max_unfinished_bytes_total`), and a packet
//! must finish arriving within `packet_timeout` of its first byte. A peer that trickles a huge
//! packet, or many peers at once, cannot hold the proxy's memory or a connection for ever.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Unfinished packets smaller than this do not count against the shared budget.
const SMALL_UNFINISHED: usize = 64 * 1024;

/// The unfinished bytes one connection holds against the shared budget, and since when.
pub struct Unfinished<'a> {
    budget: &'a AtomicUsize,
    held: usize,
    since: [Option<Instant>; 2],
}

impl<'a> Unfinished<'a> {
    pub fn new(budget: &'a AtomicUsize) -> Unfinished<'a> {
        Unfinished {
            budget,
            held: 0,
            since: [None, None],
        }
    }

    /// Accounts what both buffers hold after framing (`buffered`: bytes of an unfinished packet
    /// each way; `framed`: whether a packet was completed that way in this step, which restarts
    /// the clock of the one now unfinished). Returns why the connection must close, if it must.
    pub fn update(
        &mut self,
        buffered: [usize; 2],
        framed: [bool; 2],
        max_total: usize,
        now: Instant,
    ) -> Result<(), &'static str> {
        for ((since, bytes), framed) in self.since.iter_mut().zip(buffered).zip(framed) {
            if bytes == 0 {
                *since = None;
            } else if framed || since.is_none() {
                *since = Some(now);
            }
        }
        let held: usize = buffered.iter().filter(|b| **b > SMALL_UNFINISHED).sum();
        if held > self.held {
            let added = held - self.held;
            let total = self.budget.fetch_add(added, Ordering::Relaxed) + added;
            self.held = held;
            if total > max_total {
                return Err("too many large packets are arriving at once");
            }
        } else {
            self.budget.fetch_sub(self.held - held, Ordering::Relaxed);
            self.held = held;
        }
        Ok(())
    }

    /// When the oldest unfinished packet runs out of time.
    pub fn deadline(&self, packet_timeout: Duration) -> Option<Instant> {
        self.since
            .iter()
            .flatten()
            .min()
            .map(|since| *since + packet_timeout)
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.held, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_unfinished_packets_share_one_budget_and_give_it_back() {
        let budget = AtomicUsize::new(0);
        let now = Instant::now();
        let mut a = Unfinished::new(&budget);
        let mut b = Unfinished::new(&budget);
        assert!(a.update([100_000, 0], [false; 2], 150_000, now).is_ok());
        assert!(
            b.update([0, 100_000], [false; 2], 150_000, now).is_err(),
            "over the total"
        );
        drop(b);
        assert_eq!(budget.load(Ordering::Relaxed), 100_000);
        assert!(a.update([10, 0], [false; 2], 150_000, now).is_ok());
        assert_eq!(budget.load(Ordering::Relaxed), 0, "small ones cost nothing");
        assert_eq!(
            a.deadline(Duration::from_secs(30)),
            Some(now + Duration::from_secs(30)),
            "the clock runs from the first byte"
        );
        assert!(a.update([0, 0], [false; 2], 150_000, now).is_ok());
        assert_eq!(a.deadline(Duration::from_secs(30)), None);
    }
}
