//! Charts drawn in Rust with plotters: message rates and payload values over time, as SVG. The
//! UI shows them as images (never as markup in its document) and exports them as SVG, or as PNG
//! rasterised from the same SVG. Never imports `tauri`.

use plotters::prelude::*;

/// One line of a chart: a label for the legend and one value per second, oldest first.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    pub label: &'a str,
    /// Per second; `None` where nothing is known (before a topic was watched).
    pub values: &'a [Option<f64>],
    pub color: RGBColor,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct RateChart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub x_label: &'a str,
    pub series: Vec<Series<'a>>,
    pub width: u32,
    pub height: u32,
    /// Colours for a dark background.
    pub dark: bool,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the chart failed: {0}")]
pub struct ChartError(String);

/// Colours of the two standard series.
pub const IN_COLOR: RGBColor = RGBColor(29, 111, 216);
pub const OUT_COLOR: RGBColor = RGBColor(46, 157, 79);

fn nice_max(max: f64) -> f64 {
    if max <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= max {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// Titles are user data (topic names): shorten very long ones so the chart stays readable.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let tail: String = text
        .chars()
        .rev()
        .take(max - 1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

/// Text, grid and background colours.
fn palette(dark: bool) -> (RGBColor, RGBColor, RGBColor) {
    if dark {
        (
            RGBColor(230, 232, 235),
            RGBColor(48, 54, 61),
            RGBColor(30, 34, 39),
        )
    } else {
        (
            RGBColor(27, 31, 36),
            RGBColor(217, 221, 227),
            RGBColor(255, 255, 255),
        )
    }
}

/// One drawn line: its legend, its points and its colour.
type Line<'a> = (&'a str, Vec<(f64, f64)>, RGBColor);

/// What both kinds of chart share: a titled frame, two axes and lines of points.
struct Lines<'a> {
    title: &'a str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_desc: &'a str,
    y_desc: &'a str,
    x_format: &'a dyn Fn(&f64) -> String,
    x_labels: usize,
    series: Vec<Line<'a>>,
    /// Mark each point (for values that arrive as separate messages).
    markers: bool,
    /// Name the lines in a legend (a single line named in the title needs none).
    legend: bool,
    width: u32,
    height: u32,
    dark: bool,
}

fn lines_svg(chart: &Lines<'_>) -> Result<String, ChartError> {
    let (fg, grid, bg) = palette(chart.dark);
    let width = chart.width.clamp(200, 4000);
    let height = chart.height.clamp(120, 3000);
    let mut svg = String::new();
    {
        let err = |e: &dyn std::fmt::Display| ChartError(e.to_string());
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&bg).map_err(|e| err(&e))?;
        let title = shorten(chart.title, 60);
        let mut ctx = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14).into_font().color(&fg))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(chart.x.clone(), chart.y.clone())
            .map_err(|e| err(&e))?;
        ctx.configure_mesh()
            .light_line_style(grid.mix(0.5))
            .bold_line_style(grid)
            .axis_style(fg.mix(0.6))
            .label_style(("sans-serif", 11).into_font().color(&fg))
            .x_desc(chart.x_desc)
            .x_label_formatter(chart.x_format)
            .y_desc(chart.y_desc)
            .x_labels(chart.x_labels)
            .y_labels(5)
            .draw()
            .map_err(|e| err(&e))?;
        for (label, points, color) in &chart.series {
            let color = *color;
            ctx.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(*label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            if chart.markers {
                ctx.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(|e| err(&e))?;
            }
        }
        if chart.legend {
            ctx.configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(bg.mix(0.8))
                .border_style(grid)
                .label_font(("sans-serif", 11).into_font().color(&fg))
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// Draws a line chart of per-second values over the last `n` seconds (x from -n to 0) as SVG.
pub fn rate_svg(chart: &RateChart<'_>) -> Result<String, ChartError> {
    let seconds = chart
        .series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let max = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b));
    let series = chart
        .series
        .iter()
        .map(|series| {
            let n = series.values.len() as f64;
            let points = series
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (i as f64 - (n - 1.0), v)))
                .collect();
            (series.label, points, series.color)
        })
        .collect();
    lines_svg(&Lines {
        title: chart.title,
        x: -(seconds as f64 - 1.0)..0.0,
        y: 0.0..nice_max(max),
        x_desc: chart.x_label,
        y_desc: chart.y_label,
        x_format: &|v| format!("{v:.0}"),
        x_labels: 7,
        series,
        markers: false,
        legend: true,
        width: chart.width,
        height: chart.height,
        dark: chart.dark,
    })
}

/// One number over time: the values read from a topic's kept messages.
#[derive(Debug, Clone)]
pub struct ValueChart<'a> {
    pub title: &'a str,
    /// Which value this is (shown after the title).
    pub label: &'a str,
    /// (time in ms since the Unix epoch, value), oldest first.
    pub points: &'a [(u64, f64)],
    /// The viewer's offset from UTC, for the clock times on the x axis.
    pub utc_offset_minutes: i32,
    pub width: u32,
    pub height: u32,
    pub dark: bool,
}

/// The narrowest time span a value chart shows.
const MIN_VALUE_SPAN_MS: f64 = 10_000.0;

