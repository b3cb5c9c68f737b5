//! Syslog and EVE from the network: any bytes, framed, parsed, decoded, normalized,
//! classified and evaluated by the shipped Sigma rules, never panic, and every event
//! keeps its raw line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunjian_events::classify::Classifier;
use yunjian_events::decode::Decoders;
use yunjian_events::detect::{sigma_view, Detector, Enrichment, SHIPPED_RULES};
use yunjian_events::event;
use yunjian_events::framing::Framer;
use yunjian_events::syslog::{self, Context};

static CLASSIFIER: std::sync::OnceLock<Classifier> = std::sync::OnceLock::new();
static DECODERS: std::sync::OnceLock<Decoders> = std::sync::OnceLock::new();
static DETECTOR: std::sync::Mutex<Option<Detector>> = std::sync::Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let context = Context::beijing(1_795_485_600_000_000_000);
    let message = syslog::parse(data, &context);
    assert_eq!(message.raw, String::from_utf8_lossy(data));
    // Every shipped decoder over the message, whatever it says.
    let decoders = DECODERS.get_or_init(|| Decoders::shipped().expect("the shipped decoders"));
    let decoded = decoders.decode(&message);
    let classifier = CLASSIFIER.get_or_init(|| Classifier::shipped().expect("the shipped table"));
    let normalized = event::from_syslog(&message, &decoded, classifier, 0, None);
    assert_eq!(normalized.raw, message.raw);
    // The same bytes as a Suricata EVE line: an event whatever they are.
    let eve = event::from_eve(data, classifier, 0, None);
    assert_eq!(eve.raw, String::from_utf8_lossy(data));
    // Both through the shipped rules, correlation windows carried from input to input.
    let mut detector = DETECTOR.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let detector = detector.get_or_insert_with(|| {
        Detector::new(&[SHIPPED_RULES], classifier).expect("the shipped rules")
    });
    let at = i64::from(data.first().copied().unwrap_or(0));
    for normalized in [&normalized, &eve] {
        let _ = detector.evaluate(&sigma_view(normalized, &Enrichment::default()), at);
    }
    // The same bytes as a TCP stream, cut in two at a data-chosen place.
    let cut = data.first().map_or(0, |byte| *byte as usize % (data.len() + 1));
    let mut framer = Framer::new(512);
    let mut frames = framer.push(&data[..cut]);
    frames.extend(framer.push(&data[cut..]));
    frames.extend(framer.finish());
    for frame in frames {
        assert!(frame.bytes.len() <= 512);
        let _ = syslog::parse(&frame.bytes, &context);
    }
});
