//! The QR code that takes a ticket home: the ticket page's full address, drawn locally as SVG by the
//! `qrcode` crate (nothing is fetched), for the page to embed inline.

use axum::http::HeaderMap;
use maud::{Markup, PreEscaped};
use qrcode::QrCode;
use qrcode::render::svg;

use crate::config::Config;
use crate::tickets::Ticket;

/// The address a phone opens for a ticket: `[kiosk] public_url`, or else the address the kiosk's
/// browser used (its `Host`, checked to be a plain host name or address with a port), then the
/// key-protected ticket page. None when neither is usable.
pub fn ticket_url(config: &Config, headers: &HeaderMap, t: &Ticket) -> Option<String> {
    let base = match &config.kiosk.public_url {
        Some(url) => url.clone(),
        None => {
            let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
            let plain = !host.is_empty()
                && host.len() <= 255
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
            if !plain {
                return None;
            }
            let scheme = if config.web.secure_cookies { "https" } else { "http" };
            format!("{scheme}://{host}")
        }
    };
    Some(format!("{base}/ticket/{}?key={}", t.number(), t.access_key))
}

/// The QR code of `text` as an inline SVG element (dark modules on white, with the quiet zone).
/// The SVG is the crate's drawing of the modules: rectangles in one path, no text from `text`
/// itself, so it is embedded as it is. None when the text is too long for a QR code.
pub fn svg(text: &str) -> Option<Markup> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let drawn = code
        .render::<svg::Color<'_>>()
        .min_dimensions(320, 320)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    // An inline <svg> in HTML takes no XML declaration.
    let element = drawn.find("<svg").map_or(drawn.as_str(), |i| &drawn[i..]);
    Some(PreEscaped(element.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_svg_is_one_inline_element_that_carries_no_text_of_its_own() {
        let url = "http://127.0.0.1:8080/ticket/T000001?key=0123456789abcdef0123456789abcdef&<x>";
        let s = svg(url).unwrap().into_string();
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"), "{s}");
        assert!(
            !s.contains("key=") && !s.contains("<x>") && !s.contains("<script"),
            "{s}"
        );
        assert!(svg(&"x".repeat(8000)).is_none(), "too long for any QR code");
    }
}
