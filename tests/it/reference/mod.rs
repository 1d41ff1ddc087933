//! Slow, obvious definitions that the fast code is checked against.

use mother::measure::Moments;

/// Central moments the textbook way: the mean first, then sums of powers of the deviations, in f64.
pub fn moments(values: &[f32]) -> Moments {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let central = |p: i32| {
        values
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(p))
            .sum::<f64>()
    };
    Moments {
        count: values.len() as u64,
        mean,
        m2: central(2),
        m3: central(3),
        m4: central(4),
    }
}
