//! A compact binary encoding of [`Fingerprint`] for the cache: little-endian numbers, strings and
//! lists prefixed by their length. Sketches are most of the bytes (64 x 64 f32 per tensor), which
//! JSON would triple. Decoding checks every length against the bytes left and returns `None` on
//! anything malformed.

use super::{Fingerprint, Moments, RoundedHashes, Sketch, TensorFingerprint, TensorHead};
use crate::weights::{Dtype, Quantization};

pub fn encode(fingerprint: &Fingerprint) -> Vec<u8> {
    let sketch_bytes: usize = fingerprint
        .tensors
        .iter()
        .map(|t| t.sketch.values.len() * 4)
        .sum();
    let mut out = Writer(Vec::with_capacity(
        64 + sketch_bytes + fingerprint.tensors.len() * 160,
    ));
    out.u64(fingerprint.params);
    out.u64(fingerprint.bytes);
    out.str(&fingerprint.dtype);
    out.u64(fingerprint.tensors.len() as u64);
    for t in &fingerprint.tensors {
        out.str(&t.name);
        out.u64(t.shape.len() as u64);
        for &d in &t.shape {
            out.u64(d as u64);
        }
        out.str(t.dtype.name());
        out.str(t.quantized.map_or("", Quantization::name));
        out.moments(&t.moments);
        out.f64(t.sum_sq);
        out.u64(t.content_hash);
        for hash in [t.rounded.bf16, t.rounded.f16] {
            out.0.push(u8::from(hash.is_some()));
            out.u64(hash.unwrap_or(0));
        }
        out.0.push(u8::from(t.on_int8_grid));
        out.u64(t.non_finite);
        out.sketch(&t.sketch);
        out.0.push(u8::from(t.head.is_some()));
        if let Some(head) = &t.head {
            out.u64(head.rows as u64);
            out.moments(&head.moments);
            out.f64(head.sum_sq);
            out.sketch(&head.sketch);
        }
    }
    out.0
}

pub fn decode(bytes: &[u8]) -> Option<Fingerprint> {
    let mut r = Reader(bytes);
    let params = r.u64()?;
    let total_bytes = r.u64()?;
    let dtype = r.str()?;
    let count = r.len(8)?;
    let mut tensors = Vec::with_capacity(count);
    for _ in 0..count {
        let name = r.str()?;
        let dims = r.len(8)?;
        let shape = (0..dims)
            .map(|_| r.u64().and_then(|d| usize::try_from(d).ok()))
            .collect::<Option<Vec<_>>>()?;
        let dtype = Dtype::parse(&r.str()?)?.float()?;
        let quantized = match r.str()?.as_str() {
            "" => None,
            name => Some(Quantization::from_name(name)?),
        };
        let moments = r.moments()?;
        let sum_sq = r.f64()?;
        let content_hash = r.u64()?;
        let rounded = RoundedHashes {
            bf16: r.optional_u64()?,
            f16: r.optional_u64()?,
        };
        let on_int8_grid = r.flag()?;
        let non_finite = r.u64()?;
        let sketch = r.sketch()?;
        let head = if r.flag()? {
            Some(TensorHead {
                rows: usize::try_from(r.u64()?).ok()?,
                moments: r.moments()?,
                sum_sq: r.f64()?,
                sketch: r.sketch()?,
            })
        } else {
            None
        };
        tensors.push(TensorFingerprint {
            name,
            shape,
            dtype,
            quantized,
            moments,
            sum_sq,
            content_hash,
            rounded,
            on_int8_grid,
            non_finite,
            sketch,
            head,
        });
    }
    if !r.0.is_empty() {
        return None;
    }
    Some(Fingerprint {
        tensors,
        params,
        bytes: total_bytes,
        dtype,
    })
}

struct Writer(Vec<u8>);

impl Writer {
    fn moments(&mut self, m: &Moments) {
        self.u64(m.count);
        for v in [m.mean, m.m2, m.m3, m.m4] {
            self.f64(v);
        }
    }

