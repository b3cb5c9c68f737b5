//! Configuration: a TOML file, then environment overrides, then command-line flags.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreSection,
    pub session: SessionSection,
    pub audit: AuditSection,
    pub identity: IdentitySection,
    pub reports: ReportsSection,
    pub log: LogSection,
}

/// Compliance reports: the CJK font PDFs embed.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsSection {
    pub font: PathBuf,
    pub font_index: u32,
}

impl Default for ReportsSection {
    fn default() -> Self {
        ReportsSection {
            font: PathBuf::from(yunjian_app::DEFAULT_REPORT_FONT),
            font_index: yunjian_app::DEFAULT_REPORT_FONT_INDEX,
        }
    }
}

/// Password and login-failure policy; the defaults are the guide's floors and only
/// stricter values are accepted.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySection {
    pub password_min_length: usize,
    pub password_min_classes: usize,
    pub password_history: usize,
    pub password_max_age_days: u32,
    pub password_min_age_days: u32,
    pub password_warn_days: u32,
    pub lockout_max_failures: u32,
    pub lockout_window_minutes: u32,
    pub lockout_minutes: u32,
    pub lockout_escalate_after: u32,
    /// "argon2id" (default) or "pbkdf2-sm3" (national algorithms only).
    pub password_hash: String,
}

