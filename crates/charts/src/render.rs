//! The `Figure` trait and the plumbing every chart shares: PNG + SVG written atomically,
//! the title strip, the no-data panel.

use super::*;

/// A chart that can be drawn on any plotters backend, so the PNG and the SVG
/// come from one piece of drawing code and cannot drift apart.
pub(crate) trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// Writes `<stem>.png` and `<stem>.svg`, each via a temporary file renamed
/// into place, so a reader (or a crash) never sees a half-written chart.
pub(crate) fn write_both<F: Figure>(stem: &Path, fig: &F) -> Result<()> {
    ensure_font()?;
    let name = stem
        .file_name()
        .ok_or_else(|| err!("chart path {} has no file name", stem.display()))?;
    let dir = stem.parent().unwrap_or_else(|| Path::new(""));
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating chart folder {}", dir.display()))?;
    }
    for ext in ["png", "svg"] {
        let final_path = dir.join(with_suffix("", name, &format!(".{ext}")));
        // The temporary name keeps the real extension, from which plotters picks the encoder.
        gardengate_io::atomic::write_with(&final_path, |tmp| {
            render_to(tmp, ext == "png", fig).map_err(Into::into)
        })
        .with_context(|| format!("rendering {}", final_path.display()))?;
    }
    Ok(())
}

pub(crate) fn with_suffix(prefix: &str, name: &std::ffi::OsStr, suffix: &str) -> PathBuf {
    let mut s = OsString::from(prefix);
    s.push(name);
    s.push(suffix);
    PathBuf::from(s)
}

/// Renders one file. Plotters has internal asserts we cannot fully rule out
/// for pathological inputs, so a panic is turned into an error: losing one
/// chart is better than losing a whole experiment run.
pub(crate) fn render_to<F: Figure>(path: &Path, png: bool, fig: &F) -> Result<()> {
    let size = fig.size();
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<()> {
        if png {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            root.fill(&WHITE)?;
            fig.draw(&root)?;
            root.present()?;
        } else {
            let root = SVGBackend::new(path, size).into_drawing_area();
            root.fill(&WHITE)?;
            fig.draw(&root)?;
            root.present()?;
        }
        Ok(())
    }));
    match outcome {
        Ok(result) => result,
        Err(_) => bail!("the chart renderer panicked"),
    }
}

/// Adds the figure title and returns the area below it; an empty title
/// leaves the full area rather than a blank strip.
pub(crate) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>>
where
    DB::ErrorType: 'static,
{
    if title.trim().is_empty() {
        Ok(root.clone())
    } else {
        // A title wider than the figure would be clipped at both edges: shrink it to fit
        // (never below 20 px).
        let (w, _) = root.dim_in_pixel();
        let tw = root
            .estimate_text_size(title, &text_style(TITLE_SIZE, BLACK, centred()))
            .map_or(text_w(title, TITLE_SIZE), |(tw, _)| f64::from(tw));
        let room = f64::from(w.saturating_sub(40)).max(1.0);
        let size = if tw > room {
            ((f64::from(TITLE_SIZE) * room / tw).floor() as u32).max(20)
        } else {
            TITLE_SIZE
        };
        Ok(root.margin(8, 0, 0, 0).titled(title, (FAMILY, size))?)
    }
}

pub(crate) fn draw_no_data<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        "no data",
        (w as i32 / 2, h as i32 / 2),
        text_style(DESC_SIZE, RGBColor(110, 110, 110), centred()),
    ))?;
    Ok(())
}
