//! Event intake with flow control (item 7): syslog listeners (UDP and TCP on one port),
//! a bounded queue between them and one writer, and a disk spool when the store fails.
//!
//! - TCP: a connection's reader waits when the queue is full, so TCP's own window
//!   pushes back on the sender; nothing is dropped.
//! - UDP has no back channel: a datagram that finds the queue full is counted in
//!   `dropped_udp` (as the kernel's own overruns would be), never silently.
//! - The writer takes up to `batch` lines (or what arrived within `linger`) and stores
//!   them in one transaction. If the store fails, the batch goes to the spool (JSON
//!   lines, one file per batch, fsynced) and is replayed, oldest first, once the store
//!   answers again.
//! - A line that starts with `{` is Suricata EVE JSON; anything else is syslog.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use yunjian_events::framing::Framer;

use crate::error::AppError;
use crate::events::{LineFormat, PreparedBatch, RawEvent, Transport};
use crate::App;

/// How the intake is sized.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// Lines the queue holds before TCP readers wait and UDP datagrams are dropped.
    pub queue: usize,
    /// Lines per store transaction at most.
    pub batch: usize,
    /// How long the writer waits to fill a batch.
    pub linger: Duration,
    /// Longest message kept whole; longer ones are cut and marked.
    pub max_message: usize,
    /// Where batches go when the store fails; `None` keeps them in memory and retries.
    pub spool_dir: Option<PathBuf>,
    /// TCP connections at once.
    pub max_connections: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            queue: 100_000,
            batch: 5_000,
            linger: Duration::from_millis(50),
            max_message: 64 * 1024,
            spool_dir: None,
            max_connections: 1024,
        }
    }
}

/// Where listeners put lines.
#[derive(Clone)]
pub struct IngestHandle {
    sender: mpsc::Sender<RawEvent>,
    app: App,
}

impl IngestHandle {
    /// Queues a line, waiting while the queue is full (TCP, files).
    pub async fn send(&self, event: RawEvent) -> bool {
        self.app
            .events
            .counters
            .received
            .fetch_add(1, Ordering::Relaxed);
        self.sender.send(event).await.is_ok()
    }

    /// Queues a line or counts it dropped (UDP).
    pub fn offer(&self, event: RawEvent) {
        let counters = &self.app.events.counters;
        counters.received.fetch_add(1, Ordering::Relaxed);
        if self.sender.try_send(event).is_err() {
            counters.dropped_udp.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines waiting in the queue.
    pub fn queued(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }
}

fn format_of(bytes: &[u8]) -> LineFormat {
    match bytes.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'{') => LineFormat::Eve,
        _ => LineFormat::Syslog,
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Spooled {
    received_ns: i64,
    sender: Option<String>,
    transport: String,
    format: LineFormat,
    bytes: String,
    provider_id: Option<i64>,
}

fn transport_of(text: &str) -> Transport {
    match text {
        "udp" => Transport::Udp,
        "tls" => Transport::Tls,
        "http" => Transport::Http,
        "file" => Transport::File,
        _ => Transport::Tcp,
    }
}

/// Writes a batch to a new spool file (written, fsynced, then renamed into place).
fn spool(dir: &std::path::Path, batch: &[RawEvent], sequence: u64) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let name = format!(
        "{:020}-{sequence:08}.jsonl",
        batch.first().map_or(0, |event| event.received_ns)
    );
    let partial = dir.join(format!("{name}.partial"));
    let mut file = std::fs::File::create(&partial)?;
    for event in batch {
        let line = Spooled {
            received_ns: event.received_ns,
            sender: event.sender.map(|sender| sender.to_string()),
            transport: event.transport.as_str().to_owned(),
            format: event.format,
            bytes: base64::engine::general_purpose::STANDARD.encode(&event.bytes),
            provider_id: event.provider_id,
        };
        serde_json::to_writer(&mut file, &line)?;
        file.write_all(b"\n")?;
    }
    file.sync_all()?;
    std::fs::rename(partial, dir.join(name))?;
    Ok(())
}

fn read_spool(path: &std::path::Path) -> std::io::Result<Vec<RawEvent>> {
    let text = std::fs::read_to_string(path)?;
    let mut events = Vec::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        let spooled: Spooled = serde_json::from_str(line)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        events.push(RawEvent {
            received_ns: spooled.received_ns,
            sender: spooled.sender.and_then(|sender| sender.parse().ok()),
            transport: transport_of(&spooled.transport),
            format: spooled.format,
            bytes: base64::engine::general_purpose::STANDARD
                .decode(spooled.bytes)
                .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?,
            provider_id: spooled.provider_id,
        });
    }
    Ok(events)
}

