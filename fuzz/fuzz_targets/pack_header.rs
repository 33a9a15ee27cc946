//! `pack_header`: see `stash::engine::fuzz::pack_header` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    stash::engine::fuzz::pack_header(data);
});
