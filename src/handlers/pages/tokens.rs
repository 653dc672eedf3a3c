//! The settings page's "API tokens" section: what tokens are for, the create form, the panel
//! that shows a new token once (filled in by `tokens.js`: the server never has the token
//! again), and the list with last use and a revoke button.

use crate::html::{expiry, html, time, Html};
use crate::model::{ApiToken, Timestamp, TokenScope};

fn scope_name(scope: TokenScope) -> &'static str {
    match scope {
        TokenScope::Upload => "Upload only",
        TokenScope::Admin => "Admin",
    }
}

fn token_row(t: &ApiToken, now: Timestamp) -> Html {
    let expires = match t.expires {
        None => Html::trusted("Never"),
        Some(e) if e <= now => html!(
            "{date} <span class=\"badge\">expired</span>",
            date = time(e, "date")
        ),
        Some(e) => expiry(now, e),
    };
    let last_used = match t.last_used {
        Some(u) => time(u, "datetime"),
        None => Html::trusted("<span class=\"muted\">Never used</span>"),
    };
    html!(
        "<tr data-id=\"{id}\" data-label=\"{label}\">\
         <td class=\"cell-name\" data-label=\"Label\">{label}</td>\
         <td data-label=\"Scope\"><span class=\"badge scope-{scope}\">{scope_name}</span></td>\
         <td data-label=\"Created\">{created}</td>\
         <td data-label=\"Expires\">{expires}</td>\
         <td data-label=\"Last used\" class=\"cell-last-used\">{last_used}</td>\
         <td class=\"cell-actions\"><div class=\"row-actions\">\
         <button type=\"button\" class=\"button small danger revoke-token js-only\">Revoke\
         </button></div></td></tr>",
        id = t.id.as_str(),
        label = t.label.as_str(),
        scope = t.scope.as_str(),
        scope_name = scope_name(t.scope),
        created = time(t.created, "date"),
        expires = expires,
        last_used = last_used,
    )
}

/// The section, listing `tokens` (newest first).
pub fn section(tokens: &[ApiToken], now: Timestamp) -> Html {
    let rows: Html = tokens.iter().map(|t| token_row(t, now)).collect();
    html!(
        "<section class=\"card\" id=\"api-tokens\" aria-labelledby=\"tokens-heading\">\
         <h2 id=\"tokens-heading\">API tokens</h2>\
         <p>A token lets a script, a cron job or a screenshot tool such as ShareX use \
         PicoShare without your passphrase: it sends the token in an \
         <code>Authorization: Bearer …</code> header. An <strong>Upload only</strong> token \
         can upload files and nothing else; an <strong>Admin</strong> token can use the whole \
         API (list, edit and delete files, guest links, settings), but not these pages.</p>\
         <p class=\"alert warning\" id=\"tokens-passphrase-note\">Changing the admin \
         passphrase does <strong>not</strong> revoke tokens. Revoke a token here when a \
         script or device no longer needs it, or if it may have leaked.</p>\
         <form id=\"token-form\" class=\"token-form\" novalidate>\
         <div class=\"fields\">\
         <div class=\"field\"><label for=\"token-label\">Label</label><input type=\"text\" \
         id=\"token-label\" maxlength=\"200\" autocomplete=\"off\" required \
         placeholder=\"e.g. Backup script on the NAS\"></div>\
         <div class=\"field\"><label for=\"token-scope\">Scope</label>\
         <select id=\"token-scope\"><option value=\"upload\" selected>Upload only</option>\
         <option value=\"admin\">Admin (the whole API)</option></select></div>\
         <div class=\"field\"><label for=\"token-expiration\">Expires after</label>\
         <select id=\"token-expiration\"><option value=\"30\">30 days</option>\
         <option value=\"90\" selected>90 days</option><option value=\"365\">1 year</option>\
         <option value=\"never\">Never</option></select></div></div>\
         <div id=\"token-error\" class=\"alert error\" role=\"alert\" hidden></div>\
         <div class=\"actions\"><button type=\"submit\" class=\"button primary\">Create token\
         </button></div></form>\
         <div id=\"new-token\" class=\"new-token\" hidden>\
         <p class=\"message success\" role=\"status\">Token <span id=\"new-token-label\">\
         </span> created. Copy it now: it is shown only this once, and PicoShare keeps only a \
         hash of it.</p>\
         <div class=\"link-box\"><span class=\"link-box-label\">Token</span>\
         <code class=\"link\" id=\"new-token-value\"></code>\
         <button type=\"button\" class=\"button small\" id=\"copy-token\">Copy</button></div>\
         <h3>Upload with curl</h3>\
         <pre class=\"example\"><code id=\"curl-example\"></code></pre>\
         <div class=\"actions\"><button type=\"button\" class=\"button small\" \
         id=\"copy-curl\">Copy command</button></div>\
         <h3>ShareX</h3>\
         <p>Download the custom uploader and open it: ShareX adds it as the destination for \
         images, text and files, and copies each upload's short link.</p>\
         <div class=\"actions\"><a class=\"button\" id=\"sxcu-download\" href=\"#\" \
         download=\"picoshare.sxcu\">Download ShareX uploader (.sxcu)</a>\
         <span class=\"spacer\"></span>\
         <button type=\"button\" class=\"button primary\" id=\"token-done\">Done, I have \
         copied it</button></div></div>\
         <div class=\"table-wrap\"{table_hidden}><table class=\"table tokens-table\" \
         id=\"tokens-table\"><thead><tr><th scope=\"col\">Label</th><th scope=\"col\">Scope\
         </th><th scope=\"col\">Created</th><th scope=\"col\">Expires</th>\
         <th scope=\"col\">Last used</th><th scope=\"col\"><span class=\"visually-hidden\">\
         Actions</span></th></tr></thead><tbody>{rows}</tbody></table></div>\
         <p class=\"empty-note\" id=\"tokens-empty\"{empty_hidden}>No tokens yet.</p>\
         <noscript><p class=\"alert warning\">Creating and revoking tokens needs JavaScript.\
         </p></noscript></section>",
        rows = rows,
        table_hidden = if tokens.is_empty() {
            Html::trusted(" hidden")
        } else {
            Html::default()
        },
        empty_hidden = if tokens.is_empty() {
            Html::default()
        } else {
            Html::trusted(" hidden")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TokenId, TokenLabel};

    #[test]
    fn labels_are_escaped_and_expired_tokens_marked() {
        let now = Timestamp::from_unix(1_800_000_000);
        let t = ApiToken {
            id: TokenId::random(),
            label: TokenLabel::parse("<b>\"cron\"</b>").unwrap(),
            scope: TokenScope::Upload,
            created: now,
            expires: Some(now.plus_secs(-1)),
            last_used: None,
        };
        let html = section(std::slice::from_ref(&t), now);
        assert!(!html.contains("<b>"));
        assert!(html.contains("&lt;b&gt;&quot;cron&quot;&lt;/b&gt;"));
        assert!(html.contains(">expired</span>"));
        assert!(html.contains("Never used"));
        assert!(html.contains("does <strong>not</strong> revoke tokens"));
    }
}
