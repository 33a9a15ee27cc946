//! `config`: see `stash::engine::fuzz::config` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stash::engine::fuzz::config(data);
});
