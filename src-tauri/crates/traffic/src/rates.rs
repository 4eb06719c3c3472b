//! Message rates: an exact per-second window for a source as a whole (which also gives the chart
//! its points), and a compact per-topic estimate that costs a few words per topic.

/// Messages and bytes in one second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RatePoint {
    /// Seconds since the Unix epoch.
    pub second: u64,
    pub messages: u64,
    pub bytes: u64,
}

/// Rates over the last 1, 10 and 60 seconds, in messages and bytes per second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub messages_1s: f64,
    pub messages_10s: f64,
    pub messages_60s: f64,
    pub bytes_1s: f64,
    pub bytes_10s: f64,
    pub bytes_60s: f64,
}

/// An exact sliding window of per-second counts, kept for `HISTORY` seconds.
#[derive(Debug, Clone)]
pub struct RateWindow {
    points: std::collections::VecDeque<RatePoint>,
}

/// How many seconds of rate points a window keeps (for charts).
pub const HISTORY: usize = 300;

impl Default for RateWindow {
    fn default() -> Self {
        RateWindow {
            points: std::collections::VecDeque::with_capacity(HISTORY + 1),
        }
    }
}

impl RateWindow {
    /// Counts one message of `bytes` at `second`.
    pub fn record(&mut self, second: u64, bytes: u64) {
        match self.points.back_mut() {
            Some(last) if last.second == second => {
                last.messages += 1;
                last.bytes += bytes;
            }
            Some(last) if last.second > second => {
                // A late event (clock step or reordering): count it in the newest second.
                last.messages += 1;
                last.bytes += bytes;
            }
            _ => {
                self.points.push_back(RatePoint {
                    second,
                    messages: 1,
                    bytes,
                });
                while self.points.len() > HISTORY {
                    self.points.pop_front();
                }
            }
        }
    }

    /// Rates as of `now` (seconds): the last 1, 10 and 60 complete seconds before `now`.
    pub fn rates(&self, now: u64) -> Rates {
        let sum = |span: u64| {
            let from = now.saturating_sub(span);
            self.points
                .iter()
                .rev()
                .filter(|p| p.second >= from && p.second < now)
                .fold((0u64, 0u64), |(m, b), p| (m + p.messages, b + p.bytes))
        };
        let (m1, b1) = sum(1);
        let (m10, b10) = sum(10);
        let (m60, b60) = sum(60);
        Rates {
            messages_1s: m1 as f64,
            messages_10s: m10 as f64 / 10.0,
            messages_60s: m60 as f64 / 60.0,
            bytes_1s: b1 as f64,
            bytes_10s: b10 as f64 / 10.0,
            bytes_60s: b60 as f64 / 60.0,
        }
    }

    /// One point per second for the last `seconds` complete seconds before `now`, zeros included.
    pub fn series(&self, now: u64, seconds: u64) -> Vec<RatePoint> {
        let from = now.saturating_sub(seconds);
        (from..now)
            .map(|second| {
                self.points
                    .iter()
                    .rev()
                    .find(|p| p.second == second)
                    .copied()
                    .unwrap_or(RatePoint {
                        second,
                        messages: 0,
                        bytes: 0,
                    })
            })
            .collect()
    }
}

/// A topic's rate in a few words: the count of the current and of the previous second, and
/// exponentially weighted averages standing in for the 10 s and 60 s windows.
#[derive(Debug, Clone, Copy, Default)]
pub struct TopicRate {
    second: u64,
    current: u32,
    current_bytes: u32,
    previous: u32,
    previous_bytes: u32,
    avg10: f32,
    avg10_bytes: f32,
    avg60: f32,
    avg60_bytes: f32,
}

impl TopicRate {
    /// Moves the averages forward to `second`.
    fn roll(&mut self, second: u64) {
        if second <= self.second {
            return;
        }
        let elapsed = second - self.second;
        // The second that just ended enters the averages, then the empty ones since.
        for (avg, span) in [(&mut self.avg10, 10.0f32), (&mut self.avg60, 60.0)] {
            *avg += (self.current as f32 - *avg) / span;
        }
        for (avg, span) in [
            (&mut self.avg10_bytes, 10.0f32),
            (&mut self.avg60_bytes, 60.0),
        ] {
            *avg += (self.current_bytes as f32 - *avg) / span;
        }
        let empty = (elapsed - 1).min(1000) as i32;
        if empty > 0 {
            self.avg10 *= (0.9f32).powi(empty);
            self.avg10_bytes *= (0.9f32).powi(empty);
            self.avg60 *= (59.0f32 / 60.0).powi(empty);
            self.avg60_bytes *= (59.0f32 / 60.0).powi(empty);
        }
        if elapsed == 1 {
            self.previous = self.current;
            self.previous_bytes = self.current_bytes;
        } else {
            self.previous = 0;
            self.previous_bytes = 0;
        }
        self.current = 0;
        self.current_bytes = 0;
        self.second = second;
    }

    pub fn record(&mut self, second: u64, bytes: u64) {
        self.roll(second);
        self.current = self.current.saturating_add(1);
        self.current_bytes = self
            .current_bytes
            .saturating_add(bytes.min(u64::from(u32::MAX)) as u32);
    }

    /// Rates as of `now` (seconds), without changing the estimate.
    pub fn rates(&self, now: u64) -> Rates {
        let mut copy = *self;
        copy.roll(now);
        Rates {
            messages_1s: copy.previous as f64,
            messages_10s: copy.avg10 as f64,
            messages_60s: copy.avg60 as f64,
            bytes_1s: copy.previous_bytes as f64,
            bytes_10s: copy.avg10_bytes as f64,
            bytes_60s: copy.avg60_bytes as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_complete_seconds() {
        let mut window = RateWindow::default();
        for second in 100..110 {
            for _ in 0..5 {
                window.record(second, 10);
            }
        }
        let rates = window.rates(110);
        assert_eq!(rates.messages_1s, 5.0);
        assert_eq!(rates.messages_10s, 5.0);
        assert_eq!(rates.bytes_1s, 50.0);
        assert!((rates.messages_60s - 50.0 / 60.0).abs() < 1e-9);
        // The current, incomplete second does not count yet.
        window.record(110, 10);
        assert_eq!(window.rates(110).messages_1s, 5.0);
        let series = window.series(112, 4);
        let counts: Vec<u64> = series.iter().map(|p| p.messages).collect();
        assert_eq!(counts, vec![5, 5, 1, 0]);
    }

    #[test]
    fn window_is_bounded() {
        let mut window = RateWindow::default();
        for second in 0..10_000 {
            window.record(second, 1);
        }
        assert_eq!(window.points.len(), HISTORY);
    }

    #[test]
    fn topic_rate_follows_a_steady_stream_and_decays() {
        let mut rate = TopicRate::default();
        for second in 1..=200 {
            for _ in 0..20 {
                rate.record(second, 100);
            }
        }
        let steady = rate.rates(201);
        assert_eq!(steady.messages_1s, 20.0);
        assert!((steady.messages_10s - 20.0).abs() < 0.5, "{steady:?}");
        assert!((steady.messages_60s - 20.0).abs() < 1.0, "{steady:?}");
        let quiet = rate.rates(400);
        assert_eq!(quiet.messages_1s, 0.0);
        assert!(
            quiet.messages_10s < 0.01 && quiet.messages_60s < 1.0,
            "{quiet:?}"
        );
    }
}