    fn sketch(&mut self, sketch: &Sketch) {
        self.u32(sketch.rows);
        self.u32(sketch.cols);
        self.u64(sketch.values.len() as u64);
        for &v in &sketch.values {
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn f64(&mut self) -> Option<f64> {
        self.u64().map(f64::from_bits)
    }
    fn flag(&mut self) -> Option<bool> {
        match self.take(1)?[0] {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    /// A presence flag, then a u64 (written as zero when absent).
    fn optional_u64(&mut self) -> Option<Option<u64>> {
        let present = self.flag()?;
        let value = self.u64()?;
        Some(present.then_some(value))
    }
    /// A count of items of at least `item_bytes` each, refused when the bytes left cannot hold
    /// them (so garbage cannot ask for a huge allocation).
    fn moments(&mut self) -> Option<Moments> {
        Some(Moments {
            count: self.u64()?,
            mean: self.f64()?,
            m2: self.f64()?,
            m3: self.f64()?,
            m4: self.f64()?,
        })
    }

    fn sketch(&mut self) -> Option<Sketch> {
        let rows = self.u32()?;
        let cols = self.u32()?;
        let len = self.len(4)?;
        if len != rows as usize * cols as usize {
            return None;
        }
        let values = self
            .take(len * 4)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Some(Sketch { rows, cols, values })
    }

    fn len(&mut self, item_bytes: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(item_bytes)? <= self.0.len()).then_some(n)
    }
    fn str(&mut self) -> Option<String> {
        let n = self.len(1)?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::{FloatDtype, PackedScheme, QuantType};
    use proptest::prelude::*;

    /// Any f64 bit pattern: NaN payloads, infinities, negative zero and subnormals included.
    fn any_bits_f64() -> impl Strategy<Value = f64> {
        any::<u64>().prop_map(f64::from_bits)
    }

    fn moments() -> impl Strategy<Value = Moments> {
        (
            any::<u64>(),
            [
                any_bits_f64(),
                any_bits_f64(),
                any_bits_f64(),
                any_bits_f64(),
            ],
        )
            .prop_map(|(count, [mean, m2, m3, m4])| Moments {
                count,
                mean,
                m2,
                m3,
                m4,
            })
    }

    fn sketch() -> impl Strategy<Value = Sketch> {
        (0u32..5, 0u32..5).prop_flat_map(|(rows, cols)| {
            let len = (rows * cols) as usize;
            prop::collection::vec(any::<u32>().prop_map(f32::from_bits), len)
                .prop_map(move |values| Sketch { rows, cols, values })
        })
    }

    fn head() -> impl Strategy<Value = TensorHead> {
        (any::<usize>(), moments(), any_bits_f64(), sketch()).prop_map(
            |(rows, moments, sum_sq, sketch)| TensorHead {
                rows,
                moments,
                sum_sq,
                sketch,
            },
        )
    }

    fn tensor() -> impl Strategy<Value = TensorFingerprint> {
        let dtype = prop::sample::select(vec![
            FloatDtype::F64,
            FloatDtype::F32,
            FloatDtype::F16,
            FloatDtype::BF16,
        ]);
        let quantizations: Vec<Quantization> = QuantType::ALL
            .into_iter()
            .map(Quantization::Block)
            .chain(PackedScheme::ALL.into_iter().map(Quantization::Packed))
            .collect();
        (
            (
                ".*",
                prop::collection::vec(any::<usize>(), 0..4),
                dtype,
                prop::option::of(prop::sample::select(quantizations)),
            ),
            (
                moments(),
                any_bits_f64(),
                sketch(),
                prop::option::of(head()),
            ),
            (
                any::<u64>(),
                prop::option::of(any::<u64>()),
                prop::option::of(any::<u64>()),
                any::<bool>(),
                any::<u64>(),
            ),
        )
            .prop_map(
                |(
                    (name, shape, dtype, quantized),
                    (moments, sum_sq, sketch, head),
                    (content_hash, bf16, f16, on_int8_grid, non_finite),
                )| TensorFingerprint {
                    name,
                    shape,
                    dtype,
                    quantized,
                    moments,
                    sum_sq,
                    content_hash,
                    rounded: RoundedHashes { bf16, f16 },
                    on_int8_grid,
                    non_finite,
                    sketch,
                    head,
                },
            )
    }

    fn fingerprint() -> impl Strategy<Value = Fingerprint> {
        (
            prop::collection::vec(tensor(), 0..4),
            any::<u64>(),
            any::<u64>(),
            ".*",
        )
            .prop_map(|(tensors, params, bytes, dtype)| Fingerprint {
                tensors,
                params,
                bytes,
                dtype,
            })
    }

    /// The fingerprint as text with every float written as its bits, so that a NaN equals the
    /// same NaN and -0 differs from 0.
    fn exact(fingerprint: &Fingerprint) -> String {
        let moments = |m: &Moments| (m.count, [m.mean, m.m2, m.m3, m.m4].map(f64::to_bits));
        let sketch = |s: &Sketch| {
            let bits: Vec<u32> = s.values.iter().map(|v| v.to_bits()).collect();
            (s.rows, s.cols, bits)
        };
        let tensors: Vec<_> = fingerprint
            .tensors
            .iter()
            .map(|t| {
                (
                    (&t.name, &t.shape, t.dtype, t.quantized),
                    (moments(&t.moments), t.sum_sq.to_bits(), sketch(&t.sketch)),
                    (t.content_hash, t.rounded.bf16, t.rounded.f16),
                    (t.on_int8_grid, t.non_finite),
                    t.head.as_ref().map(|h| {
                        (
                            h.rows,
                            moments(&h.moments),
                            h.sum_sq.to_bits(),
                            sketch(&h.sketch),
                        )
                    }),
                )
            })
            .collect();
        format!(
            "{:?}",
            (
                fingerprint.params,
                fingerprint.bytes,
                &fingerprint.dtype,
                tensors
            )
        )
    }

    proptest! {
        /// Decoding an encoding gives back every field, floats bit for bit (the rounded-dtype
        /// hashes, the block or packed quantisation and the head sketch included).
        #[test]
        fn decode_inverts_encode(original in fingerprint()) {
            let decoded = decode(&encode(&original)).expect("an encoding decodes");
            prop_assert_eq!(exact(&decoded), exact(&original));
        }

        /// A cut-short or padded entry (a write interrupted, a file appended to) is refused,
        /// never read as a smaller fingerprint.
        #[test]
        fn truncated_or_padded_encodings_are_refused(
            original in fingerprint(),
            cut in any::<prop::sample::Index>(),
            extra in prop::collection::vec(any::<u8>(), 1..9),
        ) {
            let bytes = encode(&original);
            let shorter = cut.index(bytes.len());
            prop_assert!(decode(&bytes[..shorter]).is_none(), "cut at {}", shorter);
            let mut padded = bytes;
            padded.extend(extra);
            prop_assert!(decode(&padded).is_none());
        }
    }
}
