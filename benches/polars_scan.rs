//! Polars `scan_b2` against Polars' own `scan_parquet` (zstd) and `scan_ipc` (lz4)
//! on TPC-H lineitem, same run, same machine: size, full scan, one-column scan, a
//! 1000-row slice at random offsets, and a filtered head.
//!
//! `cargo bench --features polars --bench polars_scan` (scale factor from
//! `B2FRAME_BENCH_SF`, default 1 = 6,001,215 rows; rounds from `B2FRAME_BENCH_ROUNDS`).

use std::path::Path;
use std::time::Instant;

use b2frame::polars::{scan_b2, sink_b2, ScanArgsB2, SinkOptionsB2};
use polars::prelude::*;
use tpchgen::generators::LineItemGenerator;

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Lineitem at scale `sf` as a DataFrame (decimals as f64, dates as Date).
fn lineitem(sf: f64) -> PolarsResult<DataFrame> {
    let mut ok = Vec::new();
    let (mut pk, mut sk, mut ln, mut qty) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut price, mut disc, mut tax) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rf, mut ls, mut ship, mut commit, mut receipt) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut instr, mut mode, mut comment) = (Vec::new(), Vec::new(), Vec::new());
    for r in LineItemGenerator::new(sf, 1, 1).iter() {
        ok.push(r.l_orderkey);
        pk.push(r.l_partkey);
        sk.push(r.l_suppkey);
        ln.push(r.l_linenumber);
        qty.push(r.l_quantity as f64);
        price.push(r.l_extendedprice.0 as f64 / 100.0);
        disc.push(r.l_discount.0 as f64 / 100.0);
        tax.push(r.l_tax.0 as f64 / 100.0);
        rf.push(r.l_returnflag.to_string());
        ls.push(r.l_linestatus);
        ship.push(r.l_shipdate.to_unix_epoch());
        commit.push(r.l_commitdate.to_unix_epoch());
        receipt.push(r.l_receiptdate.to_unix_epoch());
        instr.push(r.l_shipinstruct.to_string());
        mode.push(r.l_shipmode.to_string());
        comment.push(r.l_comment.to_string());
    }
    let date = |name: &str, v: Vec<i32>| Series::new(name.into(), v).cast(&DataType::Date);
    let cols: Vec<Column> = vec![
        Series::new("l_orderkey".into(), ok).into(),
        Series::new("l_partkey".into(), pk).into(),
        Series::new("l_suppkey".into(), sk).into(),
        Series::new("l_linenumber".into(), ln).into(),
        Series::new("l_quantity".into(), qty).into(),
        Series::new("l_extendedprice".into(), price).into(),
        Series::new("l_discount".into(), disc).into(),
        Series::new("l_tax".into(), tax).into(),
        Series::new("l_returnflag".into(), rf).into(),
        Series::new("l_linestatus".into(), ls).into(),
        date("l_shipdate", ship)?.into(),
        date("l_commitdate", commit)?.into(),
        date("l_receiptdate", receipt)?.into(),
        Series::new("l_shipinstruct".into(), instr).into(),
        Series::new("l_shipmode".into(), mode).into(),
        Series::new("l_comment".into(), comment).into(),
    ];
    DataFrame::new_infer_height(cols)
}

fn dir_size(p: &Path) -> u64 {
    if p.is_file() {
        return std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    }
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum())
        .unwrap_or(0)
}

