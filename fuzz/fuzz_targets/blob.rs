//! `blob`: see `stash::engine::fuzz::blob` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stash::engine::fuzz::blob(data);
});