impl Default for IdentitySection {
    fn default() -> Self {
        let settings = yunjian_app::IdentitySettings::default();
        let (password, lockout) = (settings.password, settings.lockout);
        const MINUTE_NS: i64 = 60 * 1_000_000_000;
        IdentitySection {
            password_min_length: password.min_length,
            password_min_classes: password.min_classes,
            password_history: password.history,
            password_max_age_days: password.max_age_days,
            password_min_age_days: password.min_age_days,
            password_warn_days: password.warn_days,
            lockout_max_failures: lockout.max_failures,
            lockout_window_minutes: (lockout.window_ns / MINUTE_NS) as u32,
            lockout_minutes: (lockout.lock_ns / MINUTE_NS) as u32,
            lockout_escalate_after: lockout.escalate_after,
            password_hash: settings.password_hashing.as_str().to_owned(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    pub hash: String,
    pub origin: Option<String>,
    pub checkpoint_interval_seconds: u32,
    pub checkpoint_records: u64,
    pub retention_months: u32,
    pub sealing_key_file: Option<PathBuf>,
}

impl Default for AuditSection {
    fn default() -> Self {
        AuditSection {
            hash: "sm3".into(),
            origin: None,
            checkpoint_interval_seconds: 60,
            checkpoint_records: 1000,
            retention_months: yunjian_app::RETENTION_FLOOR_MONTHS,
            sealing_key_file: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub secure_cookies: bool,
    pub max_body_bytes: usize,
    /// API calls per principal per minute and instance (7.3.1.2).
    pub api_calls_per_minute: usize,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub database_url_file: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSection {
    pub idle_timeout_minutes: u32,
    pub absolute_lifetime_hours: u32,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    pub filter: String,
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            secure_cookies: true,
            max_body_bytes: 1024 * 1024,
            api_calls_per_minute: yunjian_app::API_CALLS_PER_MINUTE,
        }
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            data_dir: PathBuf::from("/var/lib/yunjian"),
            database_url: None,
            database_url_file: None,
        }
    }
}

impl Default for SessionSection {
    fn default() -> Self {
        SessionSection {
            idle_timeout_minutes: 15,
            absolute_lifetime_hours: 8,
        }
    }
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            filter: "info".into(),
            format: LogFormat::Json,
        }
    }
}

/// The commented example printed by `yunjian config example`. A test parses it and
/// checks that it equals the defaults, so it cannot go stale.
pub const EXAMPLE: &str = r#"# yunjian (云监) configuration.
# Precedence: command-line flags, then environment variables (named below), then this
# file, then the defaults shown here.

[server]
# Address and port to listen on.                                    env YUNJIAN_LISTEN
listen = "127.0.0.1:8080"
# Mark cookies Secure. Keep true whenever users reach the console over HTTPS (directly
# or through a TLS-terminating proxy); false only for plain HTTP on a trusted host.
#                                                                    env YUNJIAN_SECURE_COOKIES
secure_cookies = true
# Largest request body accepted, in bytes.                          env YUNJIAN_MAX_BODY_BYTES
max_body_bytes = 1048576
# API calls one principal may make a minute on this instance; more answer 429 and the
# first refusal each minute is recorded (7.3.1.2). 60 to 1,000,000.
#                                                                    env YUNJIAN_API_CALLS_PER_MINUTE
api_calls_per_minute = 600

[store]
# Directory of the embedded SQLite database (DIR/yunjian.db), used unless a
# PostgreSQL URL is given.                                           env YUNJIAN_DATA_DIR
data_dir = "/var/lib/yunjian"
# PostgreSQL instead of SQLite, e.g. "postgres://yunjian@db.internal:5432/yunjian".
# The URL may hold a password: prefer database_url_file, a file readable only by the
# yunjian user that holds the URL.                     env YUNJIAN_DATABASE_URL / YUNJIAN_DATABASE_URL_FILE
# database_url = "postgres://yunjian@127.0.0.1:5432/yunjian"
# database_url_file = "/etc/yunjian/database-url"

[session]
# A console or API session unused this long ends (1 to 30 minutes).
idle_timeout_minutes = 15
# A session ends this long after login, used or not (1 to 24 hours).
absolute_lifetime_hours = 8

[audit]
# The ledger's tree hash, fixed when the ledger is created: "sm3" (GB/T 39786) or
# "sha256" (for RFC 6962 tooling).
hash = "sm3"
# The log's name in signed checkpoints (default "yunjian.local/audit/<hash>").
# origin = "yunjian.example.gov.cn/audit/sm3"
# Sign a checkpoint at least this often while records arrive (1 to 3600 seconds)…
checkpoint_interval_seconds = 60
# …or as soon as this many records are unsigned (1 to 1000000).
checkpoint_records = 1000
# Months audit records stay online before they may be archived and pruned; the guide's
# floor is 6 (7.1.4, 7.5.10.2) and a smaller value is refused.
retention_months = 6
# The SM4 key that seals the checkpoint signing key, 32 hex digits in a file only the
# yunjian user can read; made by `yunjian admin init`. Default: DATA_DIR/ledger-sealing.key.
#                                                                    env YUNJIAN_SEALING_KEY_FILE
# sealing_key_file = "/etc/yunjian/ledger-sealing.key"

[identity]
# Passwords (7.5.3.1): at least this long, from at least this many of the four character
# classes, different from the last N, changed at least every max_age days, not changed
# again within min_age days, reminders warn_days before expiry. The values shown are the
# guide's floors: stricter values are accepted, looser ones refused at start.
password_min_length = 14
password_min_classes = 3
password_history = 5
password_max_age_days = 90
password_min_age_days = 1
password_warn_days = 14
# How new password hashes are made: "argon2id" (default) or "pbkdf2-sm3"
# (PBKDF2-HMAC-SM3, 600,000 rounds) where only national algorithms are admitted.
# Existing hashes keep verifying after a switch.
password_hash = "argon2id"
# Login failures (7.5.3.8): lock after max_failures within window_minutes, for
# lockout_minutes; after escalate_after locks in a day only the system administrator
# unlocks (`POST /api/v1/accounts/{id}/unlock`).
lockout_max_failures = 5
lockout_window_minutes = 15
lockout_minutes = 30
lockout_escalate_after = 3

[reports]
# The CJK font compliance PDFs embed (a subset of it), read on first use: a TrueType or
# OpenType file or collection, and the face's index in it. The default is Debian's
# fonts-noto-cjk, Simplified Chinese.                                env YUNJIAN_REPORT_FONT
font = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
font_index = 2

[log]
# tracing filter, e.g. "info" or "yunjian_app=debug,info".          env YUNJIAN_LOG
filter = "info"
# "json" (one object per line, for collectors) or "text".           env YUNJIAN_LOG_FORMAT
format = "json"
"#;

impl Config {
    /// Reads a file (when given), then applies environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the configuration file {}", path.display())
                })?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid configuration in {}", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_environment(|name| std::env::var(name).ok())?;
        config.check()?;
        Ok(config)
    }

    pub fn apply_environment(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(value) = get("YUNJIAN_LISTEN") {
            self.server.listen = value;
        }
        if let Some(value) = get("YUNJIAN_SECURE_COOKIES") {
            self.server.secure_cookies = match value.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => bail!("YUNJIAN_SECURE_COOKIES must be true or false, not '{other}'"),
            };
        }
        if let Some(value) = get("YUNJIAN_MAX_BODY_BYTES") {
            self.server.max_body_bytes = value
                .parse()
                .context("YUNJIAN_MAX_BODY_BYTES must be a number of bytes")?;
        }
        if let Some(value) = get("YUNJIAN_API_CALLS_PER_MINUTE") {
            self.server.api_calls_per_minute = value
                .parse()
                .context("YUNJIAN_API_CALLS_PER_MINUTE must be a number")?;
        }
        if let Some(value) = get("YUNJIAN_DATA_DIR") {
            self.store.data_dir = value.into();
        }
        if let Some(value) = get("YUNJIAN_DATABASE_URL") {
            self.store.database_url = Some(value);
        }
        if let Some(value) = get("YUNJIAN_DATABASE_URL_FILE") {
            self.store.database_url_file = Some(value.into());
        }
        if let Some(value) = get("YUNJIAN_SEALING_KEY_FILE") {
            self.audit.sealing_key_file = Some(value.into());
        }
        if let Some(value) = get("YUNJIAN_REPORT_FONT") {
            self.reports.font = value.into();
        }
        if let Some(value) = get("YUNJIAN_LOG").or_else(|| get("RUST_LOG")) {
            self.log.filter = value;
        }
        if let Some(value) = get("YUNJIAN_LOG_FORMAT") {
            self.log.format = match value.as_str() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                other => bail!("YUNJIAN_LOG_FORMAT must be json or text, not '{other}'"),
            };
        }
        Ok(())
    }

    /// Refuses settings looser than the floors.
    pub fn check(&self) -> Result<()> {
        if !(1..=30).contains(&self.session.idle_timeout_minutes) {
            bail!("session.idle_timeout_minutes must be between 1 and 30");
        }
        if !(1..=24).contains(&self.session.absolute_lifetime_hours) {
            bail!("session.absolute_lifetime_hours must be between 1 and 24");
        }
        if self.server.max_body_bytes < 1024 || self.server.max_body_bytes > 64 * 1024 * 1024 {
            bail!("server.max_body_bytes must be between 1 KiB and 64 MiB");
        }
        if !(60..=1_000_000).contains(&self.server.api_calls_per_minute) {
            bail!("server.api_calls_per_minute must be between 60 and 1,000,000");
        }
        if yunjian_store::LedgerHash::parse(&self.audit.hash).is_none() {
            bail!("audit.hash must be \"sm3\" or \"sha256\"");
        }
        if !(1..=3600).contains(&self.audit.checkpoint_interval_seconds) {
            bail!("audit.checkpoint_interval_seconds must be between 1 and 3600");
        }
        if !(1..=1_000_000).contains(&self.audit.checkpoint_records) {
            bail!("audit.checkpoint_records must be between 1 and 1000000");
        }
        if self.audit.retention_months < yunjian_app::RETENTION_FLOOR_MONTHS {
            bail!(
                "audit.retention_months must be at least {} (the guide's floor, 7.1.4)",
                yunjian_app::RETENTION_FLOOR_MONTHS
            );
        }
        if yunjian_app::PasswordHashing::parse(&self.identity.password_hash).is_none() {
            bail!(
                "[identity] password_hash must be \"argon2id\" or \"pbkdf2-sm3\", not {:?}",
                self.identity.password_hash
            );
        }
        if let Err(problems) = self.identity_settings().check() {
            bail!(
                "identity settings looser than the guide allows: {}",
                problems.join("; ")
            );
        }
        if let Some(origin) = &self.audit.origin {
            if origin.is_empty() || origin.contains(['+', ' ', '\n']) {
                bail!("audit.origin is a name without spaces or '+', like example.gov.cn/audit");
            }
        }
        if self.store.database_url.is_some() && self.store.database_url_file.is_some() {
            bail!("give store.database_url or store.database_url_file, not both");
        }
        Ok(())
    }

    /// The database URL, reading the URL file when one is named. A URL file readable by
    /// other users is refused, since the URL may hold a password.
    pub fn database_url(&self) -> Result<Option<String>> {
        if let Some(path) = &self.store.database_url_file {
            return Ok(Some(read_private_file(path)?.trim().to_owned()));
        }
        Ok(self.store.database_url.clone())
    }

    pub fn ledger_settings(&self) -> yunjian_app::LedgerSettings {
        let hash = yunjian_store::LedgerHash::parse(&self.audit.hash)
            .unwrap_or(yunjian_store::LedgerHash::Sm3);
        yunjian_app::LedgerSettings {
            hash,
            origin: self
                .audit
                .origin
                .clone()
                .unwrap_or_else(|| format!("yunjian.local/audit/{}", hash.name())),
            checkpoint_interval_ns: i64::from(self.audit.checkpoint_interval_seconds)
                * 1_000_000_000,
            checkpoint_records: self.audit.checkpoint_records,
            retention_months: self.audit.retention_months,
        }
    }

    pub fn identity_settings(&self) -> yunjian_app::IdentitySettings {
        const MINUTE_NS: i64 = 60 * 1_000_000_000;
        let id = &self.identity;
        let floor = yunjian_app::IdentitySettings::default();
        yunjian_app::IdentitySettings {
            password: yunjian_core::password::PasswordPolicy {
                min_length: id.password_min_length,
                min_classes: id.password_min_classes,
                history: id.password_history,
                max_age_days: id.password_max_age_days,
                min_age_days: id.password_min_age_days,
                warn_days: id.password_warn_days,
            },
            lockout: yunjian_core::lockout::LockoutPolicy {
                max_failures: id.lockout_max_failures,
                window_ns: i64::from(id.lockout_window_minutes) * MINUTE_NS,
                lock_ns: i64::from(id.lockout_minutes) * MINUTE_NS,
                escalate_after: id.lockout_escalate_after,
                escalation_window_ns: floor.lockout.escalation_window_ns,
            },
            // Checked in `check`: an unknown name is refused at start.
            password_hashing: yunjian_app::PasswordHashing::parse(&id.password_hash)
                .unwrap_or_default(),
        }
    }

    pub fn sealing_key_path(&self) -> PathBuf {
        self.audit
            .sealing_key_file
            .clone()
            .unwrap_or_else(|| self.store.data_dir.join("ledger-sealing.key"))
    }

    pub fn session_settings(&self) -> yunjian_app::SessionSettings {
        const MINUTE_NS: i64 = 60 * 1_000_000_000;
        yunjian_app::SessionSettings {
            idle_timeout_ns: i64::from(self.session.idle_timeout_minutes) * MINUTE_NS,
            absolute_lifetime_ns: i64::from(self.session.absolute_lifetime_hours) * 60 * MINUTE_NS,
        }
    }
}

