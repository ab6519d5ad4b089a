//! ClickHouse's HTTP interface, spoken over one `TcpStream` per query: the store needs POST,
//! a status, a body (chunked or not) and nothing else, so no HTTP client is linked for it.
//!
//! Every query carries `wait_end_of_query=1`: ClickHouse then sends its status only once the
//! query has run, so an error met half-way (a shard that stopped answering) is an error status,
//! never a `200` followed by a cut result.

use crate::StoreError;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// One ClickHouse server's HTTP address, its database and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

fn err(message: impl Into<String>) -> StoreError {
    StoreError::Backend { engine: "ClickHouse", message: message.into() }
}

/// Percent-encodes a query-string value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A ClickHouse string literal: `'…'` with backslashes and quotes escaped (18.16 has no query
/// parameters: values are written into the SQL, always through this).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// What a failed query's body says: ClickHouse 18.16 sends no exception header, the body starts
/// with `Code: N, e.displayText() = …`.
fn failure(status: u16, body: &str) -> StoreError {
    let code = body
        .split_once("Code: ")
        .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|c| c.parse::<u32>().ok());
    let text = body.trim();
    let text: String = text.chars().take(600).collect();
    match code {
        // ALL_CONNECTION_TRIES_FAILED, NETWORK_ERROR, SOCKET_TIMEOUT: a shard is down or cut off.
        Some(279) | Some(210) | Some(209) => err(format!(
            "a shard of the ClickHouse cluster did not answer, so no figure was computed (never one from part of \
             the data): {text}"
        )),
        _ => err(format!("HTTP {status}: {text}")),
    }
}

impl Node {
    /// Sends `sql` (its data, if any, in `body`; else the query itself is the body) and returns
    /// the response's body as a reader, once the server said the query succeeded.
    pub fn post(&self, sql: &str, body: Option<&[u8]>) -> Result<Response, StoreError> {
        self.send(sql, body, None, "")
    }

    /// [`Self::post`] of a query alone, with `settings` (`&name=value…`) added to the URL.
    pub fn post_with(&self, sql: &str, settings: &str) -> Result<Response, StoreError> {
        self.send(sql, None, None, settings)
    }

    /// Runs `sql` with a table of strings named `name` (one column `id`) sent beside it as
    /// external data: a lookup of thousands of ids names them in `IN name` instead of writing
    /// them into the SQL, which ClickHouse would parse on every shard (ten times slower).
    pub fn post_with_ids(&self, sql: &str, name: &str, ids: &[&str]) -> Result<Response, StoreError> {
        self.post_with_ids_and(sql, name, ids, "")
    }

    /// [`Self::post_with_ids`] with `settings` (`&name=value…`) added to the URL.
    pub fn post_with_ids_and(
        &self,
        sql: &str,
        name: &str,
        ids: &[&str],
        settings: &str,
    ) -> Result<Response, StoreError> {
        let boundary = "barometre-7e3c9f0a51d2";
        let mut body = Vec::with_capacity(ids.iter().map(|i| i.len() + 1).sum::<usize>() + 256);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        for id in ids {
            // TabSeparated: backslash, tab and line breaks escaped.
            for b in id.bytes() {
                match b {
                    b'\\' => body.extend_from_slice(b"\\\\"),
                    b'\t' => body.extend_from_slice(b"\\t"),
                    b'\n' => body.extend_from_slice(b"\\n"),
                    b'\r' => body.extend_from_slice(b"\\r"),
                    b => body.push(b),
                }
            }
            body.push(b'\n');
        }
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let extra = format!("&{name}_structure=id%20String&{name}_format=TabSeparated");
        self.send(sql, Some(&body), Some((&extra, &format!("multipart/form-data; boundary={boundary}"))), settings)
    }

