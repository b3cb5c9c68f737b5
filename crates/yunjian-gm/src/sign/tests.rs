use super::*;

/// GB/T 32918.5-2017 appendix A (recommended curve): the standard's signature of
/// "message digest" under ID 1234567812345678 verifies with the key derived from d.
#[test]
fn standard_signature_verifies() {
    let d = hex::decode("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")
        .expect("hex");
    let signer = SoftwareSm2Signer::from_secret("example", DEFAULT_DISTID, &d).expect("key");
    let point = hex::encode(&signer.verifier_key().point);
    assert!(point.starts_with("0409f9df31"), "{point}");
    let mut signature =
        hex::decode("f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3")
            .expect("hex");
    signature.extend(
        hex::decode("b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa")
            .expect("hex"),
    );
    let key = signer.verifier_key();
    key.verify(b"message digest", &signature)
        .expect("standard vector verifies");
    assert_eq!(
        key.verify(b"message digesT", &signature),
        Err(GmError::BadSignature)
    );
    // The distinguishing ID is bound through ZA: another ID fails.
    let other = NoteVerifierKey::new("example", "ALICE123@YAHOO.COM", &key.point).expect("key");
    assert_eq!(
        other.verify(b"message digest", &signature),
        Err(GmError::BadSignature)
    );
}

#[test]
fn notes_sign_and_open_and_refuse_tampering() {
    let signer = SoftwareSm2Signer::generate("yunjian/audit/sm3", DEFAULT_DISTID).expect("key");
    let text = "yunjian/audit/sm3\n7\nvGSfT5aC9fTFmpa0IWz3O0JrdAhWnLK8s3ROdq5SYpQ=\n";
    let note = sign_note(&signer, text).expect("sign");
    let key = NoteVerifierKey::parse(&signer.verifier_key().to_text()).expect("round trip");
    assert_eq!(&key, signer.verifier_key());
    assert_eq!(open_note(&key, &note).expect("opens"), text);
    let altered = note.replacen("\n7\n", "\n8\n", 1);
    assert_eq!(open_note(&key, &altered), Err(GmError::BadSignature));
    // A key of another name is ignored, and then no trusted signature remains.
    let stranger = SoftwareSm2Signer::generate("someone/else", DEFAULT_DISTID).expect("key");
    assert!(matches!(
        open_note(stranger.verifier_key(), &note),
        Err(GmError::BadNote(_))
    ));
    assert!(matches!(open_note(&key, text), Err(GmError::BadNote(_))));
}

#[test]
fn verifier_keys_refuse_garbage() {
    let signer = SoftwareSm2Signer::generate("a.example/log", DEFAULT_DISTID).expect("key");
    let text = signer.verifier_key().to_text();
    assert!(NoteVerifierKey::parse(&text).is_ok());
    for bad in [
        "",
        "name+0011+",
        "name+00112233+AAAA",
        &text.replacen("a.example", "b.example", 1),
        &format!("{}A", text),
    ] {
        assert!(NoteVerifierKey::parse(bad).is_err(), "{bad:?}");
    }
}

/// RFC 8998 SM4-GCM known answer, and sealing round trips bound to their context.
#[test]
fn sm4_gcm_matches_rfc_8998_and_seals() {
    let key: [u8; 16] = hex::decode("0123456789abcdeffedcba9876543210")
        .expect("hex")
        .try_into()
        .expect("16");
    let nonce: [u8; 12] = hex::decode("00001234567800000000abcd")
        .expect("hex")
        .try_into()
        .expect("12");
    let aad = hex::decode("feedfacedeadbeeffeedfacedeadbeefabaddad2").expect("hex");
    let plaintext = hex::decode(
        "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccddddddddddddddddeeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa",
    )
    .expect("hex");
    let out = crate::seal::sm4_gcm_encrypt(&key, &nonce, &plaintext, &aad);
    let (ciphertext, tag) = out.split_at(plaintext.len());
    assert!(hex::encode(ciphertext).starts_with("17f399f0"));
    assert!(hex::encode(ciphertext).ends_with("233b8d"));
    assert_eq!(hex::encode(tag), "83de3541e4c2b58177e065a9bf7b62ec");

    let sealing = crate::SealingKey::generate();
    let sealed = sealing.seal(b"secret scalar", b"ledger key");
    assert_eq!(
        &sealing.open(&sealed, b"ledger key").expect("opens")[..],
        b"secret scalar"
    );
    assert!(sealing.open(&sealed, b"other purpose").is_err());
    assert!(crate::SealingKey::generate()
        .open(&sealed, b"ledger key")
        .is_err());
    assert!(!sealed.contains("secret"));
}
