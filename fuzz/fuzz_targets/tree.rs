//! `tree`: see `stash::engine::fuzz::tree` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stash::engine::fuzz::tree(data);
});
