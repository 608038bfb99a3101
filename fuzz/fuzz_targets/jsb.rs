//! `cargo fuzz run jsb`: see `neuromod_tests::fuzz::jsb` for the contract.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| neuromod_tests::fuzz::jsb(data));
