//! Settings: the one `settings` row (id 1) and its one value, the default lifetime in days of
//! the admin's uploads. This is the only code that reads or writes it.

use rusqlite::OptionalExtension;

use super::Store;
use crate::error::StoreError;
#[cfg(test)]
use crate::model::NEVER_DAYS;

/// The default before anyone changed it (PicoShare's migration seeds 30).
pub const INITIAL_DAYS: u16 = 30;

impl Store {
    /// The default lifetime for new admin uploads, in days
    /// ([`crate::model::NEVER_DAYS`] = never).
    pub fn default_expiration_days(&self) -> Result<i64, StoreError> {
        let days: Option<Option<i64>> = self
            .reader()?
            .query_row(
                "SELECT default_expiration_in_days FROM settings WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        // A missing row or NULL means PicoShare's initial default, 30 days (PicoShare would
        // use zero; see the spec's bug list).
        Ok(days
            .flatten()
            .filter(|d| *d > 0)
            .unwrap_or(INITIAL_DAYS as i64))
    }

    /// Sets the default lifetime for new admin uploads (the caller validated it: 1…3650, or
    /// [`crate::model::NEVER_DAYS`]). Creates the row if an old database lacks it.
    pub fn set_default_expiration_days(&self, days: u16) -> Result<(), StoreError> {
        self.writer().execute(
            "INSERT INTO settings (id, default_expiration_in_days) VALUES (1, ?1) \
             ON CONFLICT (id) DO UPDATE SET default_expiration_in_days = excluded.default_expiration_in_days",
            [days],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    #[test]
    fn the_default_lifetime_round_trips_and_survives_a_missing_row() {
        let t = temp_store(5);
        assert_eq!(t.store.default_expiration_days().unwrap(), 30);
        t.store.set_default_expiration_days(NEVER_DAYS).unwrap();
        assert_eq!(t.store.default_expiration_days().unwrap(), 36_500);
        t.store
            .writer()
            .execute("DELETE FROM settings", [])
            .unwrap();
        assert_eq!(t.store.default_expiration_days().unwrap(), 30);
        t.store.set_default_expiration_days(14).unwrap();
        assert_eq!(t.store.default_expiration_days().unwrap(), 14);
    }
}
