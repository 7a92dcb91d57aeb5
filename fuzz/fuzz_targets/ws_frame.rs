//! Fuzz target: the checks of `iogate::fuzzing::ws_frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::ws_frame::check(data));
