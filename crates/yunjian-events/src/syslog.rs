//! Syslog messages as devices send them: RFC 5424, RFC 3164 and its variants (with or
//! without a hostname, with a year, with an ISO timestamp as rsyslog forwards, Huawei's
//! `Mmm dd yyyy hh:mm:ss`), and lines with no header at all. Parsing never fails: what
//! cannot be read is the message, and the raw line is always kept.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};

/// Which grammar read the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Rfc5424,
    Rfc3164,
    /// No syslog header could be read: the whole line is the message.
    Unparsed,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::Unparsed => "unparsed",
        }
    }
}

/// One structured-data element of RFC 5424: `[id name="value" …]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdElement {
    pub id: String,
    pub params: Vec<(String, String)>,
}

/// A parsed message. `raw` is the whole line, always.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogMessage {
    pub format: Format,
    pub facility: Option<u8>,
    pub severity: Option<u8>,
    /// The timestamp as written.
    pub timestamp: Option<String>,
    /// The source's own time in UTC nanoseconds, when the timestamp could be read.
    pub source_time_ns: Option<i64>,
    pub hostname: Option<String>,
    pub app_name: Option<String>,
    pub proc_id: Option<String>,
    pub msg_id: Option<String>,
    pub structured_data: Vec<SdElement>,
    pub message: String,
    pub raw: String,
}

/// What parsing needs beside the line: when it arrived (RFC 3164 timestamps have no
/// year), and the offset of senders that do not say theirs (Beijing time by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    pub received_ns: i64,
    pub default_offset_seconds: i32,
}

