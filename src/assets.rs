//! Static files of the web UI (`assets/`: CSS, JavaScript, icons, manifest), embedded in the
//! binary and served at PicoShare's paths with a build-derived ETag and an hour of caching.

use rouille::{Request, Response};

/// One embedded file.
pub struct Asset {
    /// URL path it is served at.
    pub path: &'static str,
    pub body: &'static [u8],
    /// FNV-1a of the bytes, computed at compile time; with the crate version it makes the ETag.
    pub hash: u64,
}

/// 64-bit FNV-1a, usable in constants.
pub const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// Content type by file extension.
fn content_type(path: &str) -> String {
    crate::handlers::content_type_for(path).unwrap_or_else(|| "application/octet-stream".to_owned())
}

macro_rules! asset {
    ($url:literal, $file:literal) => {
        Asset {
            path: $url,
            body: include_bytes!(concat!("../assets/", $file)),
            hash: fnv1a(include_bytes!(concat!("../assets/", $file))),
        }
    };
}

/// Every static file.
pub static ASSETS: &[Asset] = &[
    asset!("/css/style.css", "css/style.css"),
    asset!("/js/common.js", "js/common.js"),
    asset!("/js/tus.js", "js/tus.js"),
    asset!("/js/upload.js", "js/upload.js"),
    asset!("/js/login.js", "js/login.js"),
    asset!("/js/edit.js", "js/edit.js"),
    asset!("/js/guest-links.js", "js/guest-links.js"),
    asset!("/js/settings.js", "js/settings.js"),
    asset!("/js/tokens.js", "js/tokens.js"),
    asset!("/js/history.js", "js/history.js"),
    asset!("/js/bundles.js", "js/bundles.js"),
    asset!("/favicon.ico", "icons/favicon.ico"),
    asset!("/favicon.svg", "icons/favicon.svg"),
    asset!("/favicon-16x16.png", "icons/favicon-16x16.png"),
    asset!("/favicon-32x32.png", "icons/favicon-32x32.png"),
    asset!("/apple-touch-icon.png", "icons/apple-touch-icon.png"),
    asset!(
        "/android-chrome-192x192.png",
        "icons/android-chrome-192x192.png"
    ),
    asset!(
        "/android-chrome-384x384.png",
        "icons/android-chrome-384x384.png"
    ),
    asset!("/mstile-150x150.png", "icons/mstile-150x150.png"),
    asset!("/safari-pinned-tab.svg", "icons/safari-pinned-tab.svg"),
    asset!("/site.webmanifest", "site.webmanifest"),
    asset!("/browserconfig.xml", "browserconfig.xml"),
];

/// The embedded file served at `path`, if any. Only exact paths match: no directory listings.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

impl Asset {
    /// The strong ETag: crate version and content hash, so it changes with every build that
    /// changes the file and stays stable across restarts.
    pub fn etag(&self) -> String {
        format!("\"{}-{:016x}\"", env!("CARGO_PKG_VERSION"), self.hash)
    }
}

/// A short hash of every asset together, for cache-busting `?v=` query strings in pages.
pub fn build_tag() -> String {
    let combined = ASSETS
        .iter()
        .fold(0u64, |acc, a| acc.rotate_left(5) ^ a.hash);
    format!("{:08x}", combined as u32)
}

/// Serves `asset`: 304 when `If-None-Match` names its ETag, else the bytes.
pub fn serve(req: &Request, asset: &Asset) -> Response {
    let etag = asset.etag();
    let matches = req
        .header("If-None-Match")
        .is_some_and(|v| crate::handlers::etag_matches(v, &etag));
    let response = if matches {
        Response::text("").with_status_code(304)
    } else {
        Response::from_data(content_type(asset.path), asset.body)
    };
    response
        .with_unique_header("ETag", etag)
        .with_unique_header("Cache-Control", "max-age=3600")
        .with_unique_header("X-Content-Type-Options", "nosniff")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("/css/style.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("/js/a.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("/favicon.ico"), "image/x-icon");
        assert_eq!(
            content_type("/site.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(content_type("/x"), "application/octet-stream");
    }

    #[test]
    fn every_asset_is_found_and_non_empty() {
        for a in ASSETS {
            assert!(!a.body.is_empty(), "{}", a.path);
            assert!(std::ptr::eq(find(a.path).unwrap(), a));
        }
        assert!(find("/css/").is_none());
        assert!(find("/js").is_none());
    }

    #[test]
    fn etag_is_stable_and_304s() {
        let a = find("/css/style.css").unwrap();
        assert_eq!(a.hash, fnv1a(a.body));
        let etag = a.etag();
        let req = Request::fake_http(
            "GET",
            "/css/style.css",
            vec![("If-None-Match".into(), etag.clone())],
            vec![],
        );
        assert_eq!(serve(&req, a).status_code, 304);
        let req = Request::fake_http("GET", "/css/style.css", vec![], vec![]);
        let r = serve(&req, a);
        assert_eq!(r.status_code, 200);
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| k == "Cache-Control" && v == "max-age=3600"));
    }
}
