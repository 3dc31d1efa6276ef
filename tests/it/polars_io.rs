//! Polars scan/sink (feature `polars`): dtype round trips, pushdown proven by the bytes
//! the store served, SQL against the same query on Parquet data, S3, bad input.

use std::sync::Arc;

use b2frame::dataset::{Dataset, DatasetWriter, WriteMode, WriteOptions};
use b2frame::polars::{
    scan_b2, scan_b2_batches, scan_b2_store, sink_b2, sink_b2_store, to_dataframe, ScanArgsB2,
    SinkOptionsB2,
};
use b2frame::Store;
use polars::prelude::*;

/// The error of a result whose value has no `Debug` (a LazyFrame).
fn expect_err<T>(r: PolarsResult<T>) -> PolarsError {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn memory_store() -> Store {
    Store::from_object_store(
        Arc::new(object_store::memory::InMemory::new()),
        Default::default(),
    )
}

/// A frame with every Polars dtype the issue lists, nulls included.
fn all_dtypes(n: usize) -> DataFrame {
    let idx: Vec<i64> = (0..n as i64).collect();
    let opt = |i: usize| i % 7 != 3;
    let mut df = df![
        "i8" => idx.iter().map(|&i| opt(i as usize).then_some((i % 100) as i8)).collect::<Vec<_>>(),
        "i16" => idx.iter().map(|&i| i as i16).collect::<Vec<_>>(),
        "i32" => idx.iter().map(|&i| opt(i as usize).then_some(i as i32 * 3)).collect::<Vec<_>>(),
        "i64" => idx.clone(),
        "u8" => idx.iter().map(|&i| i as u8).collect::<Vec<_>>(),
        "u16" => idx.iter().map(|&i| i as u16).collect::<Vec<_>>(),
        "u32" => idx.iter().map(|&i| i as u32).collect::<Vec<_>>(),
        "u64" => idx.iter().map(|&i| i as u64 * 1_000_000_007).collect::<Vec<_>>(),
        "f32" => idx.iter().map(|&i| i as f32 / 3.0).collect::<Vec<_>>(),
        "f64" => idx.iter().map(|&i| opt(i as usize).then_some(i as f64 * 0.25)).collect::<Vec<_>>(),
        "bool" => idx.iter().map(|&i| opt(i as usize).then_some(i % 3 == 0)).collect::<Vec<_>>(),
        "str" => idx.iter().map(|&i| opt(i as usize).then(|| format!("s{}", i * 7919 % 1000))).collect::<Vec<_>>(),
    ]
    .unwrap();
    let bin = Series::new(
        "bin".into(),
        idx.iter()
            .map(|&i| opt(i as usize).then(|| vec![i as u8; (i % 5) as usize]))
            .collect::<Vec<_>>(),
    );
    let date = Series::new(
        "date".into(),
        idx.iter().map(|&i| i as i32).collect::<Vec<_>>(),
    )
    .cast(&DataType::Date)
    .unwrap();
    let dt = Series::new(
        "dt".into(),
        idx.iter().map(|&i| i * 1_000_003).collect::<Vec<_>>(),
    )
    .cast(&DataType::Datetime(
        TimeUnit::Microseconds,
        Some(
            TimeZone::opt_try_new(Some("Europe/Madrid"))
                .unwrap()
                .unwrap(),
        ),
    ))
    .unwrap();
    let dur = Series::new(
        "dur".into(),
        idx.iter().map(|&i| i * 1000).collect::<Vec<_>>(),
    )
    .cast(&DataType::Duration(TimeUnit::Milliseconds))
    .unwrap();
    let time = Series::new(
        "time".into(),
        idx.iter()
            .map(|&i| (i % 86_400) * 1_000_000_000)
            .collect::<Vec<_>>(),
    )
    .cast(&DataType::Time)
    .unwrap();
    let dec = Series::new(
        "dec".into(),
        idx.iter().map(|&i| i as i128 * 101).collect::<Vec<_>>(),
    )
    .cast(&DataType::Decimal(20, 2))
    .unwrap();
    let cat = Series::new(
        "cat".into(),
        idx.iter()
            .map(|&i| ["a", "b", "c"][i as usize % 3])
            .collect::<Vec<_>>(),
    )
    .cast(&DataType::from_categories(Categories::global()))
    .unwrap();
    let list = Series::new(
        "list".into(),
        idx.iter()
            .map(|&i| Series::new("".into(), (0..i % 4).collect::<Vec<i64>>()))
            .collect::<Vec<_>>(),
    );
    let arr = Series::new(
        "arr".into(),
        idx.iter()
            .flat_map(|&i| [i as f64, -(i as f64)])
            .collect::<Vec<_>>(),
    )
    .reshape_array(&[ReshapeDimension::Infer, ReshapeDimension::new(2)])
    .unwrap();
    let null = Series::new_null("null".into(), n);
    for s in [bin, date, dt, dur, time, dec, cat, list, arr, null] {
        df.with_column(s.into()).unwrap();
    }
    let st = df
        .select(["i64", "str"])
        .unwrap()
        .into_struct("st".into())
        .into_series();
    df.with_column(st.into()).unwrap();
    df
}

#[test]
fn every_dtype_round_trips_through_sink_and_scan() {
    let df = all_dtypes(5000);
    let store = memory_store();
    let opts = SinkOptionsB2 {
        batch_rows: Some(1500),
        ..Default::default()
    };
    let rows = sink_b2_store(df.clone().lazy(), store.clone(), opts).unwrap();
    assert_eq!(rows, 5000);
    let back = scan_b2_store(store.clone(), ScanArgsB2::default())
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(back.schema(), df.schema(), "dtypes must round-trip");
    assert!(
        back.equals_missing(&df),
        "values must round-trip:\n{back}\n{df}"
    );
    // The stored Arrow schema uses the classic layouts, not Polars' views.
    let schema = Dataset::open_store(store).unwrap().schema();
    assert_eq!(
        schema.field_with_name("str").unwrap().data_type(),
        &arrow_schema::DataType::Utf8
    );
    assert!(matches!(
        schema.field_with_name("list").unwrap().data_type(),
        arrow_schema::DataType::List(_)
    ));
}

#[test]
fn enum_columns_keep_their_categories() {
    let cats = FrozenCategories::new(["lo", "mid", "hi"]).unwrap();
    let e = Series::new("e".into(), ["hi", "lo", "mid", "hi"])
        .cast(&DataType::from_frozen_categories(cats))
        .unwrap();
    let df = DataFrame::new(4, vec![e.into()]).unwrap();
    let store = memory_store();
    sink_b2_store(df.clone().lazy(), store.clone(), SinkOptionsB2::default()).unwrap();
    let back = scan_b2_store(store, ScanArgsB2::default())
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(back.schema(), df.schema());
    assert!(back.equals_missing(&df));
}

/// A 3-column dataset of `n` rows, sorted by `k`, in chunks of 10,000 rows.
fn numbers(n: i64) -> (Store, DataFrame) {
    let df = df![
        "k" => (0..n).collect::<Vec<_>>(),
        "v" => (0..n).map(|i| (i * 7919) % 1000).collect::<Vec<_>>(),
        "s" => (0..n).map(|i| format!("row-{i}")).collect::<Vec<_>>(),
        // Hashed values: every chunk is about as large as its raw bytes.
        "r" => (0..n as u64).map(|i| {
            let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as i64
        }).collect::<Vec<_>>(),
    ]
    .unwrap();
    let store = memory_store();
    let write = WriteOptions::default()
        .with_encode(b2frame::arrow::EncodeOptions::default().with_chunk_rows(10_000));
    let opts = SinkOptionsB2 {
        write,
        ..Default::default()
    };
    sink_b2_store(df.clone().lazy(), store.clone(), opts).unwrap();
    (store, df)
}

fn bytes_read(store: &Store, f: impl FnOnce() -> DataFrame) -> (DataFrame, u64) {
    store.reset_stats();
    let df = f();
    (df, store.stats().bytes_read)
}

#[test]
fn projection_slice_and_predicate_are_pushed_into_the_reader() {
    let (store, df) = numbers(200_000);
    let scan = || scan_b2_store(store.clone(), ScanArgsB2::default()).unwrap();
    let (all, all_bytes) = bytes_read(&store, || scan().collect().unwrap());
    assert!(all.equals(&df));

    // Projection: one numeric column reads a fraction of everything.
    let (k, k_bytes) = bytes_read(&store, || scan().select([col("k")]).collect().unwrap());
    assert!(k.equals(&df.select(["k"]).unwrap()));
    assert!(
        k_bytes * 3 < all_bytes,
        "projection read {k_bytes} of {all_bytes} bytes"
    );

    // head(n): only the first chunk of the column.
    let (h, h_bytes) = bytes_read(&store, || {
        scan().select([col("r")]).limit(5).collect().unwrap()
    });
    assert_eq!(h, df.select(["r"]).unwrap().head(Some(5)));
    let (_, r_bytes) = bytes_read(&store, || scan().select([col("r")]).collect().unwrap());
    assert!(
        h_bytes * 5 < r_bytes,
        "head read {h_bytes} of {r_bytes} bytes"
    );

    // Predicate on the sorted column: chunks outside [150000, 150100) are skipped,
    // and the rows returned are exactly the matching ones.
    let pred = col("k")
        .gt_eq(lit(150_000i64))
        .and(col("k").lt(lit(150_100i64)));
    let (f, f_bytes) = bytes_read(&store, || scan().filter(pred.clone()).collect().unwrap());
    assert_eq!(f, df.clone().lazy().filter(pred).collect().unwrap());
    assert!(
        f_bytes * 4 < all_bytes,
        "filtered scan read {f_bytes} of {all_bytes} bytes"
    );
    // A float bound on the integer column (Polars casts the column to Float64)
    // prunes the same chunks.
    let fpred = col("k")
        .gt_eq(lit(150_000.5))
        .and(col("k").lt(lit(150_100.0)));
    let (ff, ff_bytes) = bytes_read(&store, || scan().filter(fpred.clone()).collect().unwrap());
    assert_eq!(ff, df.clone().lazy().filter(fpred).collect().unwrap());
    assert_eq!(ff.height(), 99);
    assert_eq!(ff_bytes, f_bytes);

    // An unprunable predicate still gives exact results.
    let odd = col("v").gt(lit(990i64));
    let got = scan()
        .filter(odd.clone())
        .select([col("s")])
        .collect()
        .unwrap();
    assert_eq!(
        got,
        df.clone()
            .lazy()
            .filter(odd)
            .select([col("s")])
            .collect()
            .unwrap()
    );

    // filter + head: n matching rows, not n rows then the filter.
    let got = scan()
        .filter(col("v").eq(lit(7i64)))
        .limit(3)
        .collect()
        .unwrap();
    assert_eq!(
        got,
        df.clone()
            .lazy()
            .filter(col("v").eq(lit(7i64)))
            .limit(3)
            .collect()
            .unwrap()
    );

    // Offset slices go through ScanArgsB2::with_rows (touching one chunk).
    store.reset_stats();
    let sl = scan_b2_store(
        store.clone(),
        ScanArgsB2::default().with_rows(123_456..124_456),
    )
    .unwrap()
    .select([col("r")])
    .collect()
    .unwrap();
    let sl_bytes = store.stats().bytes_read;
    assert_eq!(sl, df.select(["r"]).unwrap().slice(123_456, 1000));
    assert!(
        sl_bytes * 5 < r_bytes,
        "slice read {sl_bytes} of {r_bytes} bytes"
    );

    // Polars' own offset slice and tail (not pushed down) are still right.
    assert_eq!(
        scan().slice(199_990, 5).collect().unwrap(),
        df.slice(199_990, 5)
    );
    assert_eq!(scan().tail(3).collect().unwrap(), df.tail(Some(3)));
}

#[test]
fn batches_are_bounded_and_sinks_stream_in_batches() {
    let (store, df) = numbers(50_000);
    let dir = tempfile::tempdir().unwrap();
    // scan_b2_batches: bounded DataFrames from a dataset directory.
    let url = dir.path().join("ds");
    let url = url.to_str().unwrap();
    sink_b2(df.clone().lazy(), url, SinkOptionsB2::default()).unwrap();
    let parts: Vec<DataFrame> = scan_b2_batches(
        url,
        Some(&["v"]),
        ScanArgsB2::default().with_batch_size(8000),
    )
    .unwrap()
    .collect::<PolarsResult<_>>()
    .unwrap();
    assert_eq!(parts.len(), 7);
    assert!(parts.iter().all(|p| p.height() <= 8000));
    let mut joined = parts[0].clone();
    for p in &parts[1..] {
        joined.vstack_mut(p).unwrap();
    }
    assert!(joined.equals(&df.select(["v"]).unwrap()));

    // A sink of a b2frame scan (in-memory engine) appends to another dataset.
    let copy = dir.path().join("copy");
    let copy = copy.to_str().unwrap();
    let lf = scan_b2_store(store, ScanArgsB2::default())
        .unwrap()
        .filter(col("v").lt(lit(10i64)));
    let n = sink_b2(lf.clone(), copy, SinkOptionsB2::default()).unwrap();
    let n2 = sink_b2(lf.clone(), copy, SinkOptionsB2::default().append()).unwrap();
    assert_eq!((n, n2), (500, 500));
    assert_eq!(Dataset::open(copy).unwrap().num_rows(), 1000);
    assert_eq!(Dataset::open(copy).unwrap().version(), 2);
}

#[test]
fn single_b2frame_and_b2nd_columns_scan() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<i32> = (0..10_000).map(|i| i * 3 - 7).collect();
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let cparams = b2frame::CParams::default().with_typesize(4);
    let mut sc = b2frame::SChunk::new(cparams.clone(), Default::default()).unwrap();
    sc.append(&raw).unwrap();
    let frame = dir.path().join("col.b2frame");
    sc.save(&frame).unwrap();
    let path = frame.to_str().unwrap();

    // A raw super-chunk needs the caller's dtype, of the right width.
    let err = expect_err(scan_b2(path, ScanArgsB2::default())).to_string();
    assert!(err.contains("with_dtype"), "{err}");
    let err = expect_err(scan_b2(
        path,
        ScanArgsB2::default().with_dtype(DataType::Int64),
    ))
    .to_string();
    assert!(err.contains("typesize is 4"), "{err}");
    let got = scan_b2(
        path,
        ScanArgsB2::default()
            .with_dtype(DataType::Int32)
            .with_rows(100..110),
    )
    .unwrap()
    .collect()
    .unwrap();
    assert_eq!(
        got.column("col")
            .unwrap()
            .i32()
            .unwrap()
            .into_no_null_iter()
            .collect::<Vec<_>>(),
        values[100..110]
    );

    // A 1-d b2nd array carries its dtype.
    let nd_path = dir.path().join("col.b2nd");
    let meta = b2frame::NdMeta::new(&[10_000], &[4096], &[1024], b2frame::DType::Int32).unwrap();
    b2frame::NdArray::from_c_order(&raw, meta, cparams)
        .unwrap()
        .save(&nd_path)
        .unwrap();
    let got = scan_b2(nd_path.to_str().unwrap(), ScanArgsB2::default())
        .unwrap()
        .filter(col("col").gt(lit(29_980)))
        .collect()
        .unwrap();
    let want: Vec<i32> = values.iter().copied().filter(|v| *v > 29_980).collect();
    assert_eq!(
        got.column("col")
            .unwrap()
            .i32()
            .unwrap()
            .into_no_null_iter()
            .collect::<Vec<_>>(),
        want
    );
}

