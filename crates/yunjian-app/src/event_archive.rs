//! Event retention (7.1.4: network logs kept at least six months): whole calendar months
//! (Beijing time) older than the online window are written to gzip-compressed JSON lines,
//! their SM3 recorded in the audit ledger in the same transaction that removes the rows,
//! and can be put back online (after the file's SM3 is checked against that record).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use yunjian_store::{EventArchive, EventRow};

use crate::error::AppError;
use crate::usage::Month;
use crate::App;

/// The floor: the current month and at least this many whole months before it stay
/// online (the guide's six months, never less).
pub const ONLINE_MONTHS_FLOOR: u32 = 6;

/// Rows read per page while writing an archive.
const PAGE: i64 = 10_000;

fn io(error: std::io::Error) -> AppError {
    AppError::Internal(format!("event archive: {error}"))
}

fn row_json(event: &EventRow) -> serde_json::Value {
    json!({
        "id": event.id, "received_ns": event.received_ns, "source_time_ns": event.source_time_ns,
        "source_id": event.source_id, "sender": event.sender, "transport": event.transport,
        "format": event.format, "device": event.device, "class": event.class, "family": event.family,
        "detector": event.detector, "src_ip": event.src_ip, "src_port": event.src_port,
        "dst_ip": event.dst_ip, "dst_port": event.dst_port, "protocol": event.protocol,
        "username": event.username, "action": event.action, "outcome": event.outcome,
        "rule": event.rule, "rule_id": event.rule_id, "severity": event.severity,
        "message": event.message, "raw": event.raw, "extra": event.extra,
        "gbz2007": event.gbz2007, "gbt2023": event.gbt2023, "provider_id": event.provider_id,
        "zone_id": event.zone_id, "tenant_id": event.tenant_id, "other_tenant_id": event.other_tenant_id,
        "src_vpc_id": event.src_vpc_id, "src_vm_id": event.src_vm_id, "dst_vpc_id": event.dst_vpc_id,
        "dst_vm_id": event.dst_vm_id, "system_id": event.system_id, "dst_country": event.dst_country,
    })
}

fn row_of(value: &serde_json::Value) -> Option<EventRow> {
    let int = |key: &str| value.get(key).and_then(serde_json::Value::as_i64);
    let text = |key: &str| {
        value
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    Some(EventRow {
        id: int("id")?,
        received_ns: int("received_ns")?,
        source_time_ns: int("source_time_ns"),
        source_id: int("source_id"),
        sender: text("sender"),
        transport: text("transport")?,
        format: text("format")?,
        device: text("device"),
        class: text("class")?,
        family: text("family"),
        detector: text("detector"),
        src_ip: text("src_ip"),
        src_port: int("src_port"),
        dst_ip: text("dst_ip"),
        dst_port: int("dst_port"),
        protocol: text("protocol"),
        username: text("username"),
        action: text("action"),
        outcome: text("outcome"),
        rule: text("rule"),
        rule_id: text("rule_id"),
        severity: int("severity"),
        message: text("message")?,
        raw: text("raw")?,
        extra: text("extra"),
        gbz2007: text("gbz2007")?,
        gbt2023: text("gbt2023")?,
        provider_id: int("provider_id"),
        zone_id: int("zone_id"),
        tenant_id: int("tenant_id"),
        other_tenant_id: int("other_tenant_id"),
        src_vpc_id: int("src_vpc_id"),
        src_vm_id: int("src_vm_id"),
        dst_vpc_id: int("dst_vpc_id"),
        dst_vm_id: int("dst_vm_id"),
        system_id: int("system_id"),
        dst_country: text("dst_country"),
    })
}

fn sm3_of_file(path: &Path) -> Result<String, AppError> {
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut digest = yunjian_gm::Sm3Stream::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = std::io::Read::read(&mut file, &mut buffer).map_err(io)?;
        if read == 0 {
            break;
        }
        digest.update(&buffer[..read]);
    }
    Ok(digest.finish().to_hex())
}

impl App {
    /// Archives every whole month older than the online window (`keep_months`, at
    /// least [`ONLINE_MONTHS_FLOOR`]) into `dir`. Answers the archives made.
    pub async fn archive_events(
        &self,
        dir: &Path,
        keep_months: u32,
    ) -> Result<Vec<EventArchive>, AppError> {
        let keep = keep_months.max(ONLINE_MONTHS_FLOOR);
        let now = self.now_ns();
        let cutoff = Month::of(now).minus(keep);
        let Some(oldest) = self.store.oldest_event_ns().await? else {
            return Ok(Vec::new());
        };
        let done: Vec<String> = self
            .store
            .event_archives()
            .await?
            .into_iter()
            .map(|archive| archive.month)
            .collect();
        let mut made = Vec::new();
        let mut month = Month::of(oldest);
        while month < cutoff {
            if !done.contains(&month.label()) {
                if let Some(archive) = self.archive_month(dir, month).await? {
                    made.push(archive);
                }
            }
            month = month.following();
        }
        Ok(made)
    }

