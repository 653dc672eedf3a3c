//! The API-token API (the admin's session only): `POST /api/tokens` (create; the token is in
//! this answer and nowhere else, ever), `GET /api/tokens` (list, never the tokens) and
//! `DELETE /api/tokens/{id}` (revoke at once).

use rouille::{Request, Response};
use serde_json::{json, Value};

use super::{empty_ok, invalid_request as invalid, json as json_response, json_str, read_json};
use crate::app::{App, Need};
use crate::error::StoreError;
use crate::error::{Error, OrNotFound, Result};
use crate::model::{ApiToken, Timestamp, TokenId, TokenLabel, TokenScope};

/// `{"label": "…", "scope": "upload" | "admin", "expiration": RFC 3339 | null}` →
/// `{"id", "token", "label", "scope", "created", "expires", "lastUsed"}`.
pub fn create(app: &App, req: &Request) -> Result<Response> {
    app.require(req, Need::Session)?;
    let body = read_json(req, app.config.max_json_body).map_err(Error::invalid_request)?;
    if !body.is_object() {
        return Err(invalid("malformed request"));
    }
    let now = app.now();
    let label = json_str(&body, "label").ok_or_else(|| invalid("label must be a string"))?;
    let label = TokenLabel::parse(label).map_err(invalid)?;
    let scope = json_str(&body, "scope").ok_or_else(|| invalid("scope must be a string"))?;
    let scope = TokenScope::parse(scope).map_err(invalid)?;
    let expires = match body.get("expiration") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let t = Timestamp::parse_rfc3339(s).ok_or_else(|| {
                invalid("expiration must be an RFC 3339 time (2006-01-02T15:04:05Z) or null")
            })?;
            if t <= now {
                return Err(invalid("expiration must be in the future"));
            }
            Some(t)
        }
        Some(_) => return Err(invalid("expiration must be a string or null")),
    };
    let id = TokenId::random();
    let (token, hash) = crate::tokens::generate(&id);
    let record = ApiToken {
        id,
        label,
        scope,
        created: now,
        expires,
        last_used: None,
    };
    let max = app.config.max_api_tokens;
    app.store
        .insert_token(&record, &hash, max)
        .map_err(|e| match e {
            StoreError::TooMany => invalid(format!(
                "there are already {max} API tokens, the most allowed; revoke one first"
            )),
            e => e.into(),
        })?;
    let mut answer = token_json(&record);
    answer["token"] = Value::String(token);
    // The only copy of the token: no cache may keep it.
    Ok(json_response(answer).with_unique_header("Cache-Control", "no-store"))
}

/// `{"tokens": [{"id", "label", "scope", "created", "expires", "lastUsed"}, …]}`, newest
/// first.
pub fn list(app: &App, req: &Request) -> Result<Response> {
    app.require(req, Need::Session)?;
    let tokens: Vec<Value> = app.store.tokens()?.iter().map(token_json).collect();
    Ok(json_response(json!({ "tokens": tokens })))
}

/// Revokes a token: the next request with it is a 401.
pub fn delete(app: &App, req: &Request, id: &str) -> Result<Response> {
    app.require(req, Need::Session)?;
    let id = TokenId::parse(id).map_err(|m| Error::BadRequest(m.into()))?;
    app.store
        .delete_token(&id)
        .or_not_found("API token not found")?;
    Ok(empty_ok())
}

/// A token as the API shows it: times in RFC 3339, `null` for never.
fn token_json(t: &ApiToken) -> Value {
    json!({
        "id": t.id.as_str(),
        "label": t.label.as_str(),
        "scope": t.scope.as_str(),
        "created": t.created.rfc3339(),
        "expires": t.expires.map(Timestamp::rfc3339),
        "lastUsed": t.last_used.map(Timestamp::rfc3339),
    })
}
