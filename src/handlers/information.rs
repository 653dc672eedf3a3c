//! `GET /api/information` (admin): the system-information figures as JSON, for scripts and the
//! `/information` page. Shape: `{"filesystem": {"totalBytes", "usedBytes", "availableBytes",
//! "guestUploadFloorBytes", "adminUploadFloorBytes"},
//! "database": {"fileBytes", "walBytes", "shmBytes", "totalBytes", "reclaimableBytes"},
//! "storedFileBytes", "unfinishedUploads": {"count", "bytes"}, "version", "revision",
//! "builtAt"}` (the last two may be null).

use rouille::{Request, Response};

use super::json;
use crate::app::{App, Need};
use crate::error::Result;
use crate::sysinfo::SystemInfo;

pub fn get(app: &App, req: &Request) -> Result<Response> {
    app.require(req, Need::Admin)?;
    let info = SystemInfo::gather(&app.store, &app.config)?;
    Ok(json(info.to_json()))
}