    async fn archive_month(
        &self,
        dir: &Path,
        month: Month,
    ) -> Result<Option<EventArchive>, AppError> {
        let (start, end) = month.bounds();
        std::fs::create_dir_all(dir).map_err(io)?;
        let name = format!("events-{}.jsonl.gz", month.label());
        let path = dir.join(&name);
        let partial = dir.join(format!("{name}.partial"));
        let file = std::fs::File::create(&partial).map_err(io)?;
        let mut encoder = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(file),
            flate2::Compression::default(),
        );
        let (mut first, mut last, mut count, mut after) = (None, 0i64, 0i64, 0i64);
        loop {
            let page = self.store.events_between(start, end, after, PAGE).await?;
            let Some(tail) = page.last() else { break };
            after = tail.id;
            for event in &page {
                first.get_or_insert(event.id);
                last = event.id;
                count += 1;
                serde_json::to_writer(&mut encoder, &row_json(event))
                    .map_err(|error| AppError::Internal(error.to_string()))?;
                encoder.write_all(b"\n").map_err(io)?;
            }
        }
        let writer = encoder.finish().map_err(io)?;
        let file = writer
            .into_inner()
            .map_err(|error| io(error.into_error()))?;
        file.sync_all().map_err(io)?;
        let Some(first) = first else {
            let _ = std::fs::remove_file(&partial);
            return Ok(None);
        };
        std::fs::rename(&partial, &path).map_err(io)?;
        let sm3 = sm3_of_file(&path)?;
        let bytes = std::fs::metadata(&path).map_err(io)?.len() as i64;
        let archive = EventArchive {
            id: 0,
            month: month.label(),
            first_id: first,
            last_id: last,
            events: count,
            path: path.display().to_string(),
            bytes,
            sm3: sm3.clone(),
            created_at_ns: self.now_ns(),
            restored_at_ns: None,
        };
        let mut tx = self.store.begin_write().await?;
        let removed = tx.archive_events(&archive).await?;
        if removed != count as u64 {
            // Rows arrived or left meanwhile: keep them all online, try again later.
            return Err(AppError::Conflict {
                field: None,
                message: format!("month {} changed while it was archived", month.label()),
            });
        }
        let mut record = crate::ledger::local_record(self.now_ns(), "event.archive");
        record.object_kind = Some("event_archive".into());
        record.detail = Some(json!({
            "month": archive.month, "events": count, "first_id": first, "last_id": last,
            "file": name, "bytes": bytes, "sm3": sm3,
        }));
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(Some(archive))
    }

    /// Puts an archived month back online after checking its file against the SM3 the
    /// ledger recorded.
    pub async fn restore_events(&self, month_label: &str) -> Result<EventArchive, AppError> {
        let archive = self
            .store
            .event_archives()
            .await?
            .into_iter()
            .find(|archive| archive.month == month_label)
            .ok_or(AppError::NotFound)?;
        if archive.restored_at_ns.is_some() {
            return Err(AppError::Conflict {
                field: Some("month".into()),
                message: format!("{month_label} is online already"),
            });
        }
        let path = PathBuf::from(&archive.path);
        let sm3 = sm3_of_file(&path)?;
        if sm3 != archive.sm3 {
            return Err(AppError::Conflict {
                field: Some("month".into()),
                message: format!(
                    "the archive file of {month_label} does not match its recorded SM3 (recorded {}, file {sm3})",
                    archive.sm3
                ),
            });
        }
        let file = std::fs::File::open(&path).map_err(io)?;
        let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
        let mut rows = Vec::new();
        for line in reader.lines() {
            let line = line.map_err(io)?;
            let value: serde_json::Value = serde_json::from_str(&line)
                .map_err(|error| AppError::Internal(format!("archive line: {error}")))?;
            rows.push(
                row_of(&value)
                    .ok_or_else(|| AppError::Internal("an archive line lacks a field".into()))?,
            );
        }
        if rows.len() as i64 != archive.events {
            return Err(AppError::Internal(format!(
                "the archive of {month_label} holds {} events, {} were recorded",
                rows.len(),
                archive.events
            )));
        }
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        tx.restore_events(month_label, &rows, now).await?;
        let mut record = crate::ledger::local_record(now, "event.restore");
        record.object_kind = Some("event_archive".into());
        record.detail = Some(json!({"month": month_label, "events": rows.len(), "sm3": sm3}));
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(EventArchive {
            restored_at_ns: Some(now),
            ..archive
        })
    }
}
