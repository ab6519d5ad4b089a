//! Text encodings of import files: UTF-8 (with or without a byte-order mark), UTF-16 with its
//! mark (Excel's "Unicode text"), and Windows-1252 (what Excel writes for "CSV" on a French
//! Windows). Recognised from the first bytes, forced with `--encoding`; everything after is read as
//! UTF-8, so the readers know one encoding only.

use std::io::{self, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

impl Encoding {
    /// `--encoding`: `utf-8`, `utf-16`, `utf-16le`, `utf-16be`, `windows-1252` (also `cp1252`,
    /// `latin1`, `iso-8859-1`: French exports call it all of these, and Windows-1252 reads each).
    pub fn parse(s: &str) -> Option<Encoding> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "utf-16" | "utf16" | "utf-16le" | "utf16le" | "ucs-2" => Some(Encoding::Utf16Le),
            "utf-16be" | "utf16be" => Some(Encoding::Utf16Be),
            "windows-1252" | "cp1252" | "win1252" | "latin1" | "latin-1" | "iso-8859-1" | "iso-8859-15" | "ansi" => {
                Some(Encoding::Windows1252)
            }
            _ => None,
        }
    }

    /// [`Encoding::parse`], or why not (what `--encoding` and the API's `encoding` say).
    pub fn parse_named(s: &str) -> Result<Encoding, String> {
        Encoding::parse(s).ok_or_else(|| format!("unknown encoding `{s}` (utf-8, utf-16, utf-16be, windows-1252)"))
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
            Encoding::Windows1252 => "Windows-1252",
        }
    }

    fn codec(self) -> &'static encoding_rs::Encoding {
        match self {
            Encoding::Utf8 => encoding_rs::UTF_8,
            Encoding::Utf16Le => encoding_rs::UTF_16LE,
            Encoding::Utf16Be => encoding_rs::UTF_16BE,
            Encoding::Windows1252 => encoding_rs::WINDOWS_1252,
        }
    }
}

/// The encoding of a file from its first bytes: a byte-order mark says it; without one, bytes
/// that are valid UTF-8 are UTF-8 (a character cut by the end of `head` does not count against
/// it), anything else Windows-1252 (every byte is a character there, so it never fails).
pub fn detect(head: &[u8]) -> Encoding {
    if head.starts_with(b"\xFF\xFE") {
        Encoding::Utf16Le
    } else if head.starts_with(b"\xFE\xFF") {
        Encoding::Utf16Be
    } else {
        match std::str::from_utf8(head) {
            Ok(_) => Encoding::Utf8,
            Err(e) if e.error_len().is_none() => Encoding::Utf8,
            Err(_) => Encoding::Windows1252,
        }
    }
}

/// Bytes in `enc` read as UTF-8. UTF-8 itself passes through untouched (a BOM is the readers'
/// business, as it always was); the byte-order mark of UTF-16 is dropped.
pub fn utf8_reader<'a, R: Read + Send + 'a>(r: R, enc: Encoding) -> Box<dyn Read + Send + 'a> {
    if enc == Encoding::Utf8 {
        return Box::new(r);
    }
    Box::new(Decoded {
        inner: r,
        decoder: enc.codec().new_decoder_with_bom_removal(),
        raw: vec![0; 1 << 16],
        out: Vec::with_capacity(1 << 17),
        at: 0,
        done: false,
    })
}

struct Decoded<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    done: bool,
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.done {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.raw)?;
            let last = n == 0;
            self.out.clear();
            self.at = 0;
            // Room for the worst case of this chunk, so that one call decodes all of it.
            let need = self.decoder.max_utf8_buffer_length(n).unwrap_or(n * 3 + 16);
            self.out.resize(need, 0);
            let (_, read, written, _) = self.decoder.decode_to_utf8(&self.raw[..n], &mut self.out, last);
            debug_assert_eq!(read, n);
            self.out.truncate(written);
            self.done = last;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::utf8_bom(b"\xEF\xBB\xBFdate;sens".as_slice(), Encoding::Utf8)]
    #[case::plain_ascii(b"date,sens".as_slice(), Encoding::Utf8)]
    #[case::utf8_accent_cut_at_the_end(b"r\xC3\xA9ponse \xC3".as_slice(), Encoding::Utf8)]
    #[case::windows_1252_accent(b"R\xE9ponse;Entrant".as_slice(), Encoding::Windows1252)]
    #[case::utf16_le_mark(b"\xFF\xFEd\0a\0".as_slice(), Encoding::Utf16Le)]
    #[case::utf16_be_mark(b"\xFE\xFF\0d\0a".as_slice(), Encoding::Utf16Be)]
    fn encodings_are_recognised_from_the_first_bytes(#[case] head: &[u8], #[case] enc: Encoding) {
        assert_eq!(detect(head), enc);
    }

    #[test]
    fn windows_1252_and_utf16_read_as_utf8() {
        // 0x80 is the euro sign in Windows-1252 (not in Latin-1), 0xE9 `é`, 0x92 a curly apostrophe.
        let mut s = String::new();
        utf8_reader(&b"Caf\xE9 \x80 l\x92eau"[..], Encoding::Windows1252).read_to_string(&mut s).unwrap();
        assert_eq!(s, "Café € l’eau");
        let utf16: Vec<u8> =
            [0xFEFFu16].into_iter().chain("Entrant;é😀".encode_utf16()).flat_map(u16::to_le_bytes).collect();
        let mut s = String::new();
        utf8_reader(&utf16[..], Encoding::Utf16Le).read_to_string(&mut s).unwrap();
        assert_eq!(s, "Entrant;é😀");
    }

    #[test]
    fn a_character_split_across_reads_is_decoded_whole() {
        // One byte at a time: the decoder keeps the half of a UTF-16 pair between reads.
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((&b, rest)) = self.0.split_first() else { return Ok(0) };
                buf[0] = b;
                self.0 = rest;
                Ok(1)
            }
        }
        let bytes: Vec<u8> = "a😀b".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let mut s = String::new();
        utf8_reader(OneByte(&bytes), Encoding::Utf16Be).read_to_string(&mut s).unwrap();
        assert_eq!(s, "a😀b");
    }
}
