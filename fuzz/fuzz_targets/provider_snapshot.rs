//! A provider's snapshot chunk and a platform's answers: whatever the bytes, the chunk
//! reader and the planner refuse with reasons or plan, the OpenStack parsers report
//! problems, and nothing panics.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use yunjian_connectors::sync::{self, Coverage, Current, Mode};
use yunjian_connectors::{openstack, translate};

fuzz_target!(|data: &[u8]| {
    let current = Current {
        provider_id: 1,
        rows: Vec::new(),
        zones: HashMap::from([("互联网区".to_owned(), 1), ("政务外网区".to_owned(), 2)]),
        projects: HashMap::from([("p".to_owned(), 7)]),
    };
    if let Ok(objects) = sync::parse_chunk(0, data) {
        for mode in [Mode::Full, Mode::Incremental] {
            if let Err(problems) = sync::plan(&current, mode, &objects, &Coverage::everything()) {
                assert!(!problems.is_empty() && problems.len() <= sync::MAX_ERRORS);
            }
        }
    }
    let mut observed = openstack::parse_servers(data);
    for parse in [
        openstack::parse_hypervisors,
        openstack::parse_networks,
        openstack::parse_subnets,
        openstack::parse_ports,
        openstack::parse_security_groups,
        openstack::parse_volumes,
        openstack::parse_backups,
        openstack::parse_images,
    ] {
        observed.merge(parse(data));
    }
    let _ = openstack::parse_availability_zones(data);
    let placement = translate::Placement {
        zone: "政务外网区".into(),
        datacenter_id: "dc".into(),
        ..Default::default()
    };
    let translated = translate::openstack(&observed, &placement);
    let _ = sync::plan(&current, Mode::Full, &translated.objects, &translated.coverage());
});
