//! Which vector instructions this run may use: every AVX2, FMA and F16C path asks here before it
//! runs, so `MOTHER_SIMD=off` sends all of them to their portable twins. The twins give the same
//! bits, and CI runs the measure and weights tests both ways, so a twin that drifts fails there.
//! The environment is read once; the CPU's features come from the standard library's detection.

use std::sync::OnceLock;

/// The environment variable that turns the vector paths off (`MOTHER_SIMD=off`).
pub const SWITCH: &str = "MOTHER_SIMD";

#[derive(Debug, Clone, Copy, Default)]
struct Features {
    avx2: bool,
    fma: bool,
    f16c: bool,
}

fn features() -> Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    *FEATURES.get_or_init(|| {
        if std::env::var_os(SWITCH).is_some_and(|value| value == "off") {
            return Features::default();
        }
        detect()
    })
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Features {
    Features {
        avx2: std::is_x86_feature_detected!("avx2"),
        fma: std::is_x86_feature_detected!("fma"),
        f16c: std::is_x86_feature_detected!("f16c"),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Features {
    Features::default()
}

/// True when the CPU has AVX2 and the vector paths are on.
#[inline]
pub fn avx2() -> bool {
    features().avx2
}

/// True when the CPU has AVX2 and FMA and the vector paths are on.
#[inline]
pub fn avx2_fma() -> bool {
    let features = features();
    features.avx2 && features.fma
}

/// True when the CPU has F16C (half-float conversion) and the vector paths are on.
#[inline]
pub fn f16c() -> bool {
    features().f16c
}
