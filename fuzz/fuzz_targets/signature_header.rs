#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    support_access::fuzzing::signature_header(data);
});
