#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    support_access::fuzzing::json_body(data);
});
