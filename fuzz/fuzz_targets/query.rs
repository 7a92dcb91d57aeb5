//! Fuzz target: the checks of `iogate::fuzzing::query`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::query::check(data));
