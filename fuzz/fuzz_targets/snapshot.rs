//! `snapshot`: see `stash::engine::fuzz::snapshot` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stash::engine::fuzz::snapshot(data);
});
