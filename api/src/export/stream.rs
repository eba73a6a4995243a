//! The streaming plumbing: a bounded channel from the task that renders the export to the
//! HTTP response body, and a zip writer whose output is drained into it after every entry.
//! Memory stays at one page of items plus one rendered file, however large the batch.

use std::{
    io::{self, Write},
    sync::{Arc, Mutex, PoisonError},
};

use actix_web::web::Bytes;
use chrono::{DateTime, Datelike, Timelike, Utc};
use futures::Stream;
use tokio::sync::mpsc;
use zip::{
    CompressionMethod, ZipWriter,
    write::{SimpleFileOptions, StreamWriter},
};

pub type Chunk = Result<Bytes, io::Error>;

/// Chunks in flight between the renderer and the socket: a slow client slows the renderer
/// down instead of letting the export pile up in memory.
const CHANNEL_DEPTH: usize = 4;

/// The client went away; stop rendering.
#[derive(Debug, thiserror::Error)]
#[error("the client closed the connection")]
pub struct Closed;

enum Message {
    Data(Bytes),
    /// The export is complete: end the body normally.
    Done,
    Failed(String),
}

/// The sending half, owned by the rendering task.
pub struct Sink {
    tx: mpsc::Sender<Message>,
}

impl Sink {
    pub async fn send(&self, bytes: Vec<u8>) -> Result<(), Closed> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.tx
            .send(Message::Data(Bytes::from(bytes)))
            .await
            .map_err(|_| Closed)
    }

    /// The last call of a successful export.
    pub async fn finish(self) {
        let _ = self.tx.send(Message::Done).await;
    }

    /// Ends the body with an error: the server drops the connection without the final chunk,
    /// so the client sees a truncated transfer rather than a complete-looking file.
    pub async fn abort(self, why: &str) {
        let _ = self.tx.send(Message::Failed(why.to_owned())).await;
    }
}

/// A sink and the response body it feeds. A body whose sink goes away without `finish`
/// (a panic in the renderer, say) fails too: only a finished export ends cleanly.
pub fn channel() -> (Sink, impl Stream<Item = Chunk> + 'static) {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    let body = futures::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        let chunk = match rx.recv().await {
            Some(Message::Data(bytes)) => return Some((Ok(bytes), Some(rx))),
            Some(Message::Done) => return None,
            Some(Message::Failed(why)) => io::Error::other(why),
            None => io::Error::other("the export stopped before it was complete"),
        };
        Some((Err(chunk), None))
    });
    (Sink { tx }, body)
}

/// Bytes the zip writer has produced and the task has not sent yet.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A zip archive written front to back (local headers with data descriptors, the central
/// directory last), so it never needs to seek and can go out while it is being made.
pub struct ZipStream {
    zip: ZipWriter<StreamWriter<SharedBuf>>,
    out: SharedBuf,
    modified: zip::DateTime,
}

impl ZipStream {
    pub fn new(now: DateTime<Utc>) -> Self {
        let out = SharedBuf::default();
        let modified = u16::try_from(now.year())
            .ok()
            .and_then(|y| {
                zip::DateTime::from_date_and_time(
                    y,
                    now.month() as u8,
                    now.day() as u8,
                    now.hour() as u8,
                    now.minute() as u8,
                    now.second() as u8,
                )
                .ok()
            })
            .unwrap_or_default();
        Self {
            zip: ZipWriter::new_stream(out.clone()),
            out,
            modified,
        }
    }

    /// Adds one file. Already-compressed formats (.docx) are stored, the rest deflated.
    pub fn add(&mut self, name: &str, data: &[u8], compress: bool) -> zip::result::ZipResult<()> {
        let options = SimpleFileOptions::default()
            .compression_method(if compress {
                CompressionMethod::Deflated
            } else {
                CompressionMethod::Stored
            })
            .last_modified_time(self.modified)
            .unix_permissions(0o644);
        self.zip.start_file(name, options)?;
        self.zip.write_all(data)?;
        Ok(())
    }

    /// What has been written so far and not taken yet.
    pub fn take(&self) -> Vec<u8> {
        self.out.take()
    }

    /// Writes the central directory; the archive's last bytes.
    pub fn finish(self) -> zip::result::ZipResult<Vec<u8>> {
        self.zip.finish()?;
        Ok(self.out.take())
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn only_a_finished_export_ends_cleanly() {
        let (sink, body) = channel();
        let collect = tokio::spawn(body.collect::<Vec<Chunk>>());
        sink.send(b"a".to_vec()).await.unwrap();
        sink.finish().await;
        let chunks = collect.await.unwrap();
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0].is_ok());

        for how in ["abort", "drop"] {
            let (sink, body) = channel();
            let collect = tokio::spawn(body.collect::<Vec<Chunk>>());
            sink.send(b"a".to_vec()).await.unwrap();
            if how == "abort" {
                sink.abort("boom").await;
            } else {
                drop(sink);
            }
            let chunks = collect.await.unwrap();
            assert_eq!(chunks.len(), 2, "{how}");
            assert!(chunks[1].is_err(), "{how}");
        }
    }

    #[test]
    fn a_streamed_zip_reads_back() {
        let mut zip = ZipStream::new(Utc::now());
        let mut bytes = Vec::new();
        zip.add("01_a.md", b"hello", true).unwrap();
        bytes.extend(zip.take());
        zip.add("02_b.docx", b"world", false).unwrap();
        bytes.extend(zip.take());
        bytes.extend(zip.finish().unwrap());
        let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 2);
        let mut text = String::new();
        io::Read::read_to_string(&mut archive.by_name("01_a.md").unwrap(), &mut text).unwrap();
        assert_eq!(text, "hello");
    }
}
