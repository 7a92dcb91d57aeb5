//! Fuzz target: the checks of `iogate::fuzzing::hook_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::hook_response::check(data));
