//! Fuzz target: the checks of `iogate::fuzzing::sio_packet`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| iogate::fuzzing::sio_packet::check(data));
