//! Fuzz target: the checks of `iogate::fuzzing::payload_v3_binary`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::payload_v3_binary::check(data));
