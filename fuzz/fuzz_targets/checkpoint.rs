//! `cargo fuzz run checkpoint`: see `neuromod_tests::fuzz::checkpoint` for the contract.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| neuromod_tests::fuzz::checkpoint(data));