fn spooled_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

impl App {
    /// Starts the writer; answers the handle listeners queue into and the writer task.
    pub fn start_ingest(&self, config: IngestConfig) -> (IngestHandle, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(config.queue.max(1));
        let handle = IngestHandle {
            sender,
            app: self.clone(),
        };
        let app = self.clone();
        let task = tokio::spawn(async move { app.write_loop(receiver, config).await });
        (handle, task)
    }

    /// Two stages over two cores: this task collects and prepares batches (parse,
    /// decode, resolve, detect on a blocking thread); the storer writes them, so one
    /// batch is prepared while the previous one is written. A batch the store refused
    /// is spooled as received and replayed (prepared again) once the store answers.
    async fn write_loop(&self, mut receiver: mpsc::Receiver<RawEvent>, config: IngestConfig) {
        let (prepared_sender, mut prepared) =
            mpsc::channel::<(Vec<RawEvent>, Result<PreparedBatch, AppError>)>(2);
        let app = self.clone();
        let storer_config = config.clone();
        let storer = tokio::spawn(async move {
            let counters = &app.events.counters;
            let mut held: Vec<Vec<RawEvent>> = Vec::new();
            let mut sequence = 0u64;
            while let Some((batch, ready)) = prepared.recv().await {
                let outcome = match ready {
                    Ok(ready) => app.store_events(ready).await,
                    Err(error) => Err(error),
                };
                match outcome {
                    Ok(_) => app.replay(&storer_config, &mut held).await,
                    Err(error) => {
                        counters.store_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(%error, lines = batch.len(), "event store failed; spooling the batch");
                        counters
                            .spooled
                            .fetch_add(batch.len() as u64, Ordering::Relaxed);
                        sequence += 1;
                        match &storer_config.spool_dir {
                            Some(dir) => {
                                if let Err(error) = spool(dir, &batch, sequence) {
                                    tracing::error!(%error, "the spool could not be written; holding the batch in memory");
                                    held.push(batch);
                                }
                            }
                            None => held.push(batch),
                        }
                    }
                }
            }
            // Senders gone (shutdown): one last attempt for what is held.
            app.replay(&storer_config, &mut held).await;
        });
        loop {
            let Some(first) = receiver.recv().await else {
                break;
            };
            let mut batch = Vec::with_capacity(config.batch);
            batch.push(first);
            let deadline = tokio::time::Instant::now() + config.linger;
            while batch.len() < config.batch {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(event)) => batch.push(event),
                    _ => break,
                }
            }
            let item = match self.prepare_events(batch.clone()).await {
                Ok((batch, ready)) => (batch, Ok(ready)),
                Err(error) => (batch, Err(error)),
            };
            if prepared_sender.send(item).await.is_err() {
                break;
            }
        }
        drop(prepared_sender);
        let _ = storer.await;
    }

    async fn replay(&self, config: &IngestConfig, held: &mut Vec<Vec<RawEvent>>) {
        let counters = &self.events.counters;
        while let Some(batch) = held.first() {
            if self.ingest_events(batch).await.is_err() {
                return;
            }
            counters
                .replayed
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            held.remove(0);
        }
        let Some(dir) = &config.spool_dir else { return };
        for path in spooled_files(dir) {
            let batch = match read_spool(&path) {
                Ok(batch) => batch,
                Err(error) => {
                    // A damaged file is set aside whole, never half-replayed.
                    tracing::error!(%error, path = %path.display(), "a spool file is unreadable; set aside");
                    let _ = std::fs::rename(&path, path.with_extension("damaged"));
                    continue;
                }
            };
            if self.ingest_events(&batch).await.is_err() {
                return;
            }
            counters
                .replayed
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Listens for syslog on `address`, TCP and UDP on the same port (port 0 picks one
/// free for both). Answers the bound address and the listener task.
pub async fn listen_syslog(
    address: SocketAddr,
    handle: IngestHandle,
    config: &IngestConfig,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    // Port 0: take a TCP port, then the same UDP port (retry if UDP has it taken).
    let mut attempts = 0;
    let (tcp, udp) = loop {
        let tcp = TcpListener::bind(address).await?;
        let bound = tcp.local_addr()?;
        match UdpSocket::bind(bound).await {
            Ok(udp) => break (tcp, udp),
            Err(error) if address.port() == 0 && attempts < 20 => {
                attempts += 1;
                tracing::debug!(%error, "UDP port taken; trying another");
            }
            Err(error) => return Err(error),
        }
    };
    let bound = tcp.local_addr()?;
    let max_message = config.max_message;
    let connections = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let udp_handle = handle.clone();
    let udp_task = tokio::spawn(async move {
        let mut buffer = vec![0u8; 65_536];
        loop {
            match udp.recv_from(&mut buffer).await {
                Ok((length, peer)) => {
                    let counters = &udp_handle.app.events.counters;
                    let mut bytes = buffer[..length].to_vec();
                    if bytes.len() > max_message {
                        bytes.truncate(max_message);
                        counters.truncated.fetch_add(1, Ordering::Relaxed);
                    }
                    while bytes
                        .last()
                        .is_some_and(|byte| matches!(byte, b'\n' | b'\r' | 0))
                    {
                        bytes.pop();
                    }
                    udp_handle.offer(RawEvent {
                        received_ns: udp_handle.app.now_ns(),
                        sender: Some(peer.ip()),
                        transport: Transport::Udp,
                        format: format_of(&bytes),
                        bytes,
                        provider_id: None,
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "syslog UDP receive failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    });
    let task = tokio::spawn(async move {
        loop {
            let Ok(permit) = connections.clone().acquire_owned().await else {
                break;
            };
            let (mut stream, peer) = match tcp.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "syslog TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let mut framer = Framer::new(max_message);
                let mut buffer = vec![0u8; 64 * 1024];
                loop {
                    let read = match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => read,
                    };
                    for frame in framer.push(&buffer[..read]) {
                        if !deliver(&handle, frame, peer).await {
                            return;
                        }
                    }
                }
                if let Some(frame) = framer.finish() {
                    deliver(&handle, frame, peer).await;
                }
            });
        }
        udp_task.abort();
    });
    Ok((bound, task))
}

/// The server side of syslog over TLS (RFC 5425) from PEM files: the certificate chain
/// and its private key.
pub fn tls_config(
    certificate: &std::path::Path,
    key: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>, AppError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let refuse = |what: &str, error: &dyn std::fmt::Display| {
        AppError::invalid("tls", "invalid_pem", format!("{what}: {error}"))
    };
    let chain = CertificateDer::pem_file_iter(certificate)
        .map_err(|error| refuse(&certificate.display().to_string(), &error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| refuse(&certificate.display().to_string(), &error))?;
    if chain.is_empty() {
        return Err(refuse(
            &certificate.display().to_string(),
            &"no certificate",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| refuse(&key.display().to_string(), &error))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| AppError::Internal(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| refuse("certificate and key", &error))?;
    Ok(Arc::new(config))
}

/// Listens for syslog over TLS (RFC 5425: octet-counted frames; LF lines tolerated) on
/// `address`. A failed handshake closes that connection only.
pub async fn listen_syslog_tls(
    address: SocketAddr,
    handle: IngestHandle,
    config: &IngestConfig,
    tls: Arc<rustls::ServerConfig>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let max_message = config.max_message;
    let connections = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let task = tokio::spawn(async move {
        loop {
            let Ok(permit) = connections.clone().acquire_owned().await else {
                break;
            };
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "syslog TLS accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let handle = handle.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let handshake =
                    tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
                let mut stream = match handshake {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::warn!(%error, %peer, "syslog TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::warn!(%peer, "syslog TLS handshake timed out");
                        return;
                    }
                };
                let mut framer = Framer::new(max_message);
                let mut buffer = vec![0u8; 64 * 1024];
                loop {
                    let read = match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => read,
                    };
                    for frame in framer.push(&buffer[..read]) {
                        if !deliver_as(&handle, frame, peer, Transport::Tls).await {
                            return;
                        }
                    }
                }
                if let Some(frame) = framer.finish() {
                    deliver_as(&handle, frame, peer, Transport::Tls).await;
                }
            });
        }
    });
    Ok((bound, task))
}

async fn deliver(
    handle: &IngestHandle,
    frame: yunjian_events::framing::Frame,
    peer: SocketAddr,
) -> bool {
    deliver_as(handle, frame, peer, Transport::Tcp).await
}

async fn deliver_as(
    handle: &IngestHandle,
    frame: yunjian_events::framing::Frame,
    peer: SocketAddr,
    transport: Transport,
) -> bool {
    if frame.truncated {
        handle
            .app
            .events
            .counters
            .truncated
            .fetch_add(1, Ordering::Relaxed);
    }
    if frame.bytes.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    handle
        .send(RawEvent {
            received_ns: handle.app.now_ns(),
            sender: Some(peer.ip()),
            transport,
            format: format_of(&frame.bytes),
            bytes: frame.bytes,
            provider_id: None,
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: u8) -> RawEvent {
        RawEvent {
            received_ns: 1_795_485_600_000_000_000 + i64::from(n),
            sender: Some(std::net::IpAddr::from([127, 0, 10, n])),
            transport: if n.is_multiple_of(2) {
                Transport::Udp
            } else {
                Transport::Tls
            },
            format: if n.is_multiple_of(3) {
                LineFormat::Eve
            } else {
                LineFormat::Syslog
            },
            // Bytes that are not UTF-8 survive the spool too.
            bytes: vec![b'<', 0xff, n, b'\n', 0],
            provider_id: n.is_multiple_of(4).then_some(7),
        }
    }

    #[test]
    fn a_spooled_batch_reads_back_exactly_and_files_replay_oldest_first() {
        let dir = tempfile::tempdir().expect("dir");
        let first: Vec<RawEvent> = (0..5).map(sample).collect();
        let second: Vec<RawEvent> = (5..9).map(sample).collect();
        spool(dir.path(), &second, 2).expect("spool");
        spool(dir.path(), &first, 1).expect("spool");
        let files = spooled_files(dir.path());
        assert_eq!(files.len(), 2);
        assert_eq!(read_spool(&files[0]).expect("read"), first);
        assert_eq!(read_spool(&files[1]).expect("read"), second);
        // No partial file is left behind, and a damaged file is an error, not a guess.
        assert!(std::fs::read_dir(dir.path())
            .expect("list")
            .all(|entry| !entry
                .expect("entry")
                .path()
                .to_string_lossy()
                .ends_with(".partial")));
        std::fs::write(&files[0], b"{\"received_ns\": 1, \"broken").expect("damage");
        assert!(read_spool(&files[0]).is_err());
    }

    #[test]
    fn eve_is_told_from_syslog_by_its_first_byte() {
        assert_eq!(format_of(b"  {\"event_type\":\"alert\"}"), LineFormat::Eve);
        assert_eq!(
            format_of(b"<13>Nov 24 10:00:00 h app: {json}"),
            LineFormat::Syslog
        );
        assert_eq!(format_of(b""), LineFormat::Syslog);
    }
}
