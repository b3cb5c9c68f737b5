use ipnet::IpNet;
use proptest::prelude::*;

use super::{check_object, first_overlap, overlaps};
use crate::schema::Kind;
use crate::value::{Value, Values};

fn values(pairs: &[(&'static str, Value)]) -> Values {
    pairs.iter().cloned().collect()
}

#[test]
fn a_classified_system_is_refused_with_the_guide_clause() {
    let errors = check_object(
        Kind::InformationSystem,
        &values(&[("classification", Value::Text("classified".into()))]),
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "classified_system_refused");
    assert!(errors[0].message.contains("5.1.1"));
}

#[test]
fn overlapping_vpc_cidrs_are_refused() {
    let overlapping = values(&[(
        "cidrs",
        Value::TextList(vec!["10.0.0.0/8".into(), "10.3.0.0/16".into()]),
    )]);
    assert_eq!(
        check_object(Kind::Vpc, &overlapping)[0].code,
        "overlapping_cidrs"
    );
    let apart = values(&[(
        "cidrs",
        Value::TextList(vec!["10.0.0.0/16".into(), "10.1.0.0/16".into()]),
    )]);
    assert!(check_object(Kind::Vpc, &apart).is_empty());
}

#[test]
fn rules_need_ports_for_tcp_and_exactly_one_remote() {
    let rule = |protocol: &str, from: Option<i64>, to: Option<i64>, cidr: bool, group: bool| {
        let int = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
        let codes: Vec<&str> = check_object(
            Kind::SecurityGroupRule,
            &values(&[
                ("protocol", Value::Text(protocol.into())),
                ("port_from", int(from)),
                ("port_to", int(to)),
                (
                    "remote_cidr",
                    if cidr {
                        Value::Text("0.0.0.0/0".into())
                    } else {
                        Value::Null
                    },
                ),
                (
                    "remote_group_id",
                    if group { Value::Int(1) } else { Value::Null },
                ),
            ]),
        )
        .iter()
        .map(|error| error.code)
        .collect();
        codes
    };
    assert!(rule("tcp", Some(22), Some(22), true, false).is_empty());
    assert_eq!(
        rule("tcp", Some(80), Some(22), true, false),
        ["invalid_port_range"]
    );
    assert_eq!(rule("udp", None, None, false, true), ["ports_required"]);
    assert_eq!(
        rule("icmp", Some(1), None, true, false),
        ["ports_not_applicable"]
    );
    assert_eq!(rule("any", None, None, true, true), ["remote_required"]);
    assert_eq!(rule("any", None, None, false, false), ["remote_required"]);
}

fn arbitrary_net() -> impl Strategy<Value = IpNet> {
    (any::<u32>(), 8u8..=30).prop_map(|(address, prefix)| {
        IpNet::new(std::net::Ipv4Addr::from(address).into(), prefix)
            .expect("prefix in range")
            .trunc()
    })
}

proptest! {
    /// The neighbour scan agrees with comparing every pair.
    #[test]
    fn first_overlap_agrees_with_the_naive_pairwise_oracle(nets in proptest::collection::vec(arbitrary_net(), 0..12)) {
        let naive = nets.iter().enumerate().any(|(i, a)| nets.iter().skip(i + 1).any(|b| overlaps(a, b)));
        prop_assert_eq!(first_overlap(&nets).is_some(), naive);
    }
}
