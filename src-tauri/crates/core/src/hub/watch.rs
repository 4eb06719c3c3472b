//! The rate of one node a viewer has selected (its whole subtree), per second: started from the
//! kept histories as far back as they are exact, then sampled from the node's counter. Nothing
//! on the message path, nothing ticking: a sample taken after a quiet spell spreads what arrived
//! over the seconds that passed.

use std::collections::VecDeque;
use workbench_traffic::rates::HISTORY;
use workbench_traffic::tree::{NodeId, TopicTree};

/// The most nodes a selection's backfill reads (beyond that the chart starts empty).
const BACKFILL_NODES: usize = 200_000;

#[derive(Debug)]
pub struct TopicWatch {
    pub node: NodeId,
    second: u64,
    count: u64,
    /// One value per second, oldest first; at most [`HISTORY`].
    values: VecDeque<f64>,
}

impl TopicWatch {
    /// Starts watching `node` of `tree` at `now_ms`, with its recent past.
    pub fn start(tree: &TopicTree, node: NodeId, now_ms: u64) -> TopicWatch {
        let second = now_ms / 1000;
        let count = tree.node(node).map_or(0, |n| n.subtree_count);
        let from = second.saturating_sub(HISTORY as u64);
        let past = tree.recent_counts(node, from, second + 1, BACKFILL_NODES);
        let mut values = VecDeque::new();
        let mut baseline = count;
        if let Some((exact_from, mut counts)) = past {
            // The current second is still running: the first sample counts it whole.
            if exact_from <= second {
                baseline -= counts.pop().unwrap_or(0).min(count);
            }
            values.extend(counts.into_iter().map(|c| c as f64));
        }
        TopicWatch {
            node,
            second,
            count: baseline,
            values,
        }
    }

    /// Takes the node's count at `now_ms` (`None`: the node is gone). Seconds that passed since
    /// the last sample share what arrived meanwhile.
    pub fn sample(&mut self, count: Option<u64>, now_ms: u64) -> bool {
        let second = now_ms / 1000;
        if second <= self.second {
            return true;
        }
        let Some(count) = count else {
            return false;
        };
        let elapsed = second - self.second;
        let delta = count.saturating_sub(self.count) as f64;
        for _ in 0..elapsed.min(HISTORY as u64) {
            self.values.push_back(delta / elapsed as f64);
            if self.values.len() > HISTORY {
                self.values.pop_front();
            }
        }
        self.second = second;
        self.count = count;
        true
    }

    /// The last `seconds` per-second values, `None` for seconds before the watch knew.
    pub fn series(&self, seconds: usize) -> Vec<Option<f64>> {
        let known = self.values.len();
        let start = known.saturating_sub(seconds);
        let mut out = vec![None; seconds.saturating_sub(known - start)];
        out.extend(self.values.iter().skip(start).map(|v| Some(*v)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workbench_traffic::history::HistoryLimits;
    use workbench_traffic::tree::Incoming;

    fn record(tree: &mut TopicTree, n: usize, time_ms: u64) {
        for _ in 0..n {
            tree.record(&Incoming {
                topic: "a/b",
                payload: b"x",
                qos: 0,
                retain: false,
                time_ms,
            });
        }
    }

    #[test]
    fn a_watched_topic_gets_one_rate_value_per_second_and_its_recent_past_at_once() {
        let mut tree = TopicTree::new(HistoryLimits::default());
        record(&mut tree, 2, 8_100);
        record(&mut tree, 1, 9_500);
        record(&mut tree, 3, 10_200);
        let node = tree.find("a").expect("a");
        let count = |tree: &TopicTree| tree.node(node).map(|n| n.subtree_count);
        let mut watch = TopicWatch::start(&tree, node, 10_400);
        // Seconds 7, 8 and 9 come from the histories; the running second 10 is not shown yet.
        assert_eq!(watch.series(3), vec![Some(0.0), Some(2.0), Some(1.0)]);
        record(&mut tree, 2, 10_700);
        watch.sample(count(&tree), 10_900); // same second: nothing yet
        watch.sample(count(&tree), 11_000);
        record(&mut tree, 4, 12_000);
        watch.sample(count(&tree), 13_000); // two seconds passed: 4 messages spread over them
        assert_eq!(
            watch.series(5),
            vec![Some(2.0), Some(1.0), Some(5.0), Some(2.0), Some(2.0)]
        );
        // A node whose history dropped messages starts where it is exact: a/b keeps 100 of
        // its 107 messages, the oldest kept at 10.7 s, so seconds from 11 on are known.
        record(&mut tree, 95, 12_500);
        let watch = TopicWatch::start(&tree, node, 13_100);
        assert_eq!(
            watch.series(5),
            vec![None, None, None, Some(0.0), Some(99.0)]
        );
        assert!(!TopicWatch::start(&tree, node, 14_000).clone_sample_gone());
    }

    impl TopicWatch {
        fn clone_sample_gone(mut self) -> bool {
            self.sample(None, 99_000)
        }
    }
}
