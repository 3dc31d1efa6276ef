//! Arrow arrays ↔ super-chunks: every supported type round-trips (with nulls,
//! slices, empty arrays, nesting), buffers get the Arrow element width as
//! typesize, and unsupported types are typed errors naming the field.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryViewBuilder, Int32Builder, Int64Builder, ListBuilder, MapBuilder, StringBuilder,
    StringDictionaryBuilder, StringViewBuilder,
};
use arrow_array::types::Int16Type;
use arrow_array::*;
use arrow_buffer::{Buffer, NullBuffer};
use arrow_data::ArrayData;
use arrow_schema::{DataType, Field, Fields, IntervalUnit, TimeUnit};
use b2frame::arrow::{BufferRole, Compression, EncodeOptions, EncodedArray};
use b2frame::{Codec, Error};

use crate::common::splitmix64_bytes;

/// A fixed-width array of `dt` with pseudo-random values and every 7th slot null.
fn fixed(dt: DataType, width: usize, n: usize, seed: u64) -> ArrayRef {
    let mut bytes = splitmix64_bytes(seed, n * width);
    if matches!(dt, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        // Keep decimals within their precision: small positive values.
        for v in bytes.chunks_exact_mut(width) {
            let keep = v[0];
            v.fill(0);
            v[0] = keep;
        }
    }
    let nulls = NullBuffer::from_iter((0..n).map(|i| i % 7 != 3));
    let data = ArrayData::builder(dt)
        .len(n)
        .add_buffer(Buffer::from_vec(bytes))
        .nulls(Some(nulls))
        .build()
        .unwrap();
    make_array(data)
}

