//! Fuzz target: the checks of `iogate::fuzzing::forwarded`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::forwarded::check(data));
