//! Fuzz target: the checks of `iogate::fuzzing::payload_v3`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::payload_v3::check(data));
