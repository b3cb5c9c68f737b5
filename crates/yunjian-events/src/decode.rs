//! Device decoders as data (`decoders/*.toml`): a decoder names its device family, the
//! OCSF class of what it reads, the program it applies to, a regex whose named groups
//! become fields, fixed fields, and sample lines with the fields they must give. Adding
//! a device is a TOML entry and its samples, which the tests check; the pipeline does not
//! change. A line no decoder reads keeps its message and raw line, undecoded.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

use crate::syslog::SyslogMessage;

/// The shipped decoder files, by name.
pub const SHIPPED: [(&str, &str); 2] = [
    ("linux.toml", include_str!("../decoders/linux.toml")),
    (
        "security_pool.toml",
        include_str!("../decoders/security_pool.toml"),
    ),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}: decoder {id}: {reason}")]
pub struct DecoderError {
    pub file: String,
    pub id: String,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecoderFile {
    decoder: Vec<DecoderSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecoderSpec {
    id: String,
    family: String,
    class: String,
    program: Option<String>,
    pattern: String,
    #[serde(default)]
    set: BTreeMap<String, String>,
    /// `key=value` pairs after the pattern's match, for logs whose fields come in any
    /// order (Huawei's `source-ip=…;`): the separator and which keys become which fields.
    kv: Option<KvSpec>,
    #[serde(default)]
    sample: Vec<Sample>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KvSpec {
    separator: String,
    map: BTreeMap<String, String>,
}

/// A sample line and the fields it must give.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub line: String,
    pub expect: BTreeMap<String, String>,
}

/// One compiled decoder.
#[derive(Clone, Debug)]
pub struct Decoder {
    pub id: String,
    pub family: String,
    pub class: String,
    pub program: Option<String>,
    regex: Regex,
    set: BTreeMap<String, String>,
    kv: Option<KvSpec>,
    pub samples: Vec<Sample>,
}

/// What a decoder read from a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub decoder: Option<String>,
    pub family: Option<String>,
    pub class: Option<String>,
    pub fields: BTreeMap<String, String>,
}

/// The OCSF classes decoders may name.
const CLASSES: [&str; 6] = [
    "Authentication",
    "Network Activity",
    "HTTP Activity",
    "Detection Finding",
    "Process Activity",
    "File System Activity",
];

impl Decoder {
    /// The fields this decoder reads from a message text, if it matches.
    pub fn read(&self, text: &str) -> Option<BTreeMap<String, String>> {
        let captures = self.regex.captures(text)?;
        let mut fields = BTreeMap::new();
        for name in self.regex.capture_names().flatten() {
            if let Some(value) = captures
                .name(name)
                .map(|found| found.as_str())
                .filter(|value| !value.is_empty())
            {
                fields.insert(name.to_owned(), value.to_owned());
            }
        }
        if let Some(kv) = &self.kv {
            let rest = &text[captures.get(0).map_or(0, |whole| whole.end())..];
            for pair in rest.split(kv.separator.as_str()) {
                let Some((key, value)) = pair.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_end_matches(')').trim_matches('"');
                if let Some(field) = kv.map.get(key.trim().trim_start_matches(['(', '-'])) {
                    if !value.is_empty() {
                        fields
                            .entry(field.clone())
                            .or_insert_with(|| value.to_owned());
                    }
                }
            }
        }
        for (key, value) in &self.set {
            fields.entry(key.clone()).or_insert_with(|| value.clone());
        }
        Some(fields)
    }
}

/// The decoders in order: the first that matches a message reads it.
#[derive(Clone, Debug, Default)]
pub struct Decoders {
    pub list: Vec<Decoder>,
}

impl Decoders {
    /// The shipped decoders; a defect in them is a build defect (the tests load them).
    pub fn shipped() -> Result<Decoders, DecoderError> {
        let mut decoders = Decoders::default();
        for (file, text) in SHIPPED {
            decoders.add(file, text)?;
        }
        Ok(decoders)
    }

    /// Adds the decoders of one file, checked: unknown keys, bad regexes, unknown
    /// classes, duplicate ids and samples that do not give what they expect are refused.
    pub fn add(&mut self, file: &str, text: &str) -> Result<(), DecoderError> {
        let fail = |id: &str, reason: String| DecoderError {
            file: file.to_owned(),
            id: id.to_owned(),
            reason,
        };
        let parsed: DecoderFile =
            toml::from_str(text).map_err(|error| fail("-", error.to_string()))?;
        for spec in parsed.decoder {
            if self.list.iter().any(|decoder| decoder.id == spec.id) {
                return Err(fail(&spec.id, "the id is used twice".into()));
            }
            if !CLASSES.contains(&spec.class.as_str()) {
                return Err(fail(
                    &spec.id,
                    format!("class must be one of {}", CLASSES.join(", ")),
                ));
            }
            let regex =
                Regex::new(&spec.pattern).map_err(|error| fail(&spec.id, error.to_string()))?;
            let decoder = Decoder {
                id: spec.id.clone(),
                family: spec.family,
                class: spec.class,
                program: spec.program,
                regex,
                set: spec.set,
                kv: spec.kv,
                samples: spec.sample,
            };
            for sample in &decoder.samples {
                let Some(fields) = decoder.read(&sample.line) else {
                    return Err(fail(
                        &decoder.id,
                        format!("its sample does not match: {}", sample.line),
                    ));
                };
                for (key, expected) in &sample.expect {
                    if fields.get(key) != Some(expected) {
                        return Err(fail(
                            &decoder.id,
                            format!(
                                "its sample gives {key}={:?}, not {expected:?}",
                                fields.get(key)
                            ),
                        ));
                    }
                }
            }
            self.list.push(decoder);
        }
        Ok(())
    }

    /// Reads a message with the first decoder whose program fits and whose pattern
    /// matches; none: an empty result (the message stays as it is).
    pub fn decode(&self, message: &SyslogMessage) -> Decoded {
        let program = message.app_name.as_deref();
        // Relays add whitespace around the message (rsyslog forwards an RFC 3164 MSG
        // with its leading space into RFC 5424, and frames may end in a newline);
        // decoders read the message itself.
        let text = message
            .message
            .trim_matches(|c: char| c.is_whitespace() || c == '\0');
        for decoder in &self.list {
            if decoder
                .program
                .as_deref()
                .is_some_and(|wanted| Some(wanted) != program)
            {
                continue;
            }
            if let Some(fields) = decoder.read(text) {
                return Decoded {
                    decoder: Some(decoder.id.clone()),
                    family: Some(decoder.family.clone()),
                    class: Some(decoder.class.clone()),
                    fields,
                };
            }
        }
        Decoded::default()
    }
}
