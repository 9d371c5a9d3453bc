//! The payload checker of `bricklint payload`: any bytes as a task value or For Each inputs,
//! with the size limit of a task value and with a tiny one. Nothing may panic, valid JSON must
//! measure its compact size, and invalid JSON must name a position inside the input.
#![no_main]

use bricklint::payload::{check_text, PayloadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (for_each_inputs, max_bytes) in [(false, None), (true, Some(16))] {
        let opts = PayloadOptions {
            for_each_inputs,
            max_bytes,
            schema: None,
        };
        let r = check_text(text, &opts);
        if r.valid_json {
            assert!(r.bytes.is_some_and(|b| b as usize <= text.len()));
        } else {
            let p = &r.problems[0];
            let lines = text.split('\n').count();
            assert!(p.line.is_some_and(|l| l >= 1 && l <= lines), "{p:?}");
        }
    }
});