/// `09:05:07` (or `09:05` over spans of more than ten minutes) for a time in ms since the epoch.
fn clock(ms: f64, offset_minutes: i32, seconds: bool) -> String {
    let local = (ms / 1000.0).round() as i64 + i64::from(offset_minutes) * 60;
    let day = local.rem_euclid(86_400);
    let (h, m, s) = (day / 3600, day / 60 % 60, day % 60);
    if seconds {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}")
    }
}

/// Draws a value chart as SVG: the values at their arrival times, with clock times below.
pub fn value_svg(chart: &ValueChart<'_>) -> Result<String, ChartError> {
    let points = chart.points;
    // At least ten seconds wide, ending at the newest value: a burst of values stays readable.
    let x1 = points
        .last()
        .map_or_else(|| workbench_wire::now_ms() as f64, |p| p.0 as f64);
    let x0 = points
        .first()
        .map_or(x1, |p| p.0 as f64)
        .min(x1 - MIN_VALUE_SPAN_MS);
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let (lo, hi) = if lo > hi { (0.0, 1.0) } else { (lo, hi) };
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        (hi.abs() * 0.1).max(1.0)
    };
    let offset = chart.utc_offset_minutes.clamp(-18 * 60, 18 * 60);
    let with_seconds = x1 - x0 <= 600_000.0;
    let format = move |v: &f64| clock(*v, offset, with_seconds);
    // A little room on both sides, so the first and last markers are drawn whole.
    let room = (x1 - x0) * 0.02;
    let title = if chart.label.is_empty() {
        chart.title.to_string()
    } else {
        format!("{} · {}", shorten(chart.title, 40), chart.label)
    };
    lines_svg(&Lines {
        title: &title,
        x: x0 - room..x1 + room,
        y: lo - pad..hi + pad,
        x_desc: "",
        y_desc: "",
        x_format: &format,
        x_labels: 4,
        series: vec![(
            chart.label,
            points.iter().map(|p| (p.0 as f64, p.1)).collect(),
            IN_COLOR,
        )],
        markers: points.len() <= 200,
        legend: false,
        width: chart.width,
        height: chart.height,
        dark: chart.dark,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_series_and_escapes_markup_in_titles() {
        let incoming: Vec<Option<f64>> = (0..60).map(|i| Some(f64::from(i))).collect();
        let outgoing: Vec<Option<f64>> = (0..60).map(|i| (i > 30).then_some(5.0)).collect();
        let svg = rate_svg(&RateChart {
            title: "home/<script>alert(1)</script>",
            y_label: "msg/s",
            x_label: "s",
            series: vec![
                Series {
                    label: "in",
                    values: &incoming,
                    color: IN_COLOR,
                },
                Series {
                    label: "out",
                    values: &outgoing,
                    color: OUT_COLOR,
                },
            ],
            width: 480,
            height: 200,
            dark: false,
        })
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(!svg.contains("<script>"), "markup in the title is escaped");
        assert!(svg.contains("&lt;script&gt;"));
        for color in ["#1D6FD8", "#2E9D4F"] {
            let lines = svg
                .lines()
                .filter(|l| l.starts_with("<polyline") && l.contains(color))
                .count();
            assert_eq!(lines, 2, "{color}: the series and its legend mark");
        }
    }

    #[test]
    fn value_charts_mark_each_message_and_tell_clock_times() {
        // 09:00:00, 09:00:30 and 09:01:00 UTC on some day, shown at UTC+2.
        let base = 1_700_000_000_000u64 - 1_700_000_000_000u64 % 86_400_000 + 9 * 3_600_000;
        let points = [(base, 20.5), (base + 30_000, 21.0), (base + 60_000, -3.0)];
        let svg = value_svg(&ValueChart {
            title: "plant/<b>temp</b>",
            label: "/celsius",
            points: &points,
            utc_offset_minutes: 120,
            width: 400,
            height: 180,
            dark: false,
        })
        .unwrap();
        assert!(!svg.contains("<b>"), "markup in the title is escaped");
        assert!(svg.contains("11:00:00"), "clock times in local time");
        assert_eq!(svg.matches("<circle").count(), 3, "one marker per message");
        assert!(svg.contains("/celsius"));
        assert_eq!(clock(0.0, -60, true), "23:00:00");
        assert_eq!(clock(3_600_000.0 * 25.0, 0, false), "01:00");
        // No values and a single value still draw.
        for points in [&[][..], &points[..1]] {
            let svg = value_svg(&ValueChart {
                title: "",
                label: "",
                points,
                utc_offset_minutes: 0,
                width: 300,
                height: 150,
                dark: true,
            })
            .unwrap();
            assert!(svg.contains("</svg>"));
        }
    }

    #[test]
    fn empty_and_flat_series_still_draw() {
        let zeros = vec![Some(0.0); 60];
        let svg = rate_svg(&RateChart {
            title: "",
            y_label: "msg/s",
            x_label: "s",
            series: vec![Series {
                label: "in",
                values: &zeros,
                color: IN_COLOR,
            }],
            width: 300,
            height: 150,
            dark: true,
        })
        .unwrap();
        assert!(svg.contains("</svg>"));
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(37.0), 50.0);
        assert_eq!(nice_max(101.0), 200.0);
    }
}
