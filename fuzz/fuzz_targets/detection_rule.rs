//! Administrators' rule texts: any text is either refused with a reason or compiled
//! beside the shipped rules, never a panic; a compiled set evaluates an event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunjian_events::classify::Classifier;
use yunjian_events::detect::{parse_rules, Detector, SHIPPED_RULES};

static CLASSIFIER: std::sync::OnceLock<Classifier> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let classifier = CLASSIFIER.get_or_init(|| Classifier::shipped().expect("the shipped table"));
    let _ = parse_rules(&[text], classifier);
    if let Ok(mut detector) = Detector::new(&[SHIPPED_RULES, text], classifier) {
        let event = serde_json::json!({"class": "Authentication", "detector": "openssh.failed",
            "src_ip": "203.0.113.7", "message": "Failed password for root"});
        let _ = detector.evaluate(&event, 1_795_485_600);
    }
});
