//! Charts drawn in Rust with plotters: message rates over time, as SVG. The UI shows them as
//! images (never as markup in its document) and exports them as SVG, or as PNG rasterised from
//! the same SVG. Never imports `tauri`.

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
    let (fg, grid, bg) = if chart.dark {
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
    };
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
            .build_cartesian_2d(-(seconds as f64 - 1.0)..0.0, 0.0..nice_max(max))
            .map_err(|e| err(&e))?;
        ctx.configure_mesh()
            .light_line_style(grid.mix(0.5))
            .bold_line_style(grid)
            .axis_style(fg.mix(0.6))
            .label_style(("sans-serif", 11).into_font().color(&fg))
            .x_desc(chart.x_label)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc(chart.y_label)
            .x_labels(7)
            .y_labels(5)
            .draw()
            .map_err(|e| err(&e))?;
        for series in &chart.series {
            let n = series.values.len();
            let points: Vec<(f64, f64)> = series
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (i as f64 - (n as f64 - 1.0), v)))
                .collect();
            let color = series.color;
            ctx.draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(series.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        ctx.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(bg.mix(0.8))
            .border_style(grid)
            .label_font(("sans-serif", 11).into_font().color(&fg))
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
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
