//! The `b2frame` CLI, as scripts use it; python-blosc2 opens what it writes.

use std::process::Command;

use serde_json::Value;

use crate::common::{oracle, run_python};

fn b2frame() -> Command {
    Command::new(env!("CARGO_BIN_EXE_b2frame"))
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run b2frame");
    assert!(
        out.status.success(),
        "b2frame failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

fn sample(n: usize) -> Vec<u8> {
    (0..n as u64)
        .flat_map(|i| (1_357_000_000 + i / 10 * 3).to_le_bytes())
        .collect()
}

#[test]
fn cli_compress_info_decompress_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("in.raw");
    let frame = dir.path().join("out.b2frame");
    let back = dir.path().join("back.raw");
    let data = sample(300_001);
    std::fs::write(&raw, &data).expect("write");
    for codec in ["blosclz", "lz4", "lz4hc", "zlib", "zstd"] {
        for filter in ["nofilter", "shuffle", "bitshuffle", "delta", "bytedelta"] {
            run_ok(
                b2frame()
                    .args([
                        "compress",
                        "--codec",
                        codec,
                        "--clevel",
                        "3",
                        "--filter",
                        filter,
                        "--typesize",
                        "8",
                        "--chunksize",
                        "1000000",
                    ])
                    .arg(&raw)
                    .arg(&frame),
            );
            let info: Value =
                serde_json::from_str(&run_ok(b2frame().arg("info").arg("--json").arg(&frame)))
                    .expect("json");
            assert_eq!(info["codec"], codec);
            assert_eq!(info["clevel"], 3);
            assert_eq!(info["typesize"], 8);
            assert_eq!(info["nbytes"], data.len());
            assert_eq!(info["nchunks"], 3);
            for key in [
                "cbytes",
                "ratio",
                "chunksize",
                "blocksize",
                "filters",
                "metalayers",
                "vlmeta",
            ] {
                assert!(info.get(key).is_some(), "info lacks {key}");
            }
            run_ok(
                b2frame()
                    .args(["decompress", "--start", "1000", "--stop", "250001"])
                    .arg(&frame)
                    .arg(&back),
            );
            assert_eq!(
                std::fs::read(&back).expect("read"),
                data[8000..2_000_008],
                "{codec}/{filter}"
            );
        }
    }
    run_ok(b2frame().arg("decompress").arg(&frame).arg(&back));
    assert_eq!(std::fs::read(&back).expect("read"), data);
}

#[test]
fn cli_frames_open_in_python_blosc2() {
    let Some(py) = oracle() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("in.raw");
    std::fs::write(&raw, sample(123_457)).expect("write");
    for (codec, id) in [
        ("blosclz", 0),
        ("lz4", 1),
        ("lz4hc", 2),
        ("zlib", 4),
        ("zstd", 5),
    ] {
        let frame = dir.path().join(format!("{codec}.b2frame"));
        run_ok(
            b2frame()
                .args([
                    "compress",
                    "--codec",
                    codec,
                    "--clevel",
                    "7",
                    "--typesize",
                    "8",
                    "--chunksize",
                    "400000",
                ])
                .arg(&raw)
                .arg(&frame),
        );
        let script = r#"
import sys, blosc2
s = blosc2.open(sys.argv[1])
raw = open(sys.argv[2], "rb").read()
assert bytes(s[:]) == raw, "content"
print(int(s.cparams.codec.value), s.cparams.clevel, s.cparams.typesize, s.nchunks)
"#;
        let out = run_python(
            &py,
            script,
            &[frame.to_str().expect("utf8"), raw.to_str().expect("utf8")],
        );
        assert_eq!(
            String::from_utf8_lossy(&out).trim(),
            format!("{id} 7 8 3"),
            "{codec}"
        );
    }
    // Defaults are python-blosc2's: zstd, clevel 5, shuffle.
    let frame = dir.path().join("default.b2frame");
    run_ok(b2frame().arg("compress").arg(&raw).arg(&frame));
    let out = run_python(&py, "import sys, blosc2; s = blosc2.open(sys.argv[1]); print(s.cparams.codec.name, s.cparams.clevel, [int(f.value) for f in s.cparams.filters])", &[frame.to_str().expect("utf8")]);
    assert_eq!(
        String::from_utf8_lossy(&out).trim(),
        "ZSTD 5 [0, 0, 0, 0, 0, 1]"
    );
}

#[test]
fn cli_bench_json_has_the_documented_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("in.raw");
    std::fs::write(&raw, sample(200_000)).expect("write");
    let out = run_ok(
        b2frame()
            .args([
                "bench",
                "--codec",
                "lz4",
                "--typesize",
                "8",
                "--repeat",
                "2",
                "--threads",
                "1",
                "--json",
            ])
            .arg(&raw),
    );
    let v: Value = serde_json::from_str(&out).expect("json");
    for key in [
        "nbytes",
        "cbytes",
        "ratio",
        "compress_GBps",
        "decompress_GBps",
        "blocksize",
        "codec",
        "clevel",
        "typesize",
        "chunksize",
    ] {
        assert!(v.get(key).is_some(), "bench lacks {key}");
    }
    assert_eq!(v["nbytes"], 1_600_000);
    assert!(v["ratio"].as_f64().expect("ratio") > 2.0);
}

