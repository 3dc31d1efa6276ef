//! The `b2frame` command-line tool.

mod args;
mod bench;
mod frame_cmd;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
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
            json,
            raw,
        } => {
            let data = read(&raw)?;
            let r = bench::run(&params, repeat, &data)?;
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
        } => frame_cmd::compress(&params, &input, &output),
        Command::Decompress {
            start,
            stop,
            input,
            output,
        } => frame_cmd::decompress(&input, &output, start, stop),
        Command::Info { json, input } => {
            let v = frame_cmd::info(&input)?;
            if json {
                println!("{v}");
            } else {
                frame_cmd::print_info(&v);
            }
            Ok(())
        }
    }
}
