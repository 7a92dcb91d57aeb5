//! Fuzz target: the checks of `iogate::fuzzing::legacy_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::legacy_message::check(data));
