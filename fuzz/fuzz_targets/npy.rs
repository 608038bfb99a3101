//! `cargo fuzz run npy`: see `neuromod_tests::fuzz::npy` for the contract.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| neuromod_tests::fuzz::npy(data));