    fn send(
        &self,
        sql: &str,
        body: Option<&[u8]>,
        form: Option<(&str, &str)>,
        settings: &str,
    ) -> Result<Response, StoreError> {
        // Every statement names its tables with their database: none is chosen here (the
        // database may not exist yet).
        let mut path = String::from(
            "/?wait_end_of_query=1&insert_distributed_sync=1&max_query_size=104857600\
             &distributed_aggregation_memory_efficient=1&max_bytes_before_external_group_by=2000000000\
             &max_bytes_before_external_sort=2000000000",
        );
        if let Some(u) = &self.user {
            path.push_str(&format!("&user={}", encode(u)));
        }
        if let Some(p) = &self.password {
            path.push_str(&format!("&password={}", encode(p)));
        }
        if let Some((extra, _)) = form {
            path.push_str(extra);
        }
        path.push_str(settings);
        let payload: &[u8] = match body {
            Some(b) => {
                path.push_str(&format!("&query={}", encode(sql)));
                b
            }
            None => sql.as_bytes(),
        };
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| err(format!("{}:{}: {e}", self.host, self.port)))?
            .next()
            .ok_or_else(|| err(format!("{}:{}: no address", self.host, self.port)))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| err(format!("cannot reach ClickHouse at {}:{}: {e}", self.host, self.port)))?;
        // Reports over years may run minutes; a server that says nothing for 10 is gone.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(600)));
        let _ = stream.set_nodelay(true);
        let mut w = std::io::BufWriter::with_capacity(1 << 16, &stream);
        let io = |e: std::io::Error| err(format!("{}:{}: {e}", self.host, self.port));
        let content_type = form.map_or(String::new(), |(_, t)| format!("Content-Type: {t}\r\n"));
        write!(
            w,
            "POST {path} HTTP/1.1\r\nHost: {}:{}\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.host,
            self.port,
            payload.len()
        )
        .map_err(io)?;
        w.write_all(payload).map_err(io)?;
        w.flush().map_err(io)?;
        drop(w);
        let mut r = BufReader::with_capacity(1 << 16, stream);
        let mut line = String::new();
        r.read_line(&mut line).map_err(io)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| err(format!("not an HTTP answer from {}:{}: {line:?}", self.host, self.port)))?;
        let (mut chunked, mut length) = (false, None);
        loop {
            line.clear();
            r.read_line(&mut line).map_err(io)?;
            let h = line.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                } else if k == "content-length" {
                    length = v.parse::<u64>().ok();
                }
            }
        }
        let mut resp = Response { r, chunked, left: length, chunk_left: 0, done: false };
        if status != 200 {
            let mut text = String::new();
            let _ = (&mut resp).take(1 << 20).read_to_string(&mut text);
            return Err(failure(status, &text));
        }
        Ok(resp)
    }

    /// Runs a statement whose answer is not needed.
    pub fn exec(&self, sql: &str) -> Result<(), StoreError> {
        let mut r = self.post(sql, None)?;
        std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| err(e.to_string()))?;
        Ok(())
    }

    /// Runs a query and returns its whole answer as text (small answers only).
    pub fn text(&self, sql: &str) -> Result<String, StoreError> {
        let mut r = self.post(sql, None)?;
        let mut s = String::new();
        r.read_to_string(&mut s).map_err(|e| err(e.to_string()))?;
        Ok(s)
    }
}

/// A response's body: reads through chunked transfer encoding or a length.
pub struct Response {
    r: BufReader<TcpStream>,
    chunked: bool,
    left: Option<u64>,
    chunk_left: u64,
    done: bool,
}

