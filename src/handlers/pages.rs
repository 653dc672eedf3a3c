//! HTML pages. For now the minimal `/` (upload form or intro) and `/login`; every page carries
//! a Content-Security-Policy with a fresh nonce.

use rouille::{Request, Response};

use crate::app::App;
use crate::error::Result;

/// PicoShare's page CSP, with a per-request nonce for our one inline script.
fn page(title: &str, nonce: &str, body: &str) -> Response {
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src-elem 'self' \
         'unsafe-inline'; img-src 'self' data:; media-src 'self' data:;"
    );
    Response::html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body>{body}</body></html>\n"
    ))
    .with_unique_header("Content-Security-Policy", csp)
}

fn nonce() -> String {
    crate::random::hex(16)
}

pub fn index(app: &App, req: &Request) -> Result<Response> {
    let n = nonce();
    if !app.is_admin(req) {
        return Ok(page(
            "PicoShare",
            &n,
            "<h1>PicoShare</h1><p>A minimalist, easy-to-host service for sharing files.</p>\
             <p><a href=\"/login\">Log in</a></p>",
        ));
    }
    let body = format!(
        "<h1>Upload</h1><form id=\"f\"><input type=\"file\" name=\"file\" required> \
         <input name=\"note\" placeholder=\"Note (optional)\" maxlength=\"500\"> \
         <button>Upload</button></form><p id=\"out\"></p>\
         <script nonce=\"{n}\">\
         document.getElementById('f').addEventListener('submit', async (e) => {{\
           e.preventDefault();\
           const exp = new Date(Date.now() + 30 * 86400e3).toISOString();\
           const r = await fetch('/api/entry?expiration=' + encodeURIComponent(exp), \
             {{method: 'POST', body: new FormData(e.target), headers: {{Accept: 'application/json'}}}});\
           const out = document.getElementById('out');\
           if (r.ok) {{ const j = await r.json(); const a = document.createElement('a');\
             a.href = '/-' + j.id; a.textContent = location.origin + '/-' + j.id;\
             out.replaceChildren(a); }} else {{ out.textContent = await r.text(); }}\
         }});</script>"
    );
    Ok(page("PicoShare - Upload", &n, &body))
}

pub fn login(_app: &App, _req: &Request) -> Result<Response> {
    let n = nonce();
    let body = format!(
        "<h1>Log in</h1><form id=\"f\"><label>Passphrase \
         <input type=\"password\" name=\"p\" autofocus required></label> \
         <button>Authenticate</button></form><p id=\"err\"></p>\
         <script nonce=\"{n}\">\
         document.getElementById('f').addEventListener('submit', async (e) => {{\
           e.preventDefault();\
           const r = await fetch('/api/auth', {{method: 'POST', \
             headers: {{'Content-Type': 'application/json'}}, \
             body: JSON.stringify({{sharedSecretKey: e.target.p.value}})}});\
           if (r.ok) {{ location.href = '/'; }} \
           else {{ document.getElementById('err').textContent = await r.text(); }}\
         }});</script>"
    );
    Ok(page("PicoShare - Log in", &n, &body))
}
