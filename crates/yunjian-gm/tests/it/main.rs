//! SM3 checked against an independent implementation: the machine's openssl.

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use yunjian_gm::Sm3Digest;

fn openssl_sm3(data: &[u8]) -> String {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sm3", "-r"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl is installed (scripts/test installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(data)
        .expect("write");
    let output = child.wait_with_output().expect("openssl runs");
    assert!(output.status.success(), "openssl dgst -sm3 failed");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .split_whitespace()
        .next()
        .expect("digest")
        .to_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn sm3_matches_openssl(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        prop_assert_eq!(Sm3Digest::of(&data).to_hex(), openssl_sm3(&data));
    }
}

#[test]
fn sm3_matches_openssl_across_block_boundaries() {
    for length in [55usize, 56, 63, 64, 65, 128, 1000] {
        let data: Vec<u8> = (0..length).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(
            Sm3Digest::of(&data).to_hex(),
            openssl_sm3(&data),
            "length {length}"
        );
    }
}