/// Encodes with small chunks and checks full reads, slices and a sliced input.
fn check(name: &str, a: ArrayRef) {
    let field = Field::new(name, a.data_type().clone(), true);
    let opts = EncodeOptions::default().with_chunk_rows(64);
    let e = EncodedArray::encode(&a, &field, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let n = a.len() as u64;
    let back = e.read(0..n).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(back.as_ref(), a.as_ref(), "{name}: full read");
    for (s, t) in [
        (0, 1),
        (1, 2),
        (5, 77),
        (63, 65),
        (100, n.min(333)),
        (n / 2, n),
        (n, n),
    ] {
        if s > t || t > n {
            continue;
        }
        let got = e
            .read(s..t)
            .unwrap_or_else(|e| panic!("{name} {s}..{t}: {e}"));
        assert_eq!(
            got.as_ref(),
            a.slice(s as usize, (t - s) as usize).as_ref(),
            "{name}: rows {s}..{t}"
        );
    }
    assert!(e.read(0..n + 1).is_err(), "{name}: read past the end");
    if n > 20 {
        let sliced = a.slice(9, (n - 20) as usize);
        let es = EncodedArray::encode(&sliced, &field, &opts).unwrap();
        assert_eq!(
            es.read(0..n - 20).unwrap().as_ref(),
            sliced.as_ref(),
            "{name}: sliced input"
        );
        assert_eq!(
            es.read(3..40).unwrap().as_ref(),
            sliced.slice(3, 37).as_ref()
        );
    }
    let empty = a.slice(0, 0);
    let ee = EncodedArray::encode(&empty, &field, &opts).unwrap();
    assert_eq!(
        ee.read(0..0).unwrap().as_ref(),
        empty.as_ref(),
        "{name}: empty"
    );
}

fn typesize(a: &ArrayRef, role: BufferRole) -> u32 {
    let f = Field::new("x", a.data_type().clone(), true);
    let e = EncodedArray::encode(a, &f, &EncodeOptions::default()).unwrap();
    e.node.buffer(role).unwrap().typesize
}

#[test]
fn fixed_width_types_round_trip_with_their_width_as_typesize() {
    let n = 1000;
    let cases: Vec<(DataType, usize)> = vec![
        (DataType::Int8, 1),
        (DataType::Int16, 2),
        (DataType::Int32, 4),
        (DataType::Int64, 8),
        (DataType::UInt8, 1),
        (DataType::UInt16, 2),
        (DataType::UInt32, 4),
        (DataType::UInt64, 8),
        (DataType::Float16, 2),
        (DataType::Float32, 4),
        (DataType::Float64, 8),
        (DataType::Date32, 4),
        (DataType::Date64, 8),
        (DataType::Time32(TimeUnit::Second), 4),
        (DataType::Time32(TimeUnit::Millisecond), 4),
        (DataType::Time64(TimeUnit::Microsecond), 8),
        (DataType::Time64(TimeUnit::Nanosecond), 8),
        (
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            8,
        ),
        (DataType::Timestamp(TimeUnit::Second, None), 8),
        (
            DataType::Timestamp(TimeUnit::Microsecond, Some("+05:30".into())),
            8,
        ),
        (DataType::Duration(TimeUnit::Millisecond), 8),
        (DataType::Interval(IntervalUnit::YearMonth), 4),
        (DataType::Interval(IntervalUnit::DayTime), 8),
        (DataType::Interval(IntervalUnit::MonthDayNano), 16),
        (DataType::Decimal128(38, 4), 16),
        (DataType::Decimal256(76, 10), 32),
        (DataType::FixedSizeBinary(3), 3),
        (DataType::FixedSizeBinary(300), 300),
    ];
    for (i, (dt, w)) in cases.into_iter().enumerate() {
        let a = fixed(dt.clone(), w, n, i as u64);
        check(&format!("{dt}"), a.clone());
        assert_eq!(typesize(&a, BufferRole::Values), w as u32, "{dt}");
        assert_eq!(typesize(&a, BufferRole::Validity), 1, "{dt}");
    }
}

#[test]
fn validity_is_stored_only_when_there_are_nulls() {
    let a: ArrayRef = Arc::new(Int64Array::from_iter_values(0..100));
    let f = Field::new("x", DataType::Int64, true);
    let e = EncodedArray::encode(&a, &f, &EncodeOptions::default()).unwrap();
    assert!(e.node.buffer(BufferRole::Validity).is_none());
    assert_eq!(e.node.null_count, 0);
}

#[test]
fn booleans_and_nulls() {
    let b: ArrayRef = Arc::new(BooleanArray::from_iter(
        (0..777).map(|i| (i % 5 != 0).then_some(i % 3 == 0)),
    ));
    check("bool", b.clone());
    assert_eq!(typesize(&b, BufferRole::Values), 1);
    check(
        "bool-no-nulls",
        Arc::new(BooleanArray::from_iter((0..300).map(|i| Some(i % 2 == 0)))),
    );
    check("null", Arc::new(NullArray::new(500)));
}

fn strings(n: usize) -> Vec<Option<String>> {
    (0..n)
        .map(|i| match i % 9 {
            0 => None,
            1 => Some(String::new()),
            2 => Some(format!(
                "a long enough string number {i} to leave the view inline part"
            )),
            _ => Some(format!("s{i}")),
        })
        .collect()
}

#[test]
fn variable_size_types() {
    let s = strings(1000);
    let utf8: ArrayRef = Arc::new(StringArray::from(s.clone()));
    check("utf8", utf8.clone());
    assert_eq!(typesize(&utf8, BufferRole::Offsets), 4);
    assert_eq!(typesize(&utf8, BufferRole::Values), 1);
    let large: ArrayRef = Arc::new(LargeStringArray::from(s.clone()));
    check("large_utf8", large.clone());
    assert_eq!(typesize(&large, BufferRole::Offsets), 8);
    let bin: ArrayRef = Arc::new(BinaryArray::from_iter(
        s.iter().map(|v| v.as_deref().map(str::as_bytes)),
    ));
    check("binary", bin);
    let lbin: ArrayRef = Arc::new(LargeBinaryArray::from_iter(
        s.iter().map(|v| v.as_deref().map(str::as_bytes)),
    ));
    check("large_binary", lbin);
    let mut vb = StringViewBuilder::new().with_fixed_block_size(64);
    for v in &s {
        vb.append_option(v.as_deref());
    }
    let view: ArrayRef = Arc::new(vb.finish());
    check("utf8_view", view.clone());
    // Views are stored in the layout of Utf8 (offsets + bytes), not as 16-byte views.
    assert_eq!(typesize(&view, BufferRole::Offsets), 4);
    assert_eq!(typesize(&view, BufferRole::Values), 1);
    let f = Field::new("x", view.data_type().clone(), true);
    let e = EncodedArray::encode(&view, &f, &EncodeOptions::default()).unwrap();
    assert!(e.node.buffer(BufferRole::Views).is_none());
    assert_eq!(e.node.encoding, Some(b2frame::arrow::Encoding::VarSize));
    // Few distinct values (some longer than a view's 12 inline bytes), nulls, and a
    // slice: dictionary-encoded, read back as views.
    let mut lb = StringViewBuilder::new();
    for i in 0..5000 {
        match i % 7 {
            0 => lb.append_null(),
            1 => lb.append_value(""),
            k => lb.append_value(
                [
                    "NONE",
                    "TAKE BACK RETURN",
                    "DELIVER IN PERSON",
                    "AIR",
                    "COLLECT COD",
                ][k % 5],
            ),
        }
    }
    let low: ArrayRef = Arc::new(lb.finish());
    let e = EncodedArray::encode(&low, &f, &EncodeOptions::default()).unwrap();
    assert_eq!(
        e.node.encoding,
        Some(b2frame::arrow::Encoding::VarSizeDictionary)
    );
    check("utf8_view_dictionary", low);
    let mut bb = BinaryViewBuilder::new();
    for v in &s {
        bb.append_option(v.as_deref().map(str::as_bytes));
    }
    check("binary_view", Arc::new(bb.finish()));
}

#[test]
fn nested_types() {
    // List<Int32> with null lists and null items.
    let mut lb = ListBuilder::new(Int32Builder::new());
    for i in 0..600 {
        if i % 11 == 0 {
            lb.append_null();
        } else {
            for j in 0..(i % 4) {
                lb.values().append_option((j != 2).then_some(i * 10 + j));
            }
            lb.append(true);
        }
    }
    let list: ArrayRef = Arc::new(lb.finish());
    check("list", list);

    // LargeList<Utf8>.
    let mut llb = arrow_array::builder::LargeListBuilder::new(StringBuilder::new());
    for i in 0..300 {
        for j in 0..(i % 3) {
            llb.values().append_value(format!("v{i}.{j}"));
        }
        llb.append(i % 13 != 0);
    }
    check("large_list", Arc::new(llb.finish()));

    // FixedSizeList<Float64, 3>.
    let values = Float64Array::from_iter((0..900).map(|i| (i % 10 != 0).then_some(i as f64 * 0.5)));
    let fsl = FixedSizeListArray::try_new(
        Arc::new(Field::new("item", DataType::Float64, true)),
        3,
        Arc::new(values),
        Some(NullBuffer::from_iter((0..300).map(|i| i % 17 != 0))),
    )
    .unwrap();
    check("fixed_size_list", Arc::new(fsl));

    // Struct{a: Int32, b: Utf8} with nulls at both levels.
    let a = Int32Array::from_iter((0..500).map(|i| (i % 6 != 0).then_some(i)));
    let b = StringArray::from(strings(500));
    let st = StructArray::try_new(
        Fields::from(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Utf8, true),
        ]),
        vec![Arc::new(a), Arc::new(b)],
        Some(NullBuffer::from_iter((0..500).map(|i| i % 19 != 0))),
    )
    .unwrap();
    check("struct", Arc::new(st));

    // Map<Utf8, Int64>.
    let mut mb = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    for i in 0..400 {
        for j in 0..(i % 3) {
            mb.keys().append_value(format!("k{j}"));
            mb.values().append_option((j != 1).then_some(i as i64));
        }
        mb.append(i % 23 != 0).unwrap();
    }
    check("map", Arc::new(mb.finish()));

    // Dictionary<Int16, Utf8>: keys with the key width, dictionary as a child.
    let mut db = StringDictionaryBuilder::<Int16Type>::new();
    for i in 0..700 {
        if i % 8 == 0 {
            db.append_null();
        } else {
            db.append_value(format!("cat{}", i % 13));
        }
    }
    let dict: ArrayRef = Arc::new(db.finish());
    check("dictionary", dict.clone());
    assert_eq!(typesize(&dict, BufferRole::Values), 2);

    // List<Struct<x: List<Int8>>>: deep nesting.
    let inner_field = Arc::new(Field::new("item", DataType::Int8, true));
    let inner =
        ListArray::from_iter_primitive::<arrow_array::types::Int8Type, _, _>((0..200).map(|i| {
            (i % 5 != 0).then(|| (0..(i % 4)).map(|j| Some(j as i8)).collect::<Vec<_>>())
        }));
    let st = StructArray::try_new(
        Fields::from(vec![Field::new("x", DataType::List(inner_field), true)]),
        vec![Arc::new(inner)],
        None,
    )
    .unwrap();
    let offsets: arrow_buffer::OffsetBuffer<i32> = arrow_buffer::OffsetBuffer::from_lengths(
        (0..100usize).map(|i| i % 3 + 1).collect::<Vec<_>>(),
    );
    let total = offsets.last() as usize;
    let st = st.slice(0, total);
    let outer = ListArray::try_new(
        Arc::new(Field::new("item", st.data_type().clone(), true)),
        offsets,
        Arc::new(st),
        None,
    )
    .unwrap();
    check("deep", Arc::new(outer));
}

