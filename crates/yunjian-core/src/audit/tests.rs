use expect_test::expect;
use proptest::prelude::*;

use super::*;

fn sample() -> NewAuditRecord {
    NewAuditRecord {
        source_time_ns: Some(1_764_000_000_000_000_000),
        actor_account_id: Some(3),
        actor_username: Some("ops-zhang".into()),
        actor_role: Some("system_admin".into()),
        source_address: Some("10.8.0.7".into()),
        actor_credential: Some("session:12".into()),
        request_id: Some("req-1".into()),
        object_kind: Some("vms".into()),
        object_id: Some(42),
        tenant_id: Some(7),
        before_digest: Some("sm3:00".into()),
        after_digest: Some("sm3:11".into()),
        detail: Some(serde_json::json!({"name": "办公系统-1"})),
        ..NewAuditRecord::new(
            1_764_000_000_123_456_789,
            "world.update",
            AuditOutcome::Succeeded,
        )
    }
}

/// The documented v1 line, byte for byte (docs/audit-ledger.md shows the same line).
#[test]
fn line_v1_is_stable() {
    expect![[r#"{"v":1,"seq":5,"at":"2025-11-24T16:00:00.123456789Z","source_at":"2025-11-24T16:00:00.000000000Z","actor":{"account":3,"username":"ops-zhang","role":"system_admin","tenant":null,"provider":null,"address":"10.8.0.7","credential":"session:12"},"action":"world.update","object":{"kind":"vms","id":42},"tenant":7,"outcome":"succeeded","reason":null,"request_id":"req-1","before":"sm3:00","after":"sm3:11","detail":{"name":"办公系统-1"}}"#]]
    .assert_eq(&record_line(5, &sample()));
}

#[test]
fn lines_round_trip_and_refuse_garbage() {
    let line = record_line(9, &sample());
    assert_eq!(parse_line(&line).expect("parses"), (9, sample()));
    assert_eq!(
        parse_line(&line.replace("\"v\":1", "\"v\":2")),
        Err(LineError::Version(2))
    );
    for bad in [
        "",
        "{}",
        "[1]",
        &line.replace("\"seq\":9", "\"seq\":-1"),
        &line.replace("Z\",\"source_at", "+08:00\",\"source_at"),
        &line.replace("\"tenant\":7", "\"tenant\":7,\"extra\":1"),
        &line.replace("succeeded", "maybe"),
    ] {
        assert!(parse_line(bad).is_err(), "{bad}");
        assert!(check_line(bad.as_bytes()).is_err(), "{bad}");
    }
    assert_eq!(check_line(line.as_bytes()), Ok(9));
}

proptest! {
    #[test]
    fn any_record_round_trips(
        seq in any::<u64>(),
        at in any::<i64>(),
        username in proptest::option::of("\\PC{0,20}"),
        reason in proptest::option::of("[\\s\\S]{0,40}"),
        object_id in proptest::option::of(any::<i64>()),
    ) {
        let record = NewAuditRecord {
            actor_username: username,
            reason,
            object_id,
            ..NewAuditRecord::new(at, "auth.login", AuditOutcome::Failed)
        };
        let line = record_line(seq, &record);
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(parse_line(&line).expect("parses"), (seq, record));
        prop_assert_eq!(check_line(line.as_bytes()), Ok(seq));
    }
}

proptest! {
    /// The fast checker and the full parser agree on every input, valid or not.
    #[test]
    fn the_checker_agrees_with_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..400) {
        let line = record_line(3, &sample());
        let mut mutated = line.clone().into_bytes();
        if !bytes.is_empty() {
            let at = cut % mutated.len();
            mutated.splice(at..(at + bytes.len() % 4).min(mutated.len()), bytes.iter().copied());
        }
        let full = std::str::from_utf8(&mutated).ok().map(|text| parse_line(text).map(|(seq, _)| seq));
        let fast = check_line(&mutated);
        match full {
            Some(full) => prop_assert_eq!(full.is_ok(), fast.is_ok(), "{:?} vs {:?}", full, fast),
            None => prop_assert!(fast.is_err()),
        }
    }
}
