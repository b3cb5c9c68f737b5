//! Syslog and EVE from the network: any bytes, framed, parsed, decoded, normalized and
//! classified, never panic, and every event keeps its raw line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yunjian_events::classify::Classifier;
use yunjian_events::decode::Decoders;
use yunjian_events::event;
use yunjian_events::framing::Framer;
use yunjian_events::syslog::{self, Context};

static CLASSIFIER: std::sync::OnceLock<Classifier> = std::sync::OnceLock::new();
static DECODERS: std::sync::OnceLock<Decoders> = std::sync::OnceLock::new();

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
