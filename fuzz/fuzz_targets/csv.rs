//! `cargo fuzz run csv`: see `neuromod_tests::fuzz::csv` for the contract.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| neuromod_tests::fuzz::csv(data));