#[test]
fn cli_errors_are_messages_with_nonzero_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.raw");
    let out = b2frame()
        .arg("compress")
        .arg(&missing)
        .arg(dir.path().join("o.b2frame"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing.raw"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = dir.path().join("odd.raw");
    std::fs::write(&raw, [1u8; 13]).expect("write");
    let out = b2frame()
        .args(["compress", "--typesize", "4"])
        .arg(&raw)
        .arg(dir.path().join("o.b2frame"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a multiple of --typesize 4"));
    let out = b2frame()
        .args(["compress", "--clevel", "10"])
        .arg(&raw)
        .arg("x")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let garbage = dir.path().join("garbage.b2frame");
    std::fs::write(
        &garbage,
        b"this is not a frame at all, not even close........",
    )
    .expect("write");
    let out = b2frame().arg("info").arg(&garbage).output().expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("corrupt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = b2frame().arg("--help").output().expect("run");
    assert!(out.status.success());
}

#[test]
fn cli_npy_to_b2nd_append_and_item_bench() {
    let Some(py) = oracle() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let npy = dir.path().join("x.npy");
    let b2nd = dir.path().join("x.b2nd");
    let back = dir.path().join("back.npy");
    run_python(&py, "import sys, numpy as np; np.save(sys.argv[1], (np.arange(300*250, dtype='<f8').reshape(300, 250) * 0.5))", &[npy.to_str().expect("utf8")]);
    run_ok(
        b2frame()
            .args(["compress", "--typesize", "8", "--chunksize", "200000"])
            .arg(&npy)
            .arg(&b2nd),
    );
    let info: Value = serde_json::from_str(&run_ok(b2frame().arg("info").arg("--json").arg(&b2nd)))
        .expect("json");
    assert_eq!(info["kind"], "b2nd");
    assert_eq!(info["shape"], serde_json::json!([300, 250]));
    assert_eq!(info["dtype"], "<f8");
    assert_eq!(info["chunks"], serde_json::json!([100, 250]));
    run_ok(b2frame().arg("decompress").arg(&b2nd).arg(&back));
    let check = "import sys, numpy as np, blosc2\na = np.load(sys.argv[1]); b = np.load(sys.argv[2]); c = blosc2.open(sys.argv[3])\nassert a.shape == b.shape == c.shape and a.dtype == b.dtype == c.dtype\nassert (a == b).all() and (c[:] == a).all()\nprint('ok')";
    let out = run_python(
        &py,
        check,
        &[
            npy.to_str().expect("utf8"),
            back.to_str().expect("utf8"),
            b2nd.to_str().expect("utf8"),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out).trim(), "ok");

    let raw = dir.path().join("in.raw");
    let frame = dir.path().join("grow.b2frame");
    let data = sample(50_000);
    std::fs::write(&raw, &data).expect("write");
    run_ok(
        b2frame()
            .args(["compress", "--typesize", "8", "--chunksize", "64000"])
            .arg(&raw)
            .arg(&frame),
    );
    run_ok(b2frame().arg("append").arg(&frame).arg(&raw));
    let info: Value =
        serde_json::from_str(&run_ok(b2frame().arg("info").arg("--json").arg(&frame)))
            .expect("json");
    assert_eq!(info["nbytes"], 2 * data.len());
    let out = run_python(&py, "import sys, blosc2; s = blosc2.open(sys.argv[1]); r = open(sys.argv[2], 'rb').read(); print(bytes(s[:]) == r + r)", &[frame.to_str().expect("utf8"), raw.to_str().expect("utf8")]);
    assert_eq!(String::from_utf8_lossy(&out).trim(), "True");
    let odd = dir.path().join("odd.raw");
    std::fs::write(&odd, [0u8; 12]).expect("write");
    let out = b2frame()
        .arg("append")
        .arg(&frame)
        .arg(&odd)
        .output()
        .expect("run");
    assert!(!out.status.success(), "12 bytes are not whole 8-byte items");

    let v: Value = serde_json::from_str(&run_ok(
        b2frame()
            .args([
                "bench",
                "--typesize",
                "8",
                "--repeat",
                "1",
                "--threads",
                "1",
                "--slice-items",
                "100",
                "--json",
            ])
            .arg(&raw),
    ))
    .expect("json");
    for key in [
        "slice_median_us",
        "set_item_median_us",
        "unaligned_append_GBps",
    ] {
        assert!(
            v[key].as_f64().is_some_and(|x| x > 0.0),
            "bench lacks {key}"
        );
    }
}

#[cfg(feature = "polars")]
#[test]
fn cli_sql_over_a_converted_dataset_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "carrier,delay\nUA,10\nAA,-2\nUA,4\nDL,\nAA,6\n").expect("write");
    let ds = dir.path().join("ds");
    let ds = ds.to_str().expect("utf8");
    run_ok(b2frame().args(["convert", "--quiet", csv.to_str().expect("utf8"), ds]));
    let query = "SELECT carrier, SUM(delay) AS total FROM t GROUP BY carrier ORDER BY carrier";
    let table = format!("t={ds}");
    let out = run_ok(b2frame().args(["sql", query, "--table", &table, "--format", "csv"]));
    assert_eq!(out, "carrier,total\nAA,4\nDL,\nUA,14\n");
    let out = run_ok(b2frame().args(["sql", query, "--table", &table, "--format", "json"]));
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v[2]["carrier"], "UA");
    assert_eq!(v[2]["total"], 14);
    assert_eq!(v[1]["total"], Value::Null);
    let out = run_ok(b2frame().args(["sql", query, "--table", &table]));
    assert!(out.contains("UA") && out.contains("14"), "{out}");

    // NDJSON round trip through the dataset.
    let nd = dir.path().join("back.ndjson");
    run_ok(b2frame().args(["convert", "--quiet", ds, nd.to_str().expect("utf8")]));
    let text = std::fs::read_to_string(&nd).expect("read");
    assert_eq!(text.lines().count(), 5);
    assert!(
        text.starts_with("{\"carrier\":\"UA\",\"delay\":10}"),
        "{text}"
    );

    // Bad input names what was wrong.
    for (args, needle) in [
        (vec!["sql", query, "--table", "t"], "NAME=DATASET"),
        (
            vec!["sql", query, "--table", "t=/nonexistent/ds"],
            "t=/nonexistent/ds",
        ),
        (vec!["sql", "SELEC nonsense", "--table", &table], "query"),
    ] {
        let out = b2frame().args(&args).output().expect("run");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
