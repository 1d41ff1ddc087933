//! How the panels print numbers: one rounding rule for confidences, one for kurtosis, one sign
//! convention (a change is always child minus parent), and never a `-0.000`.

use super::theme::Level;

/// A confidence rounded down to hundredths, as the text export prints it, with the level read
/// from the printed number, so `0.89` never sits beside `high`.
pub fn confidence(value: f64) -> (String, Level) {
    (crate::lineage::printed_confidence(value), Level::of(value))
}

/// Decimals that keep about four significant digits of a kurtosis of this size.
pub fn kurtosis_decimals(magnitude: f64) -> usize {
    match magnitude.abs() {
        m if m >= 1000.0 => 0,
        m if m >= 100.0 => 1,
        m if m >= 10.0 => 2,
        _ => 3,
    }
}

/// A value at `decimals`, with no sign on a zero (`-0.0004` prints `0.000`).
pub fn plain(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if is_zero(&text) {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// A change at `decimals` with its sign (`+0.214`, `-1.3`), and a zero without one.
pub fn signed(value: f64, decimals: usize) -> String {
    let text = format!("{value:+.decimals$}");
    if is_zero(&text) {
        text.trim_start_matches(['-', '+']).to_string()
    } else {
        text
    }
}

fn is_zero(text: &str) -> bool {
    text.chars().all(|c| matches!(c, '0' | '.' | '-' | '+'))
}

/// A kurtosis at the decimals its size calls for.
pub fn kurtosis(value: f64) -> String {
    plain(value, kurtosis_decimals(value))
}

/// Parent, child and their change (child minus parent), all at one precision, the change taken
/// from the printed values so the three always add up. The precision is the kurtosis's usual
/// one, or more when the change would print as zero without being zero, as it does when a
/// large matrix moves by less than a thousandth: a `Δ 0.000` beside a `+0.4σ` reads as a
/// contradiction.
pub fn change(parent: f64, child: f64) -> (String, String, String) {
    let magnitude = parent.abs().max(child.abs());
    let usual = kurtosis_decimals(magnitude);
    let printed = |decimals: usize| {
        let scale = 10f64.powi(decimals as i32);
        let rounded = |value: f64| (value * scale).round() / scale;
        (
            plain(parent, decimals),
            plain(child, decimals),
            signed(rounded(child) - rounded(parent), decimals),
        )
    };
    if parent == child {
        return printed(usual);
    }
    (usual..=most_change_decimals(magnitude).max(usual))
        .map(printed)
        .find(|(_, _, delta)| !is_zero(delta))
        .unwrap_or_else(|| printed(usual))
}

/// The most decimals [`change`] goes to for values of this size: about seven significant
/// digits, and never more than five decimals, so that a value keeps to the nine columns and a
/// change to the eight the tensor view gives them.
fn most_change_decimals(magnitude: f64) -> usize {
    let integer_digits = match magnitude.abs() {
        m if m >= 1000.0 => 4,
        m if m >= 100.0 => 3,
        m if m >= 10.0 => 2,
        _ => 1,
    };
    (7 - integer_digits).min(5)
}

/// A compact axis label: `-2`, `0.5`, `30`, `1k`, `3k`.
pub fn tick(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        format!("{}k", plain(value / 1000.0, 0))
    } else if magnitude >= 10.0 || magnitude == magnitude.round() {
        plain(value, 0)
    } else {
        plain(value, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::{change, confidence, plain, signed, tick};
    use crate::tui::theme::Level;

    #[test]
    fn confidence_rounds_down_and_agrees_with_its_word() {
        assert_eq!(confidence(0.8349), ("0.83".to_string(), Level::Medium));
        assert_eq!(confidence(0.8999), ("0.89".to_string(), Level::Medium));
        assert_eq!(confidence(0.9), ("0.90".to_string(), Level::High));
        assert_eq!(confidence(0.29).0, "0.29");
        assert_eq!(confidence(0.5999).1, Level::Low);
    }

    #[test]
    fn zero_has_no_sign() {
        assert_eq!(plain(-0.0001, 3), "0.000");
        assert_eq!(signed(-0.0001, 3), "0.000");
        assert_eq!(signed(0.0001, 3), "0.000");
        assert_eq!(signed(-0.5, 2), "-0.50");
    }

    #[test]
    fn a_change_adds_up_from_the_printed_values() {
        assert_eq!(
            change(9.7954, 9.8566),
            (
                "9.795".to_string(),
                "9.857".to_string(),
                "+0.062".to_string()
            )
        );
        assert_eq!(change(1733.2, 1731.0).2, "-2");
        assert_eq!(change(2.5, 2.5).2, "0.000");
        assert_eq!(tick(3000.0), "3k");
        assert_eq!(tick(-2.0), "-2");
        assert_eq!(tick(0.5), "0.5");
    }

    /// A change below the usual precision gets the decimals that show it, on all three numbers
    /// so they still add up; one too small even for the most decimals keeps the usual ones.
    #[test]
    fn a_small_change_is_not_printed_as_zero() {
        assert_eq!(
            change(2.97012, 2.97031),
            (
                "2.9701".to_string(),
                "2.9703".to_string(),
                "+0.0002".to_string()
            )
        );
        assert_eq!(change(2.970012, 2.970004).2, "-0.00001");
        assert_eq!(change(1733.2004, 1733.2011).2, "+0.001");
        assert_eq!(change(1733.2004, 1733.2001).2, "0");
        assert_eq!(change(1733.2, 1733.3).2, "+0.1");
        assert_eq!(change(2.9700001, 2.9700002).2, "0.000");
    }
}
