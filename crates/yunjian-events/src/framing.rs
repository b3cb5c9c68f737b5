//! Splitting a TCP syslog stream into messages. RFC 6587 allows two framings on one
//! connection: octet counting (`LEN SP MSG`, LEN without leading zero) and
//! non-transparent framing (a trailer, LF here; CR LF and NUL tolerated). A message
//! that starts with a digit is octet-counted; anything else runs to the next LF. A frame
//! longer than the limit is cut and marked, never dropped.

/// One message of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Vec<u8>,
    /// The message was longer than the limit and this is its beginning.
    pub truncated: bool,
}

/// An incremental framer: push bytes as they arrive, take the frames completed.
#[derive(Debug)]
pub struct Framer {
    buffer: Vec<u8>,
    max_frame: usize,
    /// Bytes still to skip of an over-long message already emitted truncated.
    skipping: Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Nothing,
    /// The rest of an octet-counted message.
    Bytes(usize),
    /// The rest of a line.
    ToNewline,
}

impl Framer {
    pub fn new(max_frame: usize) -> Framer {
        Framer {
            buffer: Vec::new(),
            max_frame: max_frame.max(16),
            skipping: Skip::Nothing,
        }
    }

    /// Adds bytes; answers the frames they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Frame> {
        self.buffer.extend_from_slice(bytes);
        let mut frames = Vec::new();
        let mut start = 0;
        loop {
            let rest = &self.buffer[start..];
            match self.skipping {
                Skip::Bytes(count) => {
                    let skipped = count.min(rest.len());
                    start += skipped;
                    self.skipping = if skipped == count {
                        Skip::Nothing
                    } else {
                        Skip::Bytes(count - skipped)
                    };
                    if self.skipping != Skip::Nothing {
                        break;
                    }
                    continue;
                }
                Skip::ToNewline => match rest.iter().position(|byte| *byte == b'\n') {
                    Some(end) => {
                        start += end + 1;
                        self.skipping = Skip::Nothing;
                        continue;
                    }
                    None => {
                        start += rest.len();
                        break;
                    }
                },
                Skip::Nothing => {}
            }
            // Separators between messages.
            let leading = rest
                .iter()
                .take_while(|byte| matches!(byte, b'\n' | b'\r' | 0))
                .count();
            if leading > 0 {
                start += leading;
                continue;
            }
            if rest.is_empty() {
                break;
            }
            if let Some((length, header)) = octet_count(rest) {
                let available = rest.len() - header;
                if length > self.max_frame {
                    if available >= self.max_frame {
                        frames.push(Frame {
                            bytes: rest[header..header + self.max_frame].to_vec(),
                            truncated: true,
                        });
                        start += header + self.max_frame;
                        self.skipping = Skip::Bytes(length - self.max_frame);
                        continue;
                    }
                    break;
                }
                if available < length {
                    break;
                }
                frames.push(Frame {
                    bytes: rest[header..header + length].to_vec(),
                    truncated: false,
                });
                start += header + length;
                continue;
            }
            if starts_like_count(rest) {
                // Digits not yet followed by a space: wait for more.
                break;
            }
            match rest.iter().position(|byte| matches!(byte, b'\n' | 0)) {
                Some(end) => {
                    let line = trim_cr(&rest[..end]);
                    let truncated = line.len() > self.max_frame;
                    frames.push(Frame {
                        bytes: line[..line.len().min(self.max_frame)].to_vec(),
                        truncated,
                    });
                    start += end + 1;
                }
                None if rest.len() > self.max_frame => {
                    frames.push(Frame {
                        bytes: rest[..self.max_frame].to_vec(),
                        truncated: true,
                    });
                    start += rest.len();
                    self.skipping = Skip::ToNewline;
                }
                None => break,
            }
        }
        self.buffer.drain(..start);
        frames
    }

    /// The connection closed: whatever is buffered is the last message (kept, even if
    /// it lacks its trailer or is shorter than its count said).
    pub fn finish(&mut self) -> Option<Frame> {
        let rest = std::mem::take(&mut self.buffer);
        let skipping = std::mem::replace(&mut self.skipping, Skip::Nothing);
        if rest.is_empty() || skipping != Skip::Nothing {
            return None;
        }
        let body = match octet_count(&rest) {
            Some((_, header)) => &rest[header..],
            None => trim_cr(&rest),
        };
        (!body.is_empty()).then(|| Frame {
            bytes: body[..body.len().min(self.max_frame)].to_vec(),
            truncated: body.len() > self.max_frame,
        })
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether the bytes could still become an octet count (`[1-9][0-9]*` so far).
fn starts_like_count(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(b'1'..=b'9'))
        && bytes.len() < 10
        && bytes.iter().all(u8::is_ascii_digit)
}

/// `LEN SP` at the start: the length and the header's size. At most 9 digits.
fn octet_count(bytes: &[u8]) -> Option<(usize, usize)> {
    if !matches!(bytes.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let digits = bytes
        .iter()
        .take(10)
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    if digits == 0 || digits > 9 || bytes.get(digits) != Some(&b' ') {
        return None;
    }
    let length: usize = std::str::from_utf8(&bytes[..digits]).ok()?.parse().ok()?;
    // A count must be followed by a message that looks like syslog ('<'), or it is
    // text that happens to start with a number.
    match bytes.get(digits + 1) {
        Some(b'<') | None => Some((length, digits + 1)),
        Some(_) => None,
    }
}
