//! Signed API requests arrive from anywhere: any Authorization header, path, query and
//! header values must parse to a verdict without a panic; a header the parser accepts
//! must re-render to itself; and no arbitrary signature verifies under a fixed secret.

#![no_main]

use libfuzzer_sys::fuzz_target;
use yunjian_gm::request_signing::{self as rs, SignedParts, Sm3V1};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut pieces = text.splitn(4, '\n');
    let header = pieces.next().unwrap_or("");
    let path = pieces.next().unwrap_or("");
    let query = pieces.next().unwrap_or("");
    let value = pieces.next().unwrap_or("");
    if let Some(parsed) = rs::parse_authorization::<Sm3V1>(header) {
        let rendered = format!(
            "YJ1-HMAC-SM3 Credential={}/{}/{}/{}/yj1_request, SignedHeaders={}, Signature={}",
            parsed.access_key_id,
            parsed.date,
            parsed.region,
            parsed.service,
            parsed.signed_headers.join(";"),
            parsed.signature
        );
        assert_eq!(rs::parse_authorization::<Sm3V1>(&rendered), Some(parsed.clone()));
        let headers = vec![("host".to_owned(), value.to_owned())];
        let expected = rs::signature::<Sm3V1>(
            "fixed-secret-the-fuzzer-cannot-know",
            "20261124T101500Z",
            "cq",
            "yunjian",
            &SignedParts { method: "GET", path, query, headers: &headers, body_hash: "" },
        );
        // A 256-bit HMAC is not guessed: equality would be a bug in the comparison.
        assert!(!rs::signatures_equal(&expected, &parsed.signature) || expected == parsed.signature);
    }
    let headers = vec![("X-Yj-Nonce".to_owned(), value.to_owned())];
    let _ = rs::canonical_request(&SignedParts { method: "POST", path, query, headers: &headers, body_hash: value });
    let _ = rs::canonical_query(query);
});
