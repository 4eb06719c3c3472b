//! A client's byte stream as the connection task reads and writes it: plain TCP read by
//! readiness (no buffer while idle), TLS and WebSocket through their own buffers; reads sized
//! by how much the last one brought.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A client's byte stream: TCP, TLS or WebSocket, all served the same way.
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> ByteStream for T {}

/// The accepted socket. Plain TCP is read by readiness (no buffer while idle); the others
/// through their own buffers.
pub enum ClientStream {
    Tcp(TcpStream),
    Other(Box<dyn ByteStream>),
}

impl ClientStream {
    /// Reads what is available into `buf`; 0 means the peer closed.
    pub(super) async fn read(
        &mut self,
        buf: &mut BytesMut,
        hint: &mut usize,
    ) -> std::io::Result<usize> {
        match self {
            ClientStream::Tcp(stream) => loop {
                stream.readable().await?;
                reserve(buf, *hint);
                let spare = buf.capacity() - buf.len();
                match stream.try_read_buf(buf) {
                    Ok(n) => {
                        adapt(hint, n, spare);
                        return Ok(n);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            },
            ClientStream::Other(stream) => {
                reserve(buf, *hint);
                let spare = buf.capacity() - buf.len();
                let n = stream.read_buf(buf).await?;
                adapt(hint, n, spare);
                Ok(n)
            }
        }
    }

    pub(super) async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            ClientStream::Tcp(stream) => stream.write_all(bytes).await,
            ClientStream::Other(stream) => {
                stream.write_all(bytes).await?;
                stream.flush().await
            }
        }
    }

    pub(super) async fn shutdown(&mut self) {
        let _ = match self {
            ClientStream::Tcp(stream) => stream.shutdown().await,
            ClientStream::Other(stream) => stream.shutdown().await,
        };
    }
}

pub(super) const MIN_READ: usize = 2 * 1024;
const MAX_READ: usize = 256 * 1024;

fn reserve(buf: &mut BytesMut, hint: usize) {
    if buf.capacity() - buf.len() < MIN_READ {
        buf.reserve(hint.max(MIN_READ));
    }
}

/// Grows the next read when this one filled its space, shrinks it when reads are small.
fn adapt(hint: &mut usize, read: usize, spare: usize) {
    if read >= spare {
        *hint = (*hint * 2).min(MAX_READ);
    } else if read < *hint / 4 {
        *hint = (*hint / 2).max(MIN_READ);
    }
}
