//! QR codes of share links (issue 20), as SVG: the encoding is the `qrcodegen` crate's, the
//! drawing ours — one `path` of the dark runs of each row, on a white background with the
//! standard four-module quiet zone, so any decoder (and any printer) reads it. `stroke="none"`
//! is spelt out: ImageMagick's renderer (behind zbarimg and many converters) otherwise
//! outlines every run and the modules run into each other.

use qrcodegen::{QrCode, QrCodeEcc};

/// Modules of white border around the code (ISO/IEC 18004 asks for four).
const QUIET_ZONE: i32 = 4;

/// The SVG of a QR code encoding `text` (medium error correction: readable with some 15% of
/// it damaged, and still small for a URL). `None` if `text` is too long for any QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let full = size + 2 * QUIET_ZONE;
    let mut path = String::with_capacity((size * size) as usize * 2);
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if !code.get_module(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < size && code.get_module(x, y) {
                x += 1;
            }
            let run = x - start;
            path.push_str(&format!(
                "M{},{}h{run}v1h-{run}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE
            ));
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 {full} {full}\" \
         width=\"{px}\" height=\"{px}\" shape-rendering=\"crispEdges\" role=\"img\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\
         <path d=\"{path}\" fill=\"#000000\" stroke=\"none\"/></svg>\n",
        px = full * 4,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_an_svg_with_a_quiet_zone() {
        let s = svg("http://127.0.0.1:4001/-abcdefghij").unwrap();
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        // Version 3 (29 modules) for this length, plus 2 × 4 of quiet zone.
        assert!(s.contains("viewBox=\"0 0 37 37\""), "{s}");
        // The finder pattern's top row: seven dark modules from the quiet zone's edge.
        assert!(s.contains("M4,4h7v1h-7z"), "{s}");
        assert!(s.contains("stroke=\"none\""));
        assert!(svg(&"x".repeat(5000)).is_none());
    }
}
