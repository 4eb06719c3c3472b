//! Viewers: each window, pane or browser page looking at a source has its own tree view
//! (expanded nodes, filter, the rows on screen), its own selected node with its rate, and its own
//! sink for frames. None disturbs another; any number may look at one source.
//!
//! Frames are pushed, never polled: a viewer gets a frame when its source or its view changed (at
//! most about 30 a second), and once a second while its source had traffic within the last
//! minute (rates and charts move); then nothing. An idle app sends nothing and wakes for nothing.

use super::watch::TopicWatch;
use workbench_traffic::tree::{NodeId, NotShown};
use workbench_traffic::view::{Row, TreeView};
use workbench_traffic::SourceId;

/// Identifies one viewer.
pub type ViewerId = u32;

/// Where a viewer's frames go (a Tauri channel, a WebSocket, a test's vector).
pub trait FrameSink: Send + Sync {
    /// Delivers a frame; false when the viewer is gone (its window closed), which ends it.
    fn send(&self, frame: Frame) -> bool;
}

/// What a frame tells a viewer about its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub viewer: ViewerId,
    pub source: SourceId,
    pub rows: Vec<Row>,
    pub row_count: usize,
    pub from: usize,
    pub topics: usize,
    pub messages: u64,
    pub rate_in: f64,
    pub rate_out: f64,
    pub history_bytes: usize,
    pub packets: u64,
    /// Events the broker dropped because the model fell behind (never expected; shown if so).
    pub dropped: u64,
    /// Topics and their messages counted but not shown in the tree (too deep, or too many).
    pub not_shown: NotShown,
    /// With a filter, how many topics match it.
    pub matches: Option<usize>,
}

/// A viewer's state.
pub(super) struct Viewer {
    pub source: SourceId,
    pub view: TreeView,
    /// The rows on screen: `from..from + count`.
    pub window: (usize, usize),
    pub sink: std::sync::Arc<dyn FrameSink>,
    /// Bumped by every change of the view (window, filter, expansion).
    pub view_generation: u64,
    /// The source's version and the view's generation the last frame showed.
    pub sent: Option<(u64, u64)>,
    pub last_sent_ms: u64,
    pub watch: Option<TopicWatch>,
}

impl Viewer {
    pub fn new(source: SourceId, sink: std::sync::Arc<dyn FrameSink>) -> Viewer {
        Viewer {
            source,
            view: TreeView::default(),
            window: (0, 100),
            sink,
            view_generation: 0,
            sent: None,
            last_sent_ms: 0,
            watch: None,
        }
    }

    pub fn changed(&mut self) {
        self.view_generation += 1;
    }

    /// The node this viewer charts, if it is `node`.
    pub fn watching(&self, node: NodeId) -> bool {
        self.watch.as_ref().is_some_and(|w| w.node == node)
    }
}

/// How long a source stays "active" after its last message: the rate chart's window, plus a
/// second so that the chart's last frame shows the rates back at zero.
pub const ACTIVE_MS: u64 = 61_000;
/// How often an active source's viewers get a frame when nothing changed (rates move).
pub const REFRESH_MS: u64 = 1_000;
