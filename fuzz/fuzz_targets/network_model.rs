//! Any network model (as JSON) is verified without a panic, and the engine agrees with
//! itself: each pair's symbolic passage holds exactly the ports the concrete decision
//! allows, and applying the model's own rules again as changes leaves no finding
//! appearing or disappearing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunjian_network::engine::{Change, Network};
use yunjian_network::model::Model;
use yunjian_network::ports::PROTOCOLS;
use yunjian_network::verify::Verifier;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = serde_json::from_slice::<Model>(data) else {
        return;
    };
    let rules: usize = model.groups.iter().map(|group| group.rules.len()).sum();
    if model.interfaces.len() > 40 || rules > 200 || model.firewall.len() > 100 {
        return;
    }
    let network = Network::compile(model.clone());
    let indices: Vec<usize> = network.interfaces().map(|(index, _)| index).collect();
    for &a in indices.iter().take(8) {
        for &b in indices.iter().take(8) {
            let passage = network.allowed_between(a, b);
            for protocol in PROTOCOLS {
                for port in [0u16, 1, 22, 80, 443, 1024, 3306, 65535] {
                    let verdict = network.decide_between(a, b, protocol, port).expect("verdict");
                    assert_eq!(passage.allowed.contains(protocol, port), verdict.allowed);
                }
            }
        }
    }
    // The network's own rules (of duplicate ids, the one that stood).
    let held = network.to_model();
    let mut verifier = Verifier::new(network);
    for group in &held.groups {
        for rule in group.rules.iter().take(5) {
            if rule.group_id != group.id {
                continue;
            }
            let delta = verifier.apply(&Change::UpsertGroupRule { rule: rule.clone() });
            assert!(delta.appeared.is_empty() && delta.disappeared.is_empty());
        }
    }
});
