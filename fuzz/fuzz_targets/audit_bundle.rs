//! The offline verifier reads bundles from anywhere: any bytes must give a verdict (an
//! error naming the problem), never a panic, never a pass. The same input is also fed to
//! the line checker (which must agree with the full parser), the checkpoint parser and
//! the verifier-key parser.

#![no_main]

use libfuzzer_sys::fuzz_target;

const KEY: &str = "yunjian.local/audit/sm3+c3323419+/3l1bmppYW4vc20yLXNtMy1kaXN0aWQvdjEAEDEyMzQ1Njc4MTIzNDU2NzgEDo/QLKUTKzZMgqCsGzz0BmRIzFyWLCPufrXnTQdZe3LqOJzHUK/Hr+4cG++fLaCQLsu1zT0jXkBu5NRBJylGgQ==";

fuzz_target!(|data: &[u8]| {
    // A real verifier key whose private half was discarded: no input the fuzzer makes can
    // carry its signature, so no input may pass.
    assert!(yunjian_gm::NoteVerifierKey::parse(KEY).is_ok());
    assert!(yunjian_bundle::verify_bundle(data, Some(KEY), None, &|_| {}).is_err());
    let _ = yunjian_bundle::verify_bundle(data, None, None, &|_| {});
    let fast = yunjian_core::audit::check_line(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let full = yunjian_core::audit::parse_line(text).map(|(seq, _)| seq);
        assert_eq!(fast.is_ok(), full.is_ok(), "checker and parser disagree on {text:?}");
        if let Ok(seq) = full {
            assert_eq!(fast, Ok(seq));
        }
        if let Ok(checkpoint) = yunjian_core::ledger::Checkpoint::parse(text) {
            assert_eq!(yunjian_core::ledger::Checkpoint::parse(&checkpoint.to_text()), Ok(checkpoint));
        }
        let _ = yunjian_gm::NoteVerifierKey::parse(text);
    }
});
