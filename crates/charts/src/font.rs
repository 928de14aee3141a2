//! The embedded font: its registration with plotters and the glyph patch that makes
//! plotters' text path space it evenly.

use super::*;

/// Family name every text element uses; plotters looks fonts up by it.
pub(crate) const FAMILY: &str = "sans-serif";

/// Embedded so rendering never depends on fonts installed on the host.
pub(crate) static FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font exactly once; plotters keeps a global table,
/// and re-registering from parallel tests would only churn a write lock.
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    static PATCHED: OnceLock<Vec<u8>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let patched: &'static [u8] = PATCHED
                .get_or_init(|| anchor_glyphs_at_origin(FONT_BYTES).unwrap_or_default())
                .as_slice();
            let register = |bytes: &'static [u8]| {
                plotters::style::register_font(FAMILY, FontStyle::Normal, bytes).is_ok()
            };
            // The unpatched font still renders, only with uneven spacing.
            if (!patched.is_empty() && register(patched)) || register(FONT_BYTES) {
                Ok(())
            } else {
                Err("the embedded DejaVu Sans font could not be parsed".to_string())
            }
        })
        .clone()
        .map_err(Error::Draw)
}

//
// plotters 0.3.7 (ab_glyph feature) draws each glyph's bitmap at the pen
// position but forgets the glyph's left side bearing, so letters with a wide
// bearing ("1", "i", "l") sit too far left and words look broken apart
// ("Interop erability", "1 5%"). The bitmap starts at the left edge of the
// glyph's outline bounding box; adding a zero-area, one-point contour at
// x = 0 to every glyph makes that box start exactly at the pen, so the
// bearing survives inside the bitmap and spacing becomes correct. The SVG
// output is unaffected (viewers lay out the text themselves).

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) -> Option<()> {
    b.get_mut(at..at + 4)?.copy_from_slice(&v.to_be_bytes());
    Some(())
}

/// Where a TrueType font keeps its glyph data, plus each glyph's bytes.
pub(crate) struct FontGlyphs<'a> {
    pub(crate) head: usize,
    pub(crate) loca_rec: usize,
    pub(crate) glyf_rec: usize,
    pub(crate) glyphs: Vec<&'a [u8]>,
}

pub(crate) fn font_glyphs(font: &[u8]) -> Option<FontGlyphs<'_>> {
    let num_tables = usize::from(be16(font, 4)?);
    let table = |tag: &[u8; 4]| -> Option<(usize, usize, usize)> {
        let rec = (0..num_tables)
            .map(|i| 12 + 16 * i)
            .find(|&r| font.get(r..r + 4) == Some(&tag[..]))?;
        Some((
            rec,
            usize::try_from(be32(font, rec + 8)?).ok()?,
            usize::try_from(be32(font, rec + 12)?).ok()?,
        ))
    };
    let (_, head, _) = table(b"head")?;
    let (_, maxp, _) = table(b"maxp")?;
    let (loca_rec, loca, _) = table(b"loca")?;
    let (glyf_rec, glyf, glyf_len) = table(b"glyf")?;
    let long_loca = be16(font, head + 50)? == 1;
    let num_glyphs = usize::from(be16(font, maxp + 4)?);
    let glyph_at = |g: usize| -> Option<usize> {
        if long_loca {
            usize::try_from(be32(font, loca + 4 * g)?).ok()
        } else {
            Some(2 * usize::from(be16(font, loca + 2 * g)?))
        }
    };
    let glyf_data = font.get(glyf..glyf + glyf_len)?;
    let glyphs = (0..num_glyphs)
        .map(|g| glyf_data.get(glyph_at(g)?..glyph_at(g + 1)?))
        .collect::<Option<Vec<_>>>()?;
    Some(FontGlyphs {
        head,
        loca_rec,
        glyf_rec,
        glyphs,
    })
}

/// Returns a copy of a TrueType font whose simple glyphs all carry an
/// anchor point at x = 0, with `glyf`/`loca` rebuilt (long offsets) at the
/// end of the file. `None` when the font is not laid out as expected.
pub(crate) fn anchor_glyphs_at_origin(font: &[u8]) -> Option<Vec<u8>> {
    let FontGlyphs {
        head,
        loca_rec,
        glyf_rec,
        glyphs,
    } = font_glyphs(font)?;
    let glyf_len: usize = glyphs.iter().map(|g| g.len()).sum();
    let mut new_glyf: Vec<u8> = Vec::with_capacity(glyf_len * 2);
    let mut new_loca: Vec<u32> = Vec::with_capacity(glyphs.len() + 1);
    for data in glyphs {
        new_loca.push(u32::try_from(new_glyf.len()).ok()?);
        match anchored_glyph(data) {
            Some(patched) => new_glyf.extend_from_slice(&patched),
            None => new_glyf.extend_from_slice(data),
        }
        new_glyf.resize(new_glyf.len().next_multiple_of(4), 0);
    }
    new_loca.push(u32::try_from(new_glyf.len()).ok()?);

    let mut out = font.to_vec();
    out.resize(out.len().next_multiple_of(4), 0);
    let loca_off = u32::try_from(out.len()).ok()?;
    for o in &new_loca {
        out.extend_from_slice(&o.to_be_bytes());
    }
    let glyf_off = u32::try_from(out.len()).ok()?;
    let glyf_new_len = u32::try_from(new_glyf.len()).ok()?;
    out.extend_from_slice(&new_glyf);
    put32(&mut out, loca_rec + 8, loca_off)?;
    put32(
        &mut out,
        loca_rec + 12,
        u32::try_from(new_loca.len() * 4).ok()?,
    )?;
    put32(&mut out, glyf_rec + 8, glyf_off)?;
    put32(&mut out, glyf_rec + 12, glyf_new_len)?;
    out.get_mut(head + 50..head + 52)?
        .copy_from_slice(&1u16.to_be_bytes());
    Some(out)
}