#[test]
fn per_column_compression_override() {
    let a: ArrayRef = Arc::new(Int64Array::from_iter_values(0..50_000));
    let f = Field::new("x", DataType::Int64, false);
    let lz4 = Compression::new(Codec::Lz4, 5, [b2frame::Filter::Shuffle]);
    let opts = EncodeOptions::default().with_column("x", lz4);
    let e = EncodedArray::encode(&a, &f, &opts).unwrap();
    let sc = e.schunks.values().next().unwrap();
    assert_eq!(sc.cparams().codec, Codec::Lz4);
    assert_eq!(
        e.read(100..200).unwrap().as_ref(),
        a.slice(100, 100).as_ref()
    );
    // The default tunes: an arange compresses as well with LZ4 as with ZSTD,
    // so it gets LZ4 (faster to decode); these text bytes are more than 10%
    // larger with LZ4, but within 50% with LZ4HC.
    let d = EncodedArray::encode(&a, &f, &EncodeOptions::default()).unwrap();
    assert_eq!(
        d.schunks.values().next().unwrap().cparams().codec,
        Codec::Lz4
    );
    let words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur"];
    let text: ArrayRef = Arc::new(StringArray::from_iter_values((0..50_000u64).map(|i| {
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        format!(
            "{} {} {}",
            words[(h % 6) as usize],
            h % 977,
            words[(h / 7 % 6) as usize]
        )
    })));
    let f = Field::new("t", DataType::Utf8, false);
    let d = EncodedArray::encode(&text, &f, &EncodeOptions::default()).unwrap();
    let bytes = d
        .node
        .buffer(BufferRole::Values)
        .unwrap()
        .path
        .clone()
        .unwrap();
    assert_eq!(d.schunks[&bytes].cparams().codec, Codec::Lz4Hc);
    assert_eq!(d.read(0..50_000).unwrap().as_ref(), text.as_ref());
}

