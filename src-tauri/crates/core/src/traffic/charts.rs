//! Charts of a source's traffic, as SVG drawn by [`workbench_charts`]: message rates (the source's
//! in and out, or one topic's), and one number read out of a topic's kept payloads.

use crate::error::{ErrorCode, IpcError};
use crate::hub::{TrafficHub, ViewerId};
use workbench_charts::{rate_svg, RateChart, Series, IN_COLOR, OUT_COLOR};
use workbench_traffic::rates::RateWindow;
use workbench_traffic::values::{check_pointer, kept_payloads, value_points};
use workbench_traffic::SourceId;

/// The words on a chart, in the UI's language.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ChartLabels {
    /// Title of the source-wide chart.
    pub title: String,
    /// Legend of the incoming and outgoing series.
    pub incoming: String,
    pub outgoing: String,
    /// Legend of a topic's series.
    pub topic: String,
    /// The y axis unit ("msg/s") and the x axis unit ("s").
    pub unit: String,
    pub seconds: String,
}

/// A rate chart as SVG, for one viewer: without `node`, its source's messages per second in and
/// out over the last 60 s; with `node`, that topic's (and its subtree's) messages per second,
/// from the kept messages as far back as they are complete, then sampled.
pub fn rate_chart(
    hub: &TrafficHub,
    viewer: ViewerId,
    node: Option<u32>,
    dark: bool,
    width: u32,
    height: u32,
    labels: &ChartLabels,
) -> Result<String, IpcError> {
    const SECONDS: u64 = 60;
    let now_ms = crate::now_ms();
    let now = now_ms / 1000;
    let chart_error =
        |e: workbench_charts::ChartError| IpcError::new(ErrorCode::Internal, e.to_string());
    let source = hub
        .viewer_source(viewer)
        .ok_or_else(|| IpcError::new(ErrorCode::NotFound, "that view is closed"))?;
    let source = &source;
    match node {
        None => {
            let (incoming, outgoing) = hub.read_source(source, |s| {
                let points = |w: &RateWindow| -> Vec<Option<f64>> {
                    w.series(now, SECONDS)
                        .iter()
                        .map(|p| Some(p.messages as f64))
                        .collect()
                };
                (points(&s.rates), points(&s.rates_out))
            });
            rate_svg(&RateChart {
                title: &labels.title,
                y_label: &labels.unit,
                x_label: &labels.seconds,
                series: vec![
                    Series {
                        label: &labels.incoming,
                        values: &incoming,
                        color: IN_COLOR,
                    },
                    Series {
                        label: &labels.outgoing,
                        values: &outgoing,
                        color: OUT_COLOR,
                    },
                ],
                width,
                height,
                dark,
            })
            .map_err(chart_error)
        }
        Some(node) => {
            let topic =
                hub.read_source(source, |s| s.tree.node(node).map(|_| s.tree.topic_of(node)));
            let Some(topic) = topic else {
                return Err(IpcError::new(
                    ErrorCode::NotFound,
                    format!("no topic node {node}"),
                ));
            };
            let values = hub
                .topic_series(viewer, node, SECONDS as usize, now_ms)
                .unwrap_or_default();
            rate_svg(&RateChart {
                title: &topic,
                y_label: &labels.unit,
                x_label: &labels.seconds,
                series: vec![Series {
                    label: &labels.topic,
                    values: &values,
                    color: IN_COLOR,
                }],
                width,
                height,
                dark,
            })
            .map_err(chart_error)
        }
    }
}

/// A value chart and what went into it.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ValueChartImage {
    pub svg: String,
    /// Messages that held a number at the pointer (the points drawn).
    pub points: u32,
    /// Kept messages that did not (not numbers, broken JSON, larger than 64 KiB).
    pub skipped: u32,
}

/// One number over the topic's kept messages (the last 100), as SVG: the whole payload read as a
/// number when `pointer` is empty, else the JSON field it names (`/sensors/0/celsius`). Times on
/// the x axis are shown at `utc_offset_minutes` from UTC (the viewer's clock); `label` is the
/// legend, in the UI's language.
#[allow(clippy::too_many_arguments)] // each is one plain value the UI passes
pub fn value_chart(
    hub: &TrafficHub,
    source: &SourceId,
    node: u32,
    pointer: &str,
    dark: bool,
    width: u32,
    height: u32,
    utc_offset_minutes: i32,
    label: &str,
) -> Result<ValueChartImage, IpcError> {
    check_pointer(pointer).map_err(|e| IpcError::new(ErrorCode::InvalidInput, e.to_string()))?;
    let found = hub.read_source(source, |s| {
        let kept = kept_payloads(&s.tree.node(node)?.history);
        Some((s.tree.topic_of(node), kept))
    });
    let Some((topic, kept)) = found else {
        return Err(IpcError::new(
            ErrorCode::NotFound,
            "that topic is no longer in the tree",
        ));
    };
    // Parsed with the model unlocked: ingestion never waits for a chart.
    let (points, skipped) = value_points(&kept, pointer);
    let svg = workbench_charts::value_svg(&workbench_charts::ValueChart {
        title: &topic,
        label,
        points: &points,
        utc_offset_minutes,
        width,
        height,
        dark,
    })
    .map_err(|e| IpcError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(ValueChartImage {
        svg,
        points: points.len() as u32,
        skipped: skipped as u32,
    })
}
