//! The binary's allocator. A training step allocates and frees tens of MiB of activations; the
//! system allocator hands large blocks back to the kernel and faults them in (zeroed) again
//! every step, which cost about a tenth of a bench-config step here. mimalloc with purging
//! switched off keeps those pages for the next step (the peak resident size stays that of one
//! step).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (v3, the crate's default: include/mimalloc.h): milliseconds
/// before freed memory is returned to the OS (default 1000), -1 for never.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse; call once at start-up.
pub fn keep_freed_pages() {
    // SAFETY: setting an option is allowed at any time; the index is checked by the test below.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_is_the_documented_one() {
        // Its documented default is 1000 ms; a wrong index would read another option.
        let before = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(before, 1000);
        super::keep_freed_pages();
        let after = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(after, -1);
    }
}