/// Words drawn from a vocabulary, like TPC-H comments: LZ matches carry most of
/// the gain, so the bytes get LZ4HC (~1.36× ZSTD's size, within the 50% margin;
/// ~2.4× faster to decode); digits, whose gain is entropy coding (~1.76×), keep
/// ZSTD.
#[test]
fn text_bytes_get_lz4hc_when_it_is_close_to_zstd() {
    let vocab: Vec<String> = (0..300u64)
        .map(|i| {
            let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let len = 3 + (h >> 60) as usize % 8;
            (0..len)
                .map(|k| (b'a' + ((h >> (k * 5)) % 26) as u8) as char)
                .collect()
        })
        .collect();
    let mut state = 7u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^ (z >> 27)
    };
    let comments: Vec<String> = (0..100_000)
        .map(|_| {
            let n = 3 + next() % 6;
            let words: Vec<&str> = (0..n)
                .map(|_| vocab[(next() % 300) as usize].as_str())
                .collect();
            words.join(" ")
        })
        .collect();
    let digits: Vec<String> = (0..100_000)
        .map(|_| (next() % 10_000_000).to_string())
        .collect();
    for (values, want) in [(comments, Codec::Lz4Hc), (digits, Codec::Zstd)] {
        let a: ArrayRef = Arc::new(StringArray::from_iter_values(&values));
        let f = Field::new("t", DataType::Utf8, false);
        let e = EncodedArray::encode(&a, &f, &EncodeOptions::default()).unwrap();
        let path = e.node.buffer(BufferRole::Values).unwrap().path.clone();
        let sc = &e.schunks[&path.unwrap()];
        assert_eq!(sc.cparams().codec, want, "{}", values[0]);
        assert_eq!(e.read(0..values.len() as u64).unwrap().as_ref(), a.as_ref());
        // The choice holds for the whole buffer, not only the sample.
        let raw = sc.read(0..sc.nitems()).unwrap();
        let size = |codec, clevel| {
            let cp = sc.cparams().clone().with_codec(codec).with_clevel(clevel);
            b2frame::chunk::compress(&cp, &raw).unwrap().len() as f64
        };
        let (zstd, hc) = (size(Codec::Zstd, 1), size(Codec::Lz4Hc, 1));
        assert_eq!(hc <= zstd * 1.5, want == Codec::Lz4Hc, "{hc} vs {zstd}");
    }
}

#[test]
fn unsupported_types_are_typed_errors_naming_the_field() {
    let run_ends = Int32Array::from(vec![2, 5]);
    let values = StringArray::from(vec!["a", "b"]);
    let ree: ArrayRef = Arc::new(RunArray::try_new(&run_ends, &values).unwrap());
    let field = Field::new("runs", ree.data_type().clone(), true);
    let e = EncodedArray::encode(&ree, &field, &EncodeOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("'runs'"), "{e}");

    // A type mismatch between field and array is an error, not a cast.
    let a: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
    let e = EncodedArray::encode(
        &a,
        &Field::new("x", DataType::Int64, true),
        &EncodeOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("'x'"), "{e}");
}
