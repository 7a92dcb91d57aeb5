//! Fuzz target: the checks of `iogate::fuzzing::h1_head`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::h1_head::check(data));