#[test]
fn sql_on_flights_matches_the_same_query_on_parquet_data() {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/flights.parquet");
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let schema = arrow_array::RecordBatchReader::schema(&reader);
    let batches: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    let from_parquet = to_dataframe(&schema, &batches).unwrap();
    let store = memory_store();
    let mut w = DatasetWriter::new(
        store.clone(),
        schema,
        WriteOptions::default().with_mode(WriteMode::Create),
    )
    .unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();

    let query = "SELECT carrier, AVG(dep_delay) AS d, COUNT(*) AS n FROM flights \
                 WHERE month = 7 AND origin = 'JFK' GROUP BY carrier ORDER BY carrier";
    let run = |lf: LazyFrame| {
        let ctx = polars::sql::SQLContext::new();
        ctx.register("flights", lf);
        let mut ctx = ctx;
        ctx.execute(query).unwrap().collect().unwrap()
    };
    store.reset_stats();
    let ours = run(scan_b2_store(store.clone(), ScanArgsB2::default()).unwrap());
    let read = store.stats().bytes_read;
    let theirs = run(from_parquet.lazy());
    assert!(ours.equals_missing(&theirs), "{ours}\n{theirs}");
    assert!(ours.height() > 5);
    // Only 4 of 19 columns were read (July is in every chunk's month range here).
    let total: u64 = Dataset::open_store(store)
        .unwrap()
        .manifest()
        .fragments
        .iter()
        .flat_map(|f| {
            f.columns
                .iter()
                .flat_map(|c| c.all_buffers().into_iter().map(|b| b.frame_len))
        })
        .sum();
    assert!(read * 2 < total, "read {read} of {total} bytes");
}

