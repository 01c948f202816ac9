//! The disk's floor under durable writes, measured in the same run.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Median time of a 4 KiB append followed by `fdatasync`, in ms, in `dir`: what each
/// durable commit waits for at least. At concurrency `c`, with every caller answered
/// only after its commit is on disk, no batching gets past `c` commits per fsync.
pub fn fsync_median_ms(dir: &Path) -> Result<f64, String> {
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
    let page = [0u8; 4096];
    let mut times = Vec::with_capacity(200);
    for _ in 0..200 {
        let started = Instant::now();
        file.write_all(&page).map_err(|e| e.to_string())?;
        file.sync_data().map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    drop(file);
    let _ = std::fs::remove_file(&path);
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
