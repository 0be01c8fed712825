//! Learning curves of a `fit` run (plotters): the training and validation loss per epoch
//! beside the validation metric (accuracy, or MAE in the targets' units), the best epoch
//! marked. PNG or SVG by the file's extension; text is drawn with a TrueType font found on
//! the system (Debian's `fonts-dejavu-core`), and a plot is refused, not drawn without
//! labels, when none is there.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use plotters::prelude::*;

use crate::fit::EpochLog;

/// Where a sans-serif TrueType font is looked for, in order.
pub const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Size of the picture, pixels (PNG) or user units (SVG).
const SIZE: (u32, u32) = (1000, 420);

/// Registers the first font of [`FONT_PATHS`] as plotters' `sans-serif` (once per process).
fn register_font() -> Result<()> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let Some(bytes) = FONT_PATHS.iter().find_map(|p| std::fs::read(p).ok()) else {
            return Err(format!(
                "no TrueType font for the plot's text (looked for {}); install Debian's fonts-dejavu-core",
                FONT_PATHS.join(", ")
            ));
        };
        plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            Box::leak(bytes.into_boxed_slice()),
        )
        .map_err(|_| "the font file is not a TrueType font plotters can read".to_string())
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// The bytes of the learning-curve picture of `epochs` (`png` or `svg`); `best` is the
/// 1-based epoch whose weights were kept, `metric` the validation metric's name.
///
/// # Errors
/// No font, an empty run, or a drawing error.
pub fn learning_curves(
    epochs: &[EpochLog],
    best: usize,
    png: bool,
    title: &str,
) -> Result<Vec<u8>> {
    register_font()?;
    if epochs.is_empty() {
        bail!("no epoch to plot");
    }
    if png {
        let (w, h) = SIZE;
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
            draw(&root, epochs, best, title)?;
            root.present().map_err(|e| anyhow!("{e}"))?;
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header().context("cannot encode the PNG")?;
            writer
                .write_image_data(&rgb)
                .context("cannot encode the PNG")?;
        }
        Ok(out)
    } else {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            draw(&root, epochs, best, title)?;
            root.present().map_err(|e| anyhow!("{e}"))?;
        }
        Ok(svg.into_bytes())
    }
}

/// Whether `path` names a PNG (`true`) or an SVG (`false`) file.
///
/// # Errors
/// Another extension.
pub fn is_png(path: &Path) -> Result<bool> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png") => Ok(true),
        Some("svg") => Ok(false),
        _ => bail!(
            "--plot {}: the extension says the format, .png or .svg",
            path.display()
        ),
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    epochs: &[EpochLog],
    best: usize,
    title: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("cannot draw the plot: {x}");
    root.fill(&WHITE).map_err(e)?;
    let root = root.titled(title, ("sans-serif", 18)).map_err(e)?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    let n = epochs.len() as f64;
    let finite = |v: f64| v.is_finite().then_some(v);
    let losses: Vec<f64> = epochs
        .iter()
        .flat_map(|p| [finite(p.train_loss), finite(p.val.loss)])
        .flatten()
        .collect();
    let top = losses.iter().copied().fold(0.0_f64, f64::max).max(1e-9) * 1.05;
    let mut c = ChartBuilder::on(&left)
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(1.0..n.max(2.0), 0.0..top)
        .map_err(e)?;
    let ticks = epochs.len().clamp(2, 10);
    c.configure_mesh()
        .x_desc("epoch")
        .y_desc("loss")
        .x_labels(ticks)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .map_err(e)?;
    let series = |f: fn(&EpochLog) -> f64| -> Vec<(f64, f64)> {
        epochs
            .iter()
            .filter_map(|p| finite(f(p)).map(|v| (p.epoch as f64, v)))
            .collect()
    };
    c.draw_series(LineSeries::new(
        series(|p| p.train_loss),
        BLUE.stroke_width(2),
    ))
    .map_err(e)?
    .label("train loss")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    c.draw_series(LineSeries::new(series(|p| p.val.loss), RED.stroke_width(2)))
        .map_err(e)?
        .label("validation loss")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    c.draw_series(std::iter::once(PathElement::new(
        vec![(best as f64, 0.0), (best as f64, top)],
        BLACK.stroke_width(2),
    )))
    .map_err(e)?
    .label(format!("best epoch {best}"))
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    c.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(e)?;
    // The validation metric: accuracy for classifiers, MAE for regressors.
    let (name, metric): (&str, fn(&EpochLog) -> f64) = if epochs[0].val.accuracy.is_some() {
        ("validation accuracy", |p| {
            p.val.accuracy.unwrap_or(f64::NAN)
        })
    } else {
        ("validation MAE", |p| p.val.mae.unwrap_or(f64::NAN))
    };
    let points = series(metric);
    let hi = points.iter().map(|p| p.1).fold(0.0_f64, f64::max).max(1e-9);
    let hi = if epochs[0].val.accuracy.is_some() {
        1.0
    } else {
        hi * 1.05
    };
    let mut c = ChartBuilder::on(&right)
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(1.0..n.max(2.0), 0.0..hi)
        .map_err(e)?;
    c.configure_mesh()
        .x_desc("epoch")
        .y_desc(name)
        .x_labels(ticks)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .map_err(e)?;
    c.draw_series(LineSeries::new(points, GREEN.stroke_width(2)))
        .map_err(e)?
        .label(name)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    c.configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(e)?;
    Ok(())
}
