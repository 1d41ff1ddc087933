//! Runs a test once more in a child process with `MOTHER_SIMD=off`, so a single `cargo test`
//! compares the vector paths with their portable twins end to end (the switch is read once per
//! process, so one process cannot take both).

use std::process::Command;

/// Set in the child, which prints its digest instead of starting another child.
const CHILD: &str = "MOTHER_SIMD_TWIN_CHILD";
const MARK: &str = "simd-twin digest: ";

/// In the test process: runs `test` (its full name in this test binary, module path included)
/// again with the vector paths off and asserts that it computed the same `digest`. In that
/// child: prints `digest`.
pub fn assert_same_without_simd(test: &str, digest: &str) {
    assert!(!digest.contains('\n'), "a digest is one line");
    if std::env::var_os(CHILD).is_some() {
        println!("{MARK}{digest}");
        return;
    }
    let binary = std::env::current_exe().expect("the test binary's path");
    let output = Command::new(binary)
        .args([test, "--exact", "--nocapture", "--test-threads", "1"])
        .env("MOTHER_SIMD", "off")
        .env(CHILD, "1")
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the run with MOTHER_SIMD=off failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let portable = stdout
        .lines()
        .find_map(|line| line.split_once(MARK).map(|(_, digest)| digest))
        .unwrap_or_else(|| panic!("the run with MOTHER_SIMD=off printed no digest:\n{stdout}"));
    assert_eq!(
        portable, digest,
        "the portable paths give other bits than the vector paths"
    );
}
