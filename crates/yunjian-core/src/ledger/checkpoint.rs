//! Checkpoints in the C2SP tlog-checkpoint form: the note text
//! `ORIGIN\nSIZE\nBASE64(ROOT)\n` (optionally followed by extension lines), signed as a
//! C2SP signed note by `yunjian-gm`. Parsing and formatting are pure.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::Hash;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a checkpoint: {0}")]
    Malformed(&'static str),
}

impl Checkpoint {
    /// The note text, ending in a newline.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Parses a checkpoint note text (the part before the signatures). Extension lines
    /// after the root are allowed and ignored, as the spec says.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("the text ends with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|origin| !origin.is_empty())
            .ok_or(CheckpointError::Malformed("no origin line"))?;
        let size = lines
            .next()
            .filter(|size| {
                !size.is_empty()
                    && size.bytes().all(|b| b.is_ascii_digit())
                    && (size.len() == 1 || !size.starts_with('0'))
            })
            .and_then(|size| size.parse::<u64>().ok())
            .ok_or(CheckpointError::Malformed("the size is a decimal number"))?;
        let root = lines
            .next()
            .and_then(|root| BASE64.decode(root).ok())
            .and_then(|root| Hash::try_from(root).ok())
            .ok_or(CheckpointError::Malformed("the root is 32 bytes of base64"))?;
        if lines.any(str::is_empty) {
            return Err(CheckpointError::Malformed("no empty extension lines"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}
