//! `PUT /api/settings` (admin): the default lifetime of the admin's uploads, with PicoShare's
//! rules — 1 to 3650 days, or never (stored as 36 500 days).

use rouille::{Request, Response};
use serde_json::Value;

use super::{empty_ok, invalid_request as invalid, read_json};
use crate::app::{App, Need};
use crate::error::{Error, Result};
use crate::model::NEVER_DAYS;

/// The longest default lifetime short of "never": 10 × 365 days.
pub const MAX_DAYS: u16 = 10 * 365;

pub fn update(app: &App, req: &Request) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let body = read_json(req, app.config.max_json_body).map_err(Error::invalid_request)?;
    let days = parse_settings(&body)?;
    app.store.set_default_expiration_days(days)?;
    Ok(empty_ok())
}

/// `{"defaultExpirationDays": uint16, "defaultNeverExpire": bool}` → the days to store.
fn parse_settings(body: &Value) -> Result<u16> {
    if !body.is_object() {
        return Err(invalid("malformed request"));
    }
    let days = match body.get("defaultExpirationDays") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| invalid("defaultExpirationDays must be a whole number of days"))?,
        Some(_) => return Err(invalid("defaultExpirationDays must be a number")),
    };
    let never = match body.get("defaultNeverExpire") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("defaultNeverExpire must be true or false")),
    };
    if never {
        return Ok(NEVER_DAYS);
    }
    if days < 1 {
        return Err(invalid("file lifetime must be at least 1 days"));
    }
    if days > MAX_DAYS {
        return Err(invalid("file lifetime must be at most 10 years"));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_rules() {
        let ok = [
            (
                json!({"defaultExpirationDays": 1, "defaultNeverExpire": false}),
                1,
            ),
            (json!({"defaultExpirationDays": 3650}), 3650),
            (
                json!({"defaultExpirationDays": 0, "defaultNeverExpire": true}),
                36_500,
            ),
            (json!({"defaultNeverExpire": true}), 36_500),
        ];
        for (body, days) in ok {
            assert_eq!(parse_settings(&body).ok(), Some(days), "{body}");
        }
        let bad = [
            (
                json!({}),
                "Invalid request: file lifetime must be at least 1 days",
            ),
            (
                json!({"defaultExpirationDays": 3651}),
                "Invalid request: file lifetime must be at most 10 years",
            ),
            (
                json!({"defaultExpirationDays": 65536}),
                "Invalid request: defaultExpirationDays must be a whole number of days",
            ),
            (
                json!({"defaultExpirationDays": -1}),
                "Invalid request: defaultExpirationDays must be a whole number of days",
            ),
            (
                json!({"defaultExpirationDays": 1.5}),
                "Invalid request: defaultExpirationDays must be a whole number of days",
            ),
            (
                json!({"defaultExpirationDays": "30"}),
                "Invalid request: defaultExpirationDays must be a number",
            ),
            (
                json!({"defaultExpirationDays": 30, "defaultNeverExpire": "yes"}),
                "Invalid request: defaultNeverExpire must be true or false",
            ),
            (json!([30]), "Invalid request: malformed request"),
        ];
        for (body, msg) in bad {
            match parse_settings(&body) {
                Err(Error::BadRequest(m)) => assert_eq!(m, msg, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
