//! `bacowr-api health` and `bacowr-worker health`: the container healthcheck, without curl in
//! the image. One plain HTTP/1.1 GET of `/health` on the process's own listener.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// `Ok` if `GET /health` on `addr` answers 200 within two seconds. A wildcard address
/// (`0.0.0.0`, `::`) is probed on loopback, where the process also listens.
pub async fn health(addr: SocketAddr) -> Result<(), String> {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let probe = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let mut head = [0u8; 32];
        let n = stream
            .read(&mut head)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let line = String::from_utf8_lossy(&head[..n]);
        if line.starts_with("HTTP/1.1 200") || line.starts_with("HTTP/1.0 200") {
            Ok(())
        } else {
            Err(format!(
                "{addr}: /health answered {:?}",
                line.lines().next().unwrap_or("")
            ))
        }
    };
    tokio::time::timeout(Duration::from_secs(2), probe)
        .await
        .map_err(|_| format!("{addr}: /health did not answer within 2 s"))?
}

/// The exit code of a `health` subcommand, with the reason on stderr.
pub async fn health_exit_code(binary: &str, addr: Result<SocketAddr, String>) -> i32 {
    match addr {
        Ok(addr) => match health(addr).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{binary}: unhealthy: {e}");
                1
            }
        },
        Err(e) => {
            eprintln!("{binary}: {e}");
            2
        }
    }
}
