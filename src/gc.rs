//! The garbage collector: at start-up and then every `gc_interval`, removes expired files and
//! chunk rows that belong to no file (failed or crashed uploads).

use std::sync::Arc;

use crate::app::App;

/// Runs one collection and logs what it removed.
pub fn collect(app: &App) {
    match app.store.purge(app.now()) {
        Ok(stats) if stats.expired_entries > 0 || stats.orphaned_chunks > 0 => println!(
            "picoshare: gc removed {} expired file(s) and {} orphaned chunk(s)",
            stats.expired_entries, stats.orphaned_chunks
        ),
        Ok(_) => {}
        Err(e) => eprintln!("picoshare: gc failed: {e}"),
    }
}

/// Starts the periodic collector thread.
pub fn spawn(app: Arc<App>) -> std::io::Result<()> {
    let interval = app.config.gc_interval;
    std::thread::Builder::new()
        .name("gc".into())
        .spawn(move || loop {
            std::thread::sleep(interval);
            collect(&app);
        })?;
    Ok(())
}