/// Decoded simple glyph: contour end points, hinting instructions, flags
/// and absolute coordinates.
pub(crate) struct SimpleGlyph<'a> {
    pub(crate) end_pts: Vec<u16>,
    pub(crate) instructions: &'a [u8],
    pub(crate) flags: Vec<u8>,
    pub(crate) xs: Vec<i32>,
    pub(crate) ys: Vec<i32>,
}

/// Parses a simple (non-composite) `glyf` entry; `None` for composite,
/// empty or malformed glyphs.
pub(crate) fn decode_simple(data: &[u8]) -> Option<SimpleGlyph<'_>> {
    let contours = be16(data, 0)? as i16;
    if contours <= 0 {
        return None;
    }
    let n = contours as usize;
    let end_pts: Vec<u16> = (0..n)
        .map(|i| be16(data, 10 + 2 * i))
        .collect::<Option<_>>()?;
    let total = usize::from(*end_pts.last()?) + 1;
    let mut p = 10 + 2 * n;
    let ins_len = usize::from(be16(data, p)?);
    let instructions = data.get(p + 2..p + 2 + ins_len)?;
    p += 2 + ins_len;

    let mut flags = Vec::with_capacity(total);
    while flags.len() < total {
        let f = *data.get(p)?;
        p += 1;
        let repeat = if f & 0x08 != 0 {
            p += 1;
            usize::from(*data.get(p - 1)?)
        } else {
            0
        };
        flags.extend(std::iter::repeat_n(f, repeat + 1));
    }
    if flags.len() != total {
        return None;
    }
    let mut read_coords = |short: u8, same_or_positive: u8| -> Option<Vec<i32>> {
        let mut v = 0i32;
        let mut out = Vec::with_capacity(total);
        for &f in &flags {
            if f & short != 0 {
                let d = i32::from(*data.get(p)?);
                p += 1;
                v += if f & same_or_positive != 0 { d } else { -d };
            } else if f & same_or_positive == 0 {
                v += i32::from(be16(data, p)? as i16);
                p += 2;
            }
            out.push(v);
        }
        Some(out)
    };
    let xs = read_coords(0x02, 0x10)?;
    let ys = read_coords(0x04, 0x20)?;
    Some(SimpleGlyph {
        end_pts,
        instructions,
        flags,
        xs,
        ys,
    })
}

/// One simple glyph with an extra one-point contour at (0, y of its first
/// point), so its x extent starts at 0 while its y extent is unchanged.
/// `None` leaves the glyph as it is: composite or empty glyphs (their
/// components are patched), glyphs already starting at or left of the pen,
/// and anything malformed.
pub(crate) fn anchored_glyph(data: &[u8]) -> Option<Vec<u8>> {
    let contours = be16(data, 0)? as i16;
    let x_min = be16(data, 2)? as i16;
    if contours <= 0 || contours == i16::MAX || x_min <= 0 {
        return None;
    }
    let g = decode_simple(data)?;
    let total = g.flags.len();

    let mut out = Vec::with_capacity(data.len() + 4 * total + 16);
    out.extend_from_slice(&(contours + 1).to_be_bytes());
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(data.get(4..10)?);
    for e in &g.end_pts {
        out.extend_from_slice(&e.to_be_bytes());
    }
    out.extend_from_slice(&u16::try_from(total).ok()?.to_be_bytes());
    out.extend_from_slice(&u16::try_from(g.instructions.len()).ok()?.to_be_bytes());
    out.extend_from_slice(g.instructions);
    // Only the on-curve bit is kept; every coordinate is re-encoded as an
    // explicit 16-bit delta, which is valid and keeps the encoder trivial.
    out.extend(g.flags.iter().map(|f| f & 0x01));
    out.push(0x01);
    let anchor_y = *g.ys.first()?;
    for coords in [
        g.xs.iter().copied().chain([0]).collect::<Vec<_>>(),
        g.ys.iter().copied().chain([anchor_y]).collect(),
    ] {
        let mut prev = 0i32;
        for c in coords {
            out.extend_from_slice(&i16::try_from(c - prev).ok()?.to_be_bytes());
            prev = c;
        }
    }
    Some(out)
}
