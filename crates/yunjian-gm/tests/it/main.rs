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

mod sm2_interop {
    //! SM2 signed notes checked against openssl in both directions, under the default
    //! distinguishing ID.

    use std::process::Command;

    use sm2::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
    use yunjian_gm::{NoteSigner, NoteVerifierKey, SoftwareSm2Signer, DEFAULT_DISTID};

    fn openssl(args: &[&str]) -> std::process::Output {
        let output = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl is installed (scripts/test installs it)");
        output
    }

    #[test]
    fn openssl_verifies_our_signatures() {
        let dir = tempfile::tempdir().expect("tempdir");
        let signer = SoftwareSm2Signer::generate("yunjian/audit", DEFAULT_DISTID).expect("key");
        let message = b"yunjian/audit\n42\nAAAA\n";
        let signature = signer.sign(message).expect("sign");
        let der = sm2::dsa::Signature::from_slice(&signature)
            .expect("64 bytes")
            .to_der();
        let public = sm2::PublicKey::from_sec1_bytes(signer.verifier_key().point())
            .expect("point")
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        std::fs::write(path("pub.pem"), public).expect("write");
        std::fs::write(path("msg"), message).expect("write");
        std::fs::write(path("sig"), der.as_bytes()).expect("write");
        let distid = format!("distid:{DEFAULT_DISTID}");
        let verify = |message: &str| {
            openssl(&[
                "pkeyutl",
                "-verify",
                "-rawin",
                "-digest",
                "sm3",
                "-pkeyopt",
                &distid,
                "-pubin",
                "-inkey",
                &path("pub.pem"),
                "-in",
                message,
                "-sigfile",
                &path("sig"),
            ])
        };
        let output = verify(&path("msg"));
        assert!(
            output.status.success(),
            "openssl refused: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        std::fs::write(path("other"), b"yunjian/audit\n43\nAAAA\n").expect("write");
        assert!(!verify(&path("other")).status.success());
    }

    #[test]
    fn we_verify_openssl_signatures() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let distid = format!("distid:{DEFAULT_DISTID}");
        assert!(
            openssl(&["genpkey", "-algorithm", "SM2", "-out", &path("key.pem")])
                .status
                .success()
        );
        assert!(openssl(&[
            "pkey",
            "-in",
            &path("key.pem"),
            "-pubout",
            "-out",
            &path("pub.pem")
        ])
        .status
        .success());
        let message = b"a checkpoint body\n";
        std::fs::write(path("msg"), message).expect("write");
        let output = openssl(&[
            "pkeyutl",
            "-sign",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            &distid,
            "-inkey",
            &path("key.pem"),
            "-in",
            &path("msg"),
            "-out",
            &path("sig"),
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pem = std::fs::read_to_string(path("pub.pem")).expect("read");
        let public = sm2::PublicKey::from_public_key_pem(&pem).expect("spki");
        let point = public.to_sec1_bytes();
        let signature =
            sm2::dsa::Signature::from_der(&std::fs::read(path("sig")).expect("sig")).expect("der");
        let key = NoteVerifierKey::new("openssl", DEFAULT_DISTID, &point).expect("key");
        key.verify(message, &signature.to_bytes())
            .expect("openssl's signature verifies");
        assert!(key
            .verify(b"another body\n", &signature.to_bytes())
            .is_err());
        let wrong_id = NoteVerifierKey::new("openssl", "ALICE123@YAHOO.COM", &point).expect("key");
        assert!(wrong_id.verify(message, &signature.to_bytes()).is_err());
    }
}

mod totp_interop {
    //! TOTP codes equal oathtool's for random secrets and times (oathtool is what a
    //! tester uses to log in to the demo, and what the RFC 6238 reference matches).

    use std::process::Command;

    use proptest::prelude::*;
    use yunjian_gm::Totp;

    fn oathtool(secret_base32: &str, unix: u64) -> String {
        let output = Command::new("oathtool")
            .args(["--totp", "-b", secret_base32, "--now", &format!("@{unix}")])
            .output()
            .expect("oathtool is installed (scripts/test installs it)");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn codes_equal_oathtool(secret in proptest::collection::vec(any::<u8>(), 10..40), unix in 0u64..4_000_000_000) {
            let totp = Totp::from_secret(&secret);
            prop_assert_eq!(totp.code_at(unix), oathtool(&totp.to_base32(), unix));
        }
    }
}
