//! API tokens' rows (`rs_api_tokens`, a table of ours): create, list, look up for a check,
//! note their use, revoke; and which token created which file (`rs_token_uploads`).

use rusqlite::{params, OptionalExtension, Row};

use super::Store;
use crate::error::StoreError;
use crate::model::{ApiToken, EntryId, Timestamp, TokenId, TokenLabel, TokenScope};

/// A token's row as a request's check needs it.
pub struct StoredToken {
    pub token: ApiToken,
    pub hash: Vec<u8>,
}

const COLUMNS: &str = "id, label, scope, created, expires, last_used, hash";

fn token_from_row(r: &Row) -> rusqlite::Result<StoredToken> {
    let time = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
        Ok(r.get::<_, Option<String>>(i)?
            .as_deref()
            .and_then(Timestamp::parse_rfc3339))
    };
    let scope: String = r.get(2)?;
    Ok(StoredToken {
        token: ApiToken {
            id: TokenId::from_db(r.get(0)?),
            label: TokenLabel::from_db(r.get(1)?),
            // The table's CHECK allows only these two.
            scope: TokenScope::parse(&scope).unwrap_or(TokenScope::Upload),
            created: time(3)?.unwrap_or(Timestamp::from_unix(0)),
            expires: time(4)?,
            last_used: time(5)?,
        },
        hash: r.get(6)?,
    })
}

impl Store {
    /// Stores a new token's row (its hash, never the token). Refused with
    /// [`StoreError::TooMany`] when `max` tokens exist already.
    pub fn insert_token(
        &self,
        token: &ApiToken,
        hash: &[u8; 32],
        max: usize,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let n: i64 = tx.query_row("SELECT COUNT(*) FROM rs_api_tokens", [], |r| r.get(0))?;
        if n >= max as i64 {
            return Err(StoreError::TooMany);
        }
        tx.execute(
            "INSERT INTO rs_api_tokens (id, label, scope, hash, created, expires, last_used) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
            params![
                token.id.as_str(),
                token.label.as_str(),
                token.scope.as_str(),
                &hash[..],
                token.created.rfc3339(),
                token.expires.map(Timestamp::rfc3339),
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every token, newest first (at most `Config::max_api_tokens` exist).
    pub fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM rs_api_tokens ORDER BY created DESC, id"
        ))?;
        let rows = st.query_map([], token_from_row)?;
        Ok(rows.map(|r| r.map(|t| t.token)).collect::<Result<_, _>>()?)
    }

