//! Property tests for the LZ4 block codec: our two decoders agree with each other and with
//! lz4_flex's safe decoder on random
//! and mutated valid streams, into exact-size and larger buffers; round trips at several
//! accelerations on compressible data.
use crate::codec::lz4;
use proptest::prelude::*;

/// Decodes with ours (fast and scalar) and lz4_flex; asserts equal outcomes; returns ours.
fn check_all(src: &[u8], cap: usize) -> Result<Vec<u8>, &'static str> {
    let mut a = vec![0xAAu8; cap];
    let mut b = vec![0x55u8; cap];
    let mut f = vec![0u8; cap];
    let ra = lz4::decompress_fast(src, &mut a);
    let rb = lz4::decompress_scalar(src, &mut b);
    let rf = lz4_flex::block::decompress_into(src, &mut f);
    assert_eq!(ra, rb, "fast vs scalar on {src:?} cap {cap}");
    assert_eq!(
        ra.is_ok(),
        rf.is_ok(),
        "ours {ra:?} vs lz4_flex {rf:?} on {src:?} cap {cap}"
    );
    let n = ra?;
    assert_eq!(rf.unwrap(), n);
    assert_eq!(a[..n], b[..n]);
    assert_eq!(a[..n], f[..n]);
    a.truncate(n);
    Ok(a)
}

/// Compressible test data of a few kinds (runs, shuffled arange, random walk, text, noise).
fn data_strategy() -> impl Strategy<Value = Vec<u8>> {
    (0u8..6, 0usize..5000, any::<u64>()).prop_map(|(kind, n, seed)| {
        let mut x = seed | 1;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        match kind {
            0 => {
                let mut v = Vec::with_capacity(n);
                while v.len() < n {
                    let b = rnd() as u8;
                    let r = (rnd() % 40) as usize + 1;
                    v.extend(std::iter::repeat_n(b, r));
                }
                v.truncate(n);
                v
            }
            1 => {
                // arange int64 then byte-shuffled with typesize 8
                let k = n / 8;
                let base = rnd() % 1_000_000;
                let mut v = vec![0u8; k * 8];
                for i in 0..k {
                    let b = (base + i as u64).to_le_bytes();
                    for j in 0..8 {
                        v[j * k + i] = b[j];
                    }
                }
                v
            }
            2 => {
                let mut t = 1000.0f64;
                (0..n / 8)
                    .flat_map(|_| {
                        t += (rnd() % 2001) as f64 / 1000.0 - 1.0;
                        t.to_le_bytes()
                    })
                    .collect()
            }
            3 => {
                let words = [
                    "the ", "lz4 ", "block ", "format ", "blosc ", "a ", "of ", "xyz ",
                ];
                let mut v = Vec::new();
                while v.len() < n {
                    v.extend_from_slice(words[(rnd() % 8) as usize].as_bytes());
                }
                v.truncate(n);
                v
            }
            4 => {
                let period = (rnd() % 17) as usize + 1;
                let pat: Vec<u8> = (0..period).map(|_| rnd() as u8).collect();
                (0..n)
                    .map(|i| {
                        if rnd() % 50 == 0 {
                            rnd() as u8
                        } else {
                            pat[i % period]
                        }
                    })
                    .collect()
            }
            _ => (0..n).map(|_| rnd() as u8).collect(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_decode_like_lz4_flex(src in proptest::collection::vec(any::<u8>(), 0..300),
                                         cap in 0usize..2000) {
        let _ = check_all(&src, cap);
    }

    #[test]
    fn roundtrip_and_mutations_decode_like_lz4_flex(
        data in data_strategy(),
        acc in prop_oneof![Just(1u32), Just(5), Just(9), 1u32..100],
        muts in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 0..4),
        extra in 0usize..100,
    ) {
        let mut c = vec![0u8; data.len() + data.len() / 255 + 16];
        let n = lz4::compress(acc, &data, &mut c);
        prop_assert!(n > 0);
        c.truncate(n);
        prop_assert_eq!(&check_all(&c, data.len()).unwrap(), &data);
        prop_assert_eq!(&check_all(&c, data.len() + extra).unwrap(), &data);
        if data.len() > 1 {
            prop_assert!(check_all(&c, data.len() - 1).is_err());
        }
        // Capacity one below the size we produced must report 0 (or still fit).
        let mut small = vec![0u8; n - 1];
        let m = lz4::compress(acc, &data, &mut small);
        prop_assert_eq!(m, 0);
        // Mutations: flip a byte, truncate, insert, delete.
        let mut bad = c.clone();
        for (pos, val, kind) in muts {
            if bad.is_empty() { break; }
            let p = pos % bad.len();
            match kind {
                0 => bad[p] ^= val | 1,
                1 => bad.truncate(p),
                2 => bad.insert(p, val),
                _ => { bad.remove(p); }
            }
        }
        let _ = check_all(&bad, data.len());
        let _ = check_all(&bad, data.len() + extra);
    }
}