/// Median seconds of `rounds` runs of `f`.
fn median(rounds: usize, mut f: impl FnMut(usize) -> PolarsResult<()>) -> PolarsResult<f64> {
    let mut t = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let s = Instant::now();
        f(i)?;
        t.push(s.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sf = env_f64("B2FRAME_BENCH_SF", 1.0);
    let rounds = env_f64("B2FRAME_BENCH_ROUNDS", 5.0) as usize;
    let slices = 51;
    let work = tempfile::tempdir()?;
    let t = Instant::now();
    let mut df = lineitem(sf)?;
    let n = df.height();
    eprintln!(
        "lineitem sf {sf}: {n} rows generated in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let b2 = work.path().join("lineitem-b2");
    let b2_url = b2.to_str().ok_or("path")?.to_string();
    let pq = work.path().join("lineitem.parquet");
    let ipc = work.path().join("lineitem.arrow");
    let w_b2 = median(1, |_| {
        sink_b2(df.clone().lazy(), &b2_url, SinkOptionsB2::default()).map(|_| ())
    })?;
    let w_pq = median(1, |_| {
        ParquetWriter::new(std::fs::File::create(&pq)?)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)
            .map(|_| ())
    })?;
    let w_ipc = median(1, |_| {
        IpcWriter::new(std::fs::File::create(&ipc)?)
            .with_compression(Some(IpcCompression::LZ4))
            .finish(&mut df)
    })?;
    drop(df);

    let pq_path = PlRefPath::new(pq.to_str().ok_or("path")?);
    let ipc_path = PlRefPath::new(ipc.to_str().ok_or("path")?);
    let scan_pq = || LazyFrame::scan_parquet(pq_path.clone(), ScanArgsParquet::default());
    let scan_ipc = || LazyFrame::scan_ipc(ipc_path.clone(), Default::default(), Default::default());
    let scan_b = |args: ScanArgsB2| scan_b2(&b2_url, args);

    type Scan<'a> = Box<dyn Fn() -> PolarsResult<LazyFrame> + 'a>;
    let engines: [(&str, Scan); 3] = [
        ("b2frame", Box::new(|| scan_b(ScanArgsB2::default()))),
        ("parquet_zstd", Box::new(scan_pq)),
        ("ipc_lz4", Box::new(scan_ipc)),
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let offsets: Vec<u64> = (0..slices)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % (n as u64 - 1000)
        })
        .collect();
    let mut rows = Vec::new();
    for (name, scan) in &engines {
        let full = median(rounds, |_| scan()?.collect().map(|_| ()))?;
        let one = median(rounds, |_| {
            scan()?
                .select([col("l_extendedprice")])
                .collect()
                .map(|_| ())
        })?;
        let slice = median(slices, |i| {
            let a = offsets[i];
            let lf = if *name == "b2frame" {
                scan_b(ScanArgsB2::default().with_rows(a..a + 1000))?
            } else {
                scan()?.slice(a as i64, 1000)
            };
            let got = lf.select([col("l_extendedprice")]).collect()?;
            assert_eq!(got.height(), 1000);
            Ok(())
        })?;
        let head = median(rounds, |_| {
            let got = scan()?
                .filter(
                    col("l_shipdate").gt(lit(Scalar::new(DataType::Date, AnyValue::Date(10_531)))),
                )
                .limit(1000)
                .collect()?;
            assert!(got.height() > 0);
            Ok(())
        })?;
        rows.push((name.to_string(), full, one, slice, head));
    }
    let sizes = [dir_size(&b2), dir_size(&pq), dir_size(&ipc)];
    let writes = [w_b2, w_pq, w_ipc];
    println!("| lineitem sf {sf} ({n} rows) | b2frame | Parquet zstd | IPC lz4 | b2frame / Parquet | b2frame / IPC |");
    println!("|---|---:|---:|---:|---:|---:|");
    let line = |what: &str, v: [f64; 3], unit: &str, scale: f64| {
        println!(
            "| {what} | {:.2} {unit} | {:.2} {unit} | {:.2} {unit} | {:.2} | {:.2} |",
            v[0] * scale,
            v[1] * scale,
            v[2] * scale,
            v[0] / v[1],
            v[0] / v[2]
        );
    };
    line("size on disk", sizes.map(|s| s as f64), "MB", 1e-6);
    line("write (sink)", writes, "s", 1.0);
    line(
        "full scan, collect",
        [rows[0].1, rows[1].1, rows[2].1],
        "ms",
        1e3,
    );
    line(
        "one column (l_extendedprice)",
        [rows[0].2, rows[1].2, rows[2].2],
        "ms",
        1e3,
    );
    line(
        "1000-row slice, median",
        [rows[0].3, rows[1].3, rows[2].3],
        "ms",
        1e3,
    );
    line(
        "filter l_shipdate + head(1000)",
        [rows[0].4, rows[1].4, rows[2].4],
        "ms",
        1e3,
    );
    Ok(())
}