impl Read for Response {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if !self.chunked {
            return match self.left {
                Some(0) => Ok(0),
                Some(n) => {
                    let k = (buf.len() as u64).min(n) as usize;
                    let got = self.r.read(&mut buf[..k])?;
                    if got == 0 {
                        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "answer cut short"));
                    }
                    self.left = Some(n - got as u64);
                    Ok(got)
                }
                None => self.r.read(buf),
            };
        }
        if self.chunk_left == 0 {
            let mut line = String::new();
            self.r.read_line(&mut line)?;
            if line.trim().is_empty() {
                // The CRLF that ends the previous chunk.
                line.clear();
                self.r.read_line(&mut line)?;
            }
            let size = line.trim().split(';').next().unwrap_or("");
            let n = u64::from_str_radix(size, 16).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad chunk size {line:?}"))
            })?;
            if n == 0 {
                self.done = true;
                return Ok(0);
            }
            self.chunk_left = n;
        }
        let k = (buf.len() as u64).min(self.chunk_left) as usize;
        let got = self.r.read(&mut buf[..k])?;
        if got == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "answer cut short"));
        }
        self.chunk_left -= got as u64;
        Ok(got)
    }
}

/// Writes rows in ClickHouse's RowBinary format: strings as LEB128 length and bytes, integers
/// little-endian.
#[derive(Default)]
pub struct RowBinary(pub Vec<u8>);

impl RowBinary {
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        let mut n = b.len() as u64;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(byte);
                break;
            }
            self.0.push(byte | 0x80);
        }
        self.0.extend_from_slice(b);
        self
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
}

/// Reads RowBinary answers.
pub struct Rows<R: Read> {
    r: BufReader<R>,
}

impl<R: Read> Rows<R> {
    pub fn new(r: R) -> Rows<R> {
        Rows { r: BufReader::with_capacity(1 << 16, r) }
    }
    /// Whether another row follows.
    pub fn more(&mut self) -> Result<bool, StoreError> {
        Ok(!self.r.fill_buf().map_err(|e| err(e.to_string()))?.is_empty())
    }
    fn exact(&mut self, buf: &mut [u8]) -> Result<(), StoreError> {
        self.r.read_exact(buf).map_err(|e| err(format!("reading an answer: {e}")))
    }
    pub fn bytes(&mut self) -> Result<Vec<u8>, StoreError> {
        let mut n = 0u64;
        let mut shift = 0;
        loop {
            let mut b = [0u8];
            self.exact(&mut b)?;
            n |= u64::from(b[0] & 0x7f) << shift;
            if b[0] & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err(StoreError::Corrupt("string length over 64 bits".into()));
            }
        }
        let mut v = vec![0u8; n as usize];
        self.exact(&mut v)?;
        Ok(v)
    }
    pub fn str(&mut self) -> Result<String, StoreError> {
        String::from_utf8(self.bytes()?).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    pub fn u8(&mut self) -> Result<u8, StoreError> {
        let mut b = [0u8; 1];
        self.exact(&mut b)?;
        Ok(b[0])
    }
    pub fn u32(&mut self) -> Result<u32, StoreError> {
        let mut b = [0u8; 4];
        self.exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    pub fn u64(&mut self) -> Result<u64, StoreError> {
        let mut b = [0u8; 8];
        self.exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    pub fn i64(&mut self) -> Result<i64, StoreError> {
        Ok(self.u64()? as i64)
    }
    pub fn f64(&mut self) -> Result<f64, StoreError> {
        Ok(f64::from_bits(self.u64()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_with_their_quotes_and_backslashes_escaped() {
        assert_eq!(quote(r"l'a\b"), r"'l\'a\\b'");
    }

    #[test]
    fn row_binary_lengths_are_leb128() {
        let mut w = RowBinary::default();
        w.str(&"x".repeat(300));
        assert_eq!(&w.0[..2], &[0xac, 0x02]);
        let mut r = Rows::new(&w.0[..]);
        assert_eq!(r.str().unwrap().len(), 300);
        assert!(!r.more().unwrap());
    }

    #[test]
    fn a_dead_shard_is_said_so() {
        let e = failure(500, "Code: 279, e.displayText() = DB::NetException: All connection tries failed.");
        assert!(e.to_string().contains("a shard of the ClickHouse cluster did not answer"), "{e}");
        let e = failure(500, "Code: 60, e.displayText() = DB::Exception: Table x doesn't exist.");
        assert!(e.to_string().contains("Code: 60"), "{e}");
    }
}
