//! The `b2frame` command-line tool.

mod args;
mod array_cmd;
mod bench;
mod convert;
mod frame_cmd;
mod maintain_cmd;
mod sql_cmd;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("b2frame: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &std::path::Path) -> b2frame::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        b2frame::Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })
}

fn run(cli: Cli) -> b2frame::Result<()> {
    match cli.command {
        Command::Bench {
            params,
            repeat,
            slice_items,
            json,
            raw,
        } => {
            let data = read(&raw)?;
            let mut r = bench::run(&params, repeat, &data)?;
            if let Some(n) = slice_items {
                bench::run_items(&params, repeat, &data, n, &mut r)?;
            }
            if json {
                println!("{}", r.json);
            } else {
                let j = &r.json;
                println!(
                    "{} bytes -> {} bytes (ratio {:.2}), compress {:.2} GB/s, decompress {:.2} GB/s, blocksize {}",
                    j["nbytes"], j["cbytes"], j["ratio"].as_f64().unwrap_or(0.0),
                    j["compress_GBps"].as_f64().unwrap_or(0.0), j["decompress_GBps"].as_f64().unwrap_or(0.0), j["blocksize"]
                );
            }
            Ok(())
        }
        Command::Compress {
            params,
            input,
            output,
        } => {
            if array_cmd::compress_npy(&params, &input, &output)? {
                return Ok(());
            }
            frame_cmd::compress(&params, &input, &output)
        }
        Command::Decompress {
            start,
            stop,
            input,
            output,
        } => {
            if array_cmd::decompress(&input, &output, start, stop)? {
                return Ok(());
            }
            frame_cmd::decompress(&input, &output, start, stop)
        }
        Command::Append { frame, raw } => array_cmd::append(&frame, &raw),
        Command::Convert {
            append,
            fragment_rows,
            quiet,
            input,
            output,
        } => convert::convert(&input, &output, append, fragment_rows, quiet),
        Command::Compact {
            target_rows,
            json,
            storage_options,
            dataset,
        } => maintain_cmd::compact(&dataset, &storage_options, target_rows, json),
        Command::Cleanup {
            keep_versions,
            min_age_secs,
            dry_run,
            json,
            storage_options,
            dataset,
        } => {
            let options = b2frame::dataset::CleanupOptions::default()
                .with_keep_versions(keep_versions)
                .with_min_age(std::time::Duration::from_secs(min_age_secs))
                .with_dry_run(dry_run);
            maintain_cmd::cleanup(&dataset, &storage_options, options, json)
        }
        Command::Sql {
            query,
            tables,
            format,
            storage_options,
        } => sql_cmd::run(&query, &tables, format, &storage_options),
        Command::Info { json, input } if convert::is_dataset(&input.to_string_lossy()) => {
            let v = convert::info(&input.to_string_lossy())?;
            if json {
                println!("{v}");
            } else {
                convert::print_info(&v);
            }
            Ok(())
        }
        Command::Info { json, input } => {
            let mut v = frame_cmd::info(&input)?;
            if let (Some(obj), serde_json::Value::Object(extra)) =
                (v.as_object_mut(), array_cmd::info_fields(&input)?)
            {
                obj.extend(extra);
            }
            if json {
                println!("{v}");
            } else {
                frame_cmd::print_info(&v);
            }
            Ok(())
        }
    }
}

/// `b2frame info … | head` closes stdout early: end quietly, as Unix tools do,
/// instead of reporting a panic from `println!`.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") {
            std::process::exit(141);
        }
        default(info);
    }));
}