/// Reads a file that holds a secret, refusing it when other users can read it.
pub fn read_private_file(path: &Path) -> Result<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by other users (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{Config, LogFormat, EXAMPLE};

    #[test]
    fn the_printed_example_is_complete_and_equals_the_defaults() {
        let parsed: Config = toml::from_str(EXAMPLE).expect("the example parses");
        assert_eq!(parsed, Config::default());
        // Every commented-out key in the example is a real key too.
        let uncommented: String = EXAMPLE
            .lines()
            .map(|line| {
                line.strip_prefix("# database_url")
                    .map_or(line.to_owned(), |rest| format!("database_url{rest}"))
            })
            .collect::<Vec<_>>()
            .join("\n");
        let error = toml::from_str::<Config>(&uncommented).err();
        assert!(error.is_none(), "{error:?}");
    }

    #[test]
    fn unknown_keys_and_loose_settings_are_refused() {
        assert!(toml::from_str::<Config>("[server]\nlisten = \"x\"\ncolour = 1\n").is_err());
        let mut config = Config::default();
        config.session.idle_timeout_minutes = 120;
        assert!(config.check().is_err());
        // The guide's floors for passwords, lockout and audit retention.
        for loosen in [
            (|c: &mut Config| c.identity.password_min_length = 8) as fn(&mut Config),
            |c| c.identity.password_max_age_days = 180,
            |c| c.identity.password_history = 2,
            |c| c.server.api_calls_per_minute = 10,
            |c| c.identity.password_hash = "md5".into(),
            |c| c.identity.lockout_max_failures = 10,
            |c| c.identity.lockout_minutes = 5,
            |c| c.audit.retention_months = 3,
        ] {
            let mut config = Config::default();
            loosen(&mut config);
            assert!(config.check().is_err());
        }
        let mut stricter = Config::default();
        stricter.identity.password_min_length = 16;
        stricter.identity.lockout_max_failures = 3;
        assert!(stricter.check().is_ok());
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut config = Config::default();
        config
            .apply_environment(|name| match name {
                "YUNJIAN_LISTEN" => Some("0.0.0.0:9000".into()),
                "YUNJIAN_LOG_FORMAT" => Some("text".into()),
                "YUNJIAN_DATABASE_URL" => Some("postgres://u@h/db".into()),
                _ => None,
            })
            .expect("valid");
        assert_eq!(config.server.listen, "0.0.0.0:9000");
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(
            config.database_url().expect("url").as_deref(),
            Some("postgres://u@h/db")
        );
        assert!(config
            .apply_environment(|name| (name == "YUNJIAN_SECURE_COOKIES").then(|| "maybe".into()))
            .is_err());
    }
}
