//! Numbers as people read them: base-1000 sizes as `hf cache ls` prints them ("893.8M"),
//! parameter counts ("22.7M"), sizes in sentences ("90.0 MB"), rates and clock durations.
//! Every stage that shows a number to a person takes it from here.

use std::time::Duration;

/// `1 tree`, `2 trees`, `0 trees`: English takes the singular for one only.
pub fn counted(count: usize, singular: &str, plural: &str) -> String {
    format!("{count} {}", if count == 1 { singular } else { plural })
}

/// A count in base-1000 units with one decimal: `22.7M`. Below 1000 the plain number.
pub fn si(value: u64) -> String {
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    if value < 1000 {
        return value.to_string();
    }
    let mut scaled = value as f64;
    let mut unit = "";
    for next in UNITS {
        // 999.95 would print as "1000.0" at one decimal, so it already belongs to the next unit.
        if scaled < 999.95 {
            break;
        }
        scaled /= 1000.0;
        unit = next;
    }
    format!("{scaled:.1}{unit}")
}

/// A byte size as `hf cache ls` prints it: `893.8M`, or `512B` below a kilobyte.
pub fn size(bytes: u64) -> String {
    if bytes < 1000 {
        format!("{bytes}B")
    } else {
        si(bytes)
    }
}

/// A size inside a sentence (base 1000, like the Hugging Face tools): "90.0 MB".
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Bytes per second: `120.5M/s`.
pub fn rate(bytes_per_second: f64) -> String {
    format!("{}/s", size(bytes_per_second.max(0.0).round() as u64))
}

/// `mm:ss`, or `h:mm:ss` past an hour.
pub fn clock(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes:02}:{seconds:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_takes_the_singular_and_every_other_count_the_plural() {
        assert_eq!(counted(0, "tree", "trees"), "0 trees");
        assert_eq!(counted(1, "tree", "trees"), "1 tree");
        assert_eq!(counted(2, "tree", "trees"), "2 trees");
        assert_eq!(
            counted(1, "duplicate copy", "duplicate copies"),
            "1 duplicate copy"
        );
    }

    #[test]
    fn sizes_read_like_the_hub_cli() {
        assert_eq!(size(512), "512B");
        assert_eq!(size(893_800_000), "893.8M");
        assert_eq!(si(22_713_216), "22.7M");
        assert_eq!(si(999_960), "1.0M");
        assert_eq!(si(1_500_000_000), "1.5G");
    }

    #[test]
    fn clocks_switch_to_hours() {
        assert_eq!(clock(Duration::from_secs(75)), "01:15");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }
}