    /// The row of token `id`, for checking a request's token; `None` if there is none (never
    /// created, or revoked).
    pub fn token(&self, id: &TokenId) -> Result<Option<StoredToken>, StoreError> {
        Ok(self
            .reader()?
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM rs_api_tokens WHERE id = ?1"
            ))?
            .query_row([id.as_str()], token_from_row)
            .optional()?)
    }

    /// Notes that token `id` was used at `now`.
    pub fn touch_token(&self, id: &TokenId, now: Timestamp) -> Result<(), StoreError> {
        self.writer()
            .prepare_cached("UPDATE rs_api_tokens SET last_used = ?2 WHERE id = ?1")?
            .execute(params![id.as_str(), now.rfc3339()])?;
        Ok(())
    }

    /// Revokes token `id` at once (its record of uploads goes with it; the files stay).
    /// [`StoreError::NotFound`] if there is no such token.
    pub fn delete_token(&self, id: &TokenId) -> Result<(), StoreError> {
        let n = self
            .writer()
            .execute("DELETE FROM rs_api_tokens WHERE id = ?1", [id.as_str()])?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The files token `id` created that still exist, oldest id first (for a bundle of a
    /// token's own uploads).
    pub fn token_uploads(&self, id: &TokenId) -> Result<Vec<EntryId>, StoreError> {
        let conn = self.reader()?;
        let mut st = conn.prepare_cached(
            "SELECT entry_id FROM rs_token_uploads WHERE token_id = ?1 ORDER BY entry_id",
        )?;
        let rows = st.query_map([id.as_str()], |r| r.get::<_, String>(0))?;
        rows.map(|r| r.map(EntryId::from_db))
            .collect::<Result<_, _>>()
            .map_err(Into::into)
    }
}

/// Records, inside the transaction that inserts file `entry`'s row, that token `token` created
/// it (see [`super::Upload::finish`]); [`StoreError::TokenRevoked`] if the token was revoked
/// while its upload ran, which rolls the file back.
pub(super) fn record_upload(
    tx: &rusqlite::Transaction,
    entry: &EntryId,
    token: &TokenId,
) -> Result<(), StoreError> {
    let live: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM rs_api_tokens WHERE id = ?1)",
        [token.as_str()],
        |r| r.get(0),
    )?;
    if !live {
        return Err(StoreError::TokenRevoked);
    }
    tx.execute(
        "INSERT INTO rs_token_uploads (entry_id, token_id) VALUES (?1, ?2)",
        params![entry.as_str(), token.as_str()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{insert_file, temp_store};

    fn token(label: &str, scope: TokenScope, created: Timestamp) -> ApiToken {
        ApiToken {
            id: TokenId::random(),
            label: TokenLabel::parse(label).unwrap(),
            scope,
            created,
            expires: None,
            last_used: None,
        }
    }

    #[test]
    fn tokens_are_listed_newest_first_capped_and_revoked_with_their_upload_records() {
        let t = temp_store(5);
        let now = Timestamp::from_unix(1_800_000_000);
        let a = token("cron", TokenScope::Upload, now);
        let mut b = token("sharex", TokenScope::Admin, now.plus_secs(1));
        b.expires = Some(now.plus_secs(86_400));
        t.store.insert_token(&a, &[1; 32], 2).unwrap();
        t.store.insert_token(&b, &[2; 32], 2).unwrap();
        let c = token("third", TokenScope::Upload, now);
        assert!(matches!(
            t.store.insert_token(&c, &[3; 32], 2),
            Err(StoreError::TooMany)
        ));
        assert_eq!(t.store.tokens().unwrap(), vec![b.clone(), a.clone()]);
        let stored = t.store.token(&a.id).unwrap().unwrap();
        assert_eq!((stored.token, stored.hash), (a.clone(), vec![1; 32]));

        t.store.touch_token(&a.id, now.plus_secs(60)).unwrap();
        let used = t.store.token(&a.id).unwrap().unwrap().token.last_used;
        assert_eq!(used, Some(now.plus_secs(60)));

        // A file created by `a`: recorded in the upload's transaction, gone with the file.
        let f1 = insert_file(&t, "one.txt", b"hello", now);
        let f2 = insert_file(&t, "two.txt", b"hello", now);
        for f in [&f1, &f2] {
            let mut conn = t.store.writer();
            let tx = conn.transaction().unwrap();
            record_upload(&tx, f, &a.id).unwrap();
            tx.commit().unwrap();
        }
        let mut both = vec![f1.clone(), f2.clone()];
        both.sort_by(|x, y| x.as_str().cmp(y.as_str()));
        assert_eq!(t.store.token_uploads(&a.id).unwrap(), both);
        t.store.delete_entry(&f1).unwrap();
        assert_eq!(t.store.token_uploads(&a.id).unwrap(), vec![f2.clone()]);

        t.store.delete_token(&a.id).unwrap();
        assert!(t.store.token(&a.id).unwrap().is_none());
        assert!(matches!(
            t.store.delete_token(&a.id),
            Err(StoreError::NotFound)
        ));
        let records: i64 = t
            .store
            .writer()
            .query_row("SELECT COUNT(*) FROM rs_token_uploads", [], |r| r.get(0))
            .unwrap();
        assert_eq!(records, 0, "the token's records went with it");
        assert!(t.store.entry(&f2, now).is_ok(), "its files stay");
    }
}