#[test]
fn sink_and_scan_through_the_s3_server() {
    let (endpoint, _) = crate::store::s3_endpoint();
    let url = crate::store::s3_url(&format!("polars-{}", std::process::id()));
    let mut sopts = SinkOptionsB2::default();
    let mut args = ScanArgsB2::default();
    for (k, v) in crate::store::s3_options(&endpoint) {
        sopts = sopts.with_storage_option(k.clone(), v.clone());
        args = args.with_storage_option(k, v);
    }
    let df = all_dtypes(3000);
    assert_eq!(sink_b2(df.clone().lazy(), &url, sopts).unwrap(), 3000);
    let back = scan_b2(&url, args.with_rows(1000..1200))
        .unwrap()
        .collect()
        .unwrap();
    assert!(back.equals_missing(&df.slice(1000, 200)));
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = expect_err(scan_b2(missing.to_str().unwrap(), ScanArgsB2::default()));
    assert!(err.to_string().contains("no dataset"), "{err}");
    let err = expect_err(scan_b2("s3://", ScanArgsB2::default()));
    assert!(err.to_string().contains("url"), "{err}");
    let err = expect_err(scan_b2(
        dir.path().join("x.b2frame").to_str().unwrap(),
        ScanArgsB2::default(),
    ));
    assert!(matches!(err, PolarsError::IO { .. }), "{err}");

    // Appending other columns or types names them; nothing is committed.
    let (store, _) = numbers(100);
    let other = df!["k" => ["a"], "v" => [1i64], "s" => ["x"], "r" => [2i64]].unwrap();
    let err = sink_b2_store(
        other.lazy(),
        store.clone(),
        SinkOptionsB2::default().append(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("k: dataset Int64 vs appended Utf8"),
        "{err}"
    );
    let other = df!["k" => [1i64]].unwrap();
    let err = sink_b2_store(
        other.lazy(),
        store.clone(),
        SinkOptionsB2::default().append(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("cannot append columns"), "{err}");
    assert_eq!(Dataset::open_store(store.clone()).unwrap().version(), 1);
    // Create over an existing dataset.
    let err = sink_b2_store(
        df!["k" => [1i64]].unwrap().lazy(),
        store,
        SinkOptionsB2::default().with_mode(WriteMode::Create),
    )
    .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("exist"), "{err}");
    // A type Polars cannot hold, named.
    let store = memory_store();
    let interval = arrow_array::IntervalYearMonthArray::from(vec![1, 2]);
    let batch = arrow_array::RecordBatch::try_from_iter([(
        "iv",
        Arc::new(interval) as arrow_array::ArrayRef,
    )])
    .unwrap();
    let mut w = DatasetWriter::new(store.clone(), batch.schema(), WriteOptions::default()).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
    let err = expect_err(scan_b2_store(store, ScanArgsB2::default()));
    assert!(err.to_string().contains("column 'iv'"), "{err}");
}

/// `ScanArgsB2::with_streaming`: the plan Polars' streaming engine runs (its
/// `AnonymousScan` path is a `todo!()` in Polars 0.55), with the projection still
/// pushed down, on both engines and through a streaming file sink.
#[test]
fn streaming_plan_runs_on_every_engine() {
    let (store, df) = numbers(60_000);
    let lf = || scan_b2_store(store.clone(), ScanArgsB2::default().with_streaming(true)).unwrap();
    let on =
        |lf: LazyFrame, engine: Engine| lf.collect_with_engine(engine).unwrap().unwrap_single();

    let (all, all_bytes) = bytes_read(&store, || on(lf(), Engine::Streaming));
    assert!(all.equals(&df));
    assert!(on(lf(), Engine::InMemory).equals(&df));

    // Projection is pushed into the map on both engines.
    for engine in [Engine::Streaming, Engine::InMemory] {
        let (k, k_bytes) = bytes_read(&store, || on(lf().select([col("k")]), engine));
        assert!(k.equals(&df.select(["k"]).unwrap()), "{engine:?}");
        assert!(
            k_bytes * 3 < all_bytes,
            "{engine:?}: read {k_bytes} of {all_bytes}"
        );
    }

    // Filters, slices, aggregations and a row count run above the scan, exactly.
    let q = |lf: LazyFrame| {
        lf.filter(col("v").lt(lit(20i64)))
            .select([col("s"), col("k")])
            .slice(3, 50)
    };
    let want = q(df.clone().lazy()).collect().unwrap();
    assert_eq!(on(q(lf()), Engine::Streaming), want);
    assert_eq!(on(q(lf()), Engine::InMemory), want);
    let n = on(lf().select([len()]), Engine::Streaming);
    assert_eq!(n.column("len").unwrap().u32().unwrap().get(0), Some(60_000));

    // Two scans in one plan stay two scans; an offset slice via the args still applies.
    let tail = scan_b2_store(
        store.clone(),
        ScanArgsB2::default()
            .with_streaming(true)
            .with_rows(59_990..70_000),
    )
    .unwrap();
    let both = on(
        concat([tail, lf().limit(2)], UnionArgs::default()).unwrap(),
        Engine::Streaming,
    );
    let mut want = df.slice(59_990, 10);
    want.vstack_mut(&df.head(Some(2))).unwrap();
    assert!(both.equals(&want));

    // A streaming file sink (here IPC) of a b2frame scan, read back.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("numbers.arrow");
    let target = SinkTarget::Path(PlRefPath::new(out.to_str().unwrap()));
    lf().sink(
        SinkDestination::File { target },
        FileWriteFormat::Ipc(IpcWriterOptions::default()),
        UnifiedSinkArgs::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    let back = LazyFrame::scan_ipc(
        PlRefPath::new(out.to_str().unwrap()),
        Default::default(),
        Default::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    assert!(back.equals(&df));

    // sink_b2 of a streaming-safe scan runs on the streaming engine.
    let copy = dir.path().join("copy");
    let n = sink_b2(
        lf().filter(col("v").eq(lit(5i64))),
        copy.to_str().unwrap(),
        SinkOptionsB2::default(),
    )
    .unwrap();
    assert_eq!(n, 60);
}
