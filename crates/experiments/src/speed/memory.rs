//! Peak resident memory of this process, for the speed benchmark's memory column (Linux's
//! /proc; nothing elsewhere).

/// Peak resident memory of this process so far, in MiB (Linux; None elsewhere).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak-memory mark to the current resident size (Linux; false elsewhere).
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_and_reset_on_linux() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let before = peak_rss_mib().expect("VmHWM in /proc/self/status");
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        let after = peak_rss_mib().unwrap();
        assert!(after >= before + 60.0, "{before} -> {after}");
        drop(big);
        assert!(reset_peak_rss());
        assert!(peak_rss_mib().unwrap() < after - 30.0);
    }
}
