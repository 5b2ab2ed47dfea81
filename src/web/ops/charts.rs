//! Charts as inline SVG, drawn on the server: no script, nothing fetched, so the console works
//! without internet. Written with maud like every page, so every label is escaped; colours and
//! sizes are SVG attributes (the console's CSP allows no inline styles). Each bar and point
//! carries a `<title>` with its figure (shown on hover, read by screen readers).

use maud::{Markup, html};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 36.0;
/// At most this many date labels under the x axis.
const X_LABELS: usize = 10;

/// One series of a chart: its name (the legend), colour and one value per label (`None`: no
/// figure that day).
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'static str,
    pub values: Vec<Option<f64>>,
}

/// How the series are drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Bars stacked per label.
    Stacked,
    /// One line per series, a dot per figure.
    Lines,
}

/// A step for the y axis that makes about four gridlines up to `max`: 1, 2 or 5 times a power of ten.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 4.0).max(1.0);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power)
}

fn figure(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// A chart of `series` over `labels` (one per x position), with a title, axis, gridlines and legend.
pub fn chart(title: &str, labels: &[String], series: &[Series<'_>], style: Style) -> Markup {
    let n = labels.len().max(1);
    let top_value = match style {
        Style::Stacked => (0..n)
            .map(|i| {
                series
                    .iter()
                    .filter_map(|s| s.values.get(i).copied().flatten())
                    .sum::<f64>()
            })
            .fold(0.0, f64::max),
        Style::Lines => series
            .iter()
            .flat_map(|s| s.values.iter().copied().flatten())
            .fold(0.0, f64::max),
    };
    let step = nice_step(top_value);
    let y_max = (top_value / step).ceil().max(1.0) * step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let y = |v: f64| TOP + plot_h - v / y_max * plot_h;
    let x_mid = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let gridlines: Vec<f64> = (0..=((y_max / step).round() as usize))
        .map(|k| k as f64 * step)
        .collect();
    let every = n.div_ceil(X_LABELS);
    let view = format!("0 0 {WIDTH} {HEIGHT}");
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(view) width="100%" role="img" aria-label=(title) {
                title { (title) }
                text x=(px(LEFT)) y="16" font-size="13" font-weight="bold" fill="#1b2733" { (title) }
                @for g in &gridlines {
                    line x1=(px(LEFT)) x2=(px(WIDTH - RIGHT)) y1=(px(y(*g))) y2=(px(y(*g))) stroke="#e1e5ea" stroke-width="1" {}
                    text x=(px(LEFT - 6.0)) y=(px(y(*g) + 4.0)) font-size="11" text-anchor="end" fill="#55606b" { (figure(*g)) }
                }
                @for (i, label) in labels.iter().enumerate() {
                    @if i % every == 0 {
                        text x=(px(x_mid(i))) y=(px(HEIGHT - BOTTOM + 16.0)) font-size="11" text-anchor="middle" fill="#55606b" { (label) }
                    }
                }
                @match style {
                    Style::Stacked => { (stacked(labels, series, slot, &y, &x_mid)) }
                    Style::Lines => { (lines(labels, series, &y, &x_mid)) }
                }
                (legend(series))
            }
        }
    }
}

fn stacked(
    labels: &[String],
    series: &[Series<'_>],
    slot: f64,
    y: &dyn Fn(f64) -> f64,
    x_mid: &dyn Fn(usize) -> f64,
) -> Markup {
    let w = (slot * 0.7).max(1.0);
    // (x, top, height, colour, tooltip) per bar segment.
    let mut bars: Vec<(f64, f64, f64, &str, String)> = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let mut base = 0.0;
        for s in series {
            if let Some(v) = s.values.get(i).copied().flatten().filter(|v| *v > 0.0) {
                let tip = format!("{label} {}：{}", s.name, figure(v));
                bars.push((x_mid(i) - w / 2.0, y(base + v), y(base) - y(base + v), s.color, tip));
                base += v;
            }
        }
    }
    html! {
        @for (x, top, h, color, tip) in &bars {
            rect x=(px(*x)) y=(px(*top)) width=(px(w)) height=(px(*h)) fill=(color) { title { (tip) } }
        }
    }
}

fn lines(labels: &[String], series: &[Series<'_>], y: &dyn Fn(f64) -> f64, x_mid: &dyn Fn(usize) -> f64) -> Markup {
    html! {
        @for s in series {
            @let points: Vec<String> = s.values.iter().enumerate()
                .filter_map(|(i, v)| v.map(|v| format!("{},{}", px(x_mid(i)), px(y(v)))))
                .collect();
            @if points.len() > 1 {
                polyline points=(points.join(" ")) fill="none" stroke=(s.color) stroke-width="2" {}
            }
            @for (i, v) in s.values.iter().enumerate() {
                @if let Some(v) = v {
                    circle cx=(px(x_mid(i))) cy=(px(y(*v))) r="3" fill=(s.color) {
                        title { (labels.get(i).map_or("", String::as_str)) " " (s.name) "：" (figure(*v)) }
                    }
                }
            }
        }
    }
}

fn legend(series: &[Series<'_>]) -> Markup {
    html! {
        @for (i, s) in series.iter().enumerate() {
            @let x = LEFT + 110.0 * i as f64;
            rect x=(px(x)) y="22" width="10" height="10" fill=(s.color) {}
            text x=(px(x + 14.0)) y="31" font-size="11" fill="#1b2733" { (s.name) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round_and_labels_escaped() {
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(7.0), 2.0);
        assert_eq!(nice_step(130.0), 50.0);
        let labels = vec!["<b>11-28</b>".to_string(), "11-29".to_string()];
        let svg = chart(
            "每日<提问>",
            &labels,
            &[Series {
                name: "回答&",
                color: "#2e7d32",
                values: vec![Some(3.0), None],
            }],
            Style::Stacked,
        )
        .into_string();
        assert!(
            svg.contains("每日&lt;提问&gt;") && svg.contains("&lt;b&gt;11-28") && svg.contains("回答&amp;"),
            "{svg}"
        );
        assert!(!svg.contains("<b>"));
        assert_eq!(svg.matches("<rect").count(), 2, "one bar, one legend key: {svg}");
        let line = chart(
            "t",
            &labels,
            &[Series {
                name: "a",
                color: "#000",
                values: vec![Some(1.0), Some(2.0)],
            }],
            Style::Lines,
        )
        .into_string();
        assert!(
            line.contains("<polyline") && line.matches("<circle").count() == 2,
            "{line}"
        );
    }
}
