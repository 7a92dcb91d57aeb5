//! Fuzz target: the checks of `iogate::fuzzing::payload_v4`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::payload_v4::check(data));
