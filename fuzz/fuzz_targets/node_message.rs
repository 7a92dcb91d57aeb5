//! Fuzz target: the checks of `iogate::fuzzing::node_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::node_message::check(data));