impl Context {
    pub fn beijing(received_ns: i64) -> Context {
        Context {
            received_ns,
            default_offset_seconds: 8 * 3600,
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses one message (a datagram or a frame). Invalid UTF-8 is replaced, never refused.
pub fn parse(bytes: &[u8], context: &Context) -> SyslogMessage {
    let raw = String::from_utf8_lossy(bytes).into_owned();
    let line = raw.trim_end_matches(['\n', '\r', '\0']);
    let unparsed = |line: &str| SyslogMessage {
        format: Format::Unparsed,
        facility: None,
        severity: None,
        timestamp: None,
        source_time_ns: None,
        hostname: None,
        app_name: None,
        proc_id: None,
        msg_id: None,
        structured_data: Vec::new(),
        message: line.to_owned(),
        raw: raw.clone(),
    };
    let (priority, rest) = match priority(line) {
        Some(found) => found,
        None => match parse_3164_body(line, context) {
            // A header without PRI (files, some relays).
            Some(mut message) => {
                message.raw = raw.clone();
                return message;
            }
            None => return unparsed(line),
        },
    };
    let (facility, severity) = (Some(priority / 8), Some(priority % 8));
    if let Some(mut message) = rest.strip_prefix("1 ").and_then(parse_5424_body) {
        message.facility = facility;
        message.severity = severity;
        message.raw = raw.clone();
        return message;
    }
    match parse_3164_body(rest, context) {
        Some(mut message) => {
            message.facility = facility;
            message.severity = severity;
            message.raw = raw.clone();
            message
        }
        None => SyslogMessage {
            facility,
            severity,
            ..unparsed(rest)
        },
    }
}

/// `<PRI>` with 1 to 3 digits, 0..=191.
fn priority(line: &str) -> Option<(u8, &str)> {
    let rest = line.strip_prefix('<')?;
    let end = rest.find('>')?;
    if end == 0 || end > 3 || !rest[..end].bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let value: u16 = rest[..end].parse().ok()?;
    (value <= 191).then(|| (value as u8, &rest[end + 1..]))
}

fn nil(field: &str) -> Option<String> {
    (field != "-" && !field.is_empty()).then(|| field.to_owned())
}

/// `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]` after `<PRI>1 `.
fn parse_5424_body(body: &str) -> Option<SyslogMessage> {
    let mut parts = body.splitn(6, ' ');
    let timestamp = parts.next()?;
    let hostname = parts.next()?;
    let app_name = parts.next()?;
    let proc_id = parts.next()?;
    let msg_id = parts.next()?;
    let rest = parts.next().unwrap_or("");
    let (structured_data, message) = structured_data(rest)?;
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    let source_time_ns = if timestamp == "-" {
        None
    } else {
        Some(
            DateTime::parse_from_rfc3339(timestamp)
                .ok()?
                .timestamp_nanos_opt()?,
        )
    };
    Some(SyslogMessage {
        format: Format::Rfc5424,
        facility: None,
        severity: None,
        timestamp: nil(timestamp),
        source_time_ns,
        hostname: nil(hostname),
        app_name: nil(app_name),
        proc_id: nil(proc_id),
        msg_id: nil(msg_id),
        structured_data,
        message: message.to_owned(),
        raw: String::new(),
    })
}

/// `-` or `[…][…]`, then an optional space and the message.
fn structured_data(text: &str) -> Option<(Vec<SdElement>, &str)> {
    if let Some(rest) = text.strip_prefix('-') {
        return Some((Vec::new(), rest.strip_prefix(' ').unwrap_or(rest)));
    }
    let mut elements = Vec::new();
    let mut rest = text;
    while let Some(body) = rest.strip_prefix('[') {
        let (element, after) = sd_element(body)?;
        elements.push(element);
        rest = after;
    }
    if elements.is_empty() {
        return None;
    }
    Some((elements, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// One element after its `[`: answers it and what follows its `]`.
fn sd_element(body: &str) -> Option<(SdElement, &str)> {
    let id_end = body.find([' ', ']'])?;
    let id = &body[..id_end];
    if id.is_empty() {
        return None;
    }
    let mut rest = &body[id_end..];
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches(' ');
        if let Some(after) = rest.strip_prefix(']') {
            return Some((
                SdElement {
                    id: id.to_owned(),
                    params,
                },
                after,
            ));
        }
        let eq = rest.find('=')?;
        let name = &rest[..eq];
        let value_part = rest[eq + 1..].strip_prefix('"')?;
        // The value runs to the first '"' not escaped by '\'.
        let mut value = String::new();
        let mut escaped = false;
        let mut end = None;
        for (index, character) in value_part.char_indices() {
            if escaped {
                value.push(character);
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '"' {
                end = Some(index);
                break;
            } else {
                value.push(character);
            }
        }
        let end = end?;
        params.push((name.to_owned(), value));
        rest = &value_part[end + 1..];
    }
}

/// The RFC 3164 family: `TIMESTAMP [HOSTNAME] TAG[PID]: MSG`, where the timestamp is
/// `Mmm dd hh:mm:ss`, `Mmm dd yyyy hh:mm:ss` or RFC 3339.
fn parse_3164_body(body: &str, context: &Context) -> Option<SyslogMessage> {
    let (timestamp, source_time_ns, rest) = timestamp_3164(body, context)?;
    let rest = rest.trim_start_matches(' ');
    // The hostname is the next word unless that word is already the tag (`sshd[12]:`,
    // `kernel:`); a few devices send no hostname.
    let first_end = rest.find(' ').unwrap_or(rest.len());
    let first = &rest[..first_end];
    let (hostname, rest) = if first.ends_with(':') || first.contains('[') || first.is_empty() {
        (None, rest)
    } else {
        (
            Some(first.to_owned()),
            rest[first_end..].trim_start_matches(' '),
        )
    };
    let (app_name, proc_id, message) = tag(rest);
    Some(SyslogMessage {
        format: Format::Rfc3164,
        facility: None,
        severity: None,
        timestamp: Some(timestamp),
        source_time_ns,
        hostname,
        app_name,
        proc_id,
        msg_id: None,
        structured_data: Vec::new(),
        message: message.to_owned(),
        raw: String::new(),
    })
}

/// `TAG[PID]: MSG` or `TAG: MSG`; anything else has no tag.
fn tag(rest: &str) -> (Option<String>, Option<String>, &str) {
    let Some(colon) = rest
        .find(": ")
        .or_else(|| rest.strip_suffix(':').map(str::len))
    else {
        return (None, None, rest);
    };
    let candidate = &rest[..colon];
    if candidate.is_empty() || candidate.len() > 64 || candidate.contains(' ') {
        return (None, None, rest);
    }
    let message = rest.get(colon + 2..).unwrap_or("");
    match candidate.find('[') {
        Some(open) if candidate.ends_with(']') => (
            Some(candidate[..open].to_owned()),
            Some(candidate[open + 1..candidate.len() - 1].to_owned()),
            message,
        ),
        _ => (Some(candidate.to_owned()), None, message),
    }
}

fn month(text: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|name| name.eq_ignore_ascii_case(text))
        .map(|index| index as u32 + 1)
}

/// Reads a 3164-family timestamp at the start; answers it as written, in UTC ns when
/// readable, and the rest.
fn timestamp_3164<'a>(body: &'a str, context: &Context) -> Option<(String, Option<i64>, &'a str)> {
    // RFC 3339, as rsyslog forwards (`2026-11-24T10:00:00.123+08:00`).
    if body.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let end = body.find(' ').unwrap_or(body.len());
        let text = &body[..end];
        let time = DateTime::parse_from_rfc3339(text).ok()?;
        return Some((text.to_owned(), time.timestamp_nanos_opt(), &body[end..]));
    }
    // `Mmm dd[ yyyy] hh:mm:ss` (the day may be space-padded).
    let month_number = month(body.get(..3)?)?;
    let after_month = body.get(3..)?.strip_prefix(' ')?.trim_start_matches(' ');
    let day_end = after_month.find(' ')?;
    let day: u32 = after_month[..day_end].parse().ok()?;
    let mut rest = &after_month[day_end + 1..];
    let mut year = None;
    if rest.len() > 5 && rest.as_bytes()[4] == b' ' && rest[..4].bytes().all(|b| b.is_ascii_digit())
    {
        year = rest[..4].parse::<i32>().ok();
        rest = &rest[5..];
    }
    let time_text = rest.get(..8)?;
    let clock = chrono::NaiveTime::parse_from_str(time_text, "%H:%M:%S").ok()?;
    let rest = &rest[8..];
    let written_len = body.len() - rest.len();
    let written = body[..written_len].to_owned();
    let offset = FixedOffset::east_opt(context.default_offset_seconds)?;
    let received = offset.timestamp_nanos(context.received_ns);
    // Without a year, the year that puts the time closest to receipt (a December line
    // received on 1 January is last year's).
    let candidates: Vec<i32> = match year {
        Some(year) => vec![year],
        None => vec![received.year() - 1, received.year(), received.year() + 1],
    };
    let source_time_ns = candidates
        .into_iter()
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month_number, day))
        .map(|date| NaiveDateTime::new(date, clock))
        .filter_map(|local| offset.from_local_datetime(&local).single())
        .filter_map(|time| time.timestamp_nanos_opt())
        .min_by_key(|ns| (ns - context.received_ns).abs());
    Some((written, source_time_ns, rest))
}
