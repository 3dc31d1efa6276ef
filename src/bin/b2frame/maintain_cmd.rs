//! `b2frame compact` and `b2frame cleanup`: dataset maintenance.

use b2frame::dataset::{CleanupOptions, CompactOptions, Dataset};
use b2frame::{Error, Result, Store};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

/// Opens the newest version of `url` with `KEY=VALUE` store options.
fn open(url: &str, storage_options: &[String]) -> Result<Dataset> {
    let options = storage_options
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::InvalidArgument {
                    name: "storage-option",
                    reason: format!("{kv:?}: expected KEY=VALUE"),
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Dataset::open_store(Store::from_url(url, options)?)
}

/// Merges `url`'s small fragments; prints what changed.
pub fn compact(url: &str, storage_options: &[String], target_rows: u64, json: bool) -> Result<()> {
    let ds = open(url, storage_options)?;
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "compacting [{bar:40}] {human_pos}/{human_len} rows eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let options = CompactOptions::default().with_target_rows(target_rows);
    let r = ds.compact_with_progress(options, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    if json {
        let v = json!({
            "version": r.version,
            "fragments_before": r.fragments_before,
            "fragments_after": r.fragments_after,
            "rows_rewritten": r.rows_rewritten,
        });
        println!("{v}");
    } else if let Some(v) = r.version {
        println!(
            "{url}: {} fragments -> {} ({} rows rewritten), version {v}",
            r.fragments_before, r.fragments_after, r.rows_rewritten
        );
    } else {
        println!(
            "{url}: nothing to merge ({} fragments), version {} unchanged",
            r.fragments_before,
            ds.version()
        );
    }
    Ok(())
}

/// Deletes `url`'s old versions; prints what went.
pub fn cleanup(
    url: &str,
    storage_options: &[String],
    options: CleanupOptions,
    json: bool,
) -> Result<()> {
    let dry = options.dry_run;
    let r = open(url, storage_options)?.cleanup_old_versions(options)?;
    if json {
        let v = json!({
            "dry_run": dry,
            "versions_removed": r.versions_removed,
            "versions_kept": r.versions_kept,
            "objects_removed": r.objects_removed,
            "bytes_removed": r.bytes_removed,
        });
        println!("{v}");
    } else {
        println!(
            "{url}: {} {} versions and {} objects ({} bytes); kept versions {:?}",
            if dry { "would delete" } else { "deleted" },
            r.versions_removed.len(),
            r.objects_removed,
            r.bytes_removed,
            r.versions_kept
        );
    }
    Ok(())
}
