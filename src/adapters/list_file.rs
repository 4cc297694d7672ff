//! A list the operator hands `call-events-dnc` (a dial list to scrub, a DNC list to
//! import), read row by row: a CSV parser finds each row's fields and where the row ends,
//! and a second reader copies the row's exact bytes (line ending, quoting, encoding and
//! all), so a row can be written back, or kept as evidence, exactly as it was.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::core::dial_list::{Layout, without_line_ending};

/// The list, row by row, each with its exact bytes.
pub struct ListRows {
    parser: csv::Reader<BufReader<File>>,
    exact: BufReader<File>,
    /// Bytes of the file handed out so far (as rows, or the header).
    consumed: u64,
    /// Line breaks in those bytes (CRLF, LF or a lone CR: one each), and whether the last
    /// byte was a CR (an LF after it ends the same line).
    breaks: u64,
    after_cr: bool,
    record: csv::ByteRecord,
}

impl ListRows {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let parser = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(BufReader::new(File::open(path)?));
        Ok(Self {
            parser,
            exact: BufReader::new(File::open(path)?),
            consumed: 0,
            breaks: 0,
            after_cr: false,
            record: csv::ByteRecord::new(),
        })
    }

    /// The next row's line, fields (in `self.record`) and exact bytes (with any blank
    /// lines before it, which the parser passes over). The line is the physical line the
    /// row starts on, counted from 1, whatever the line endings (CRLF, LF, a lone CR, mixed)
    /// and however many line breaks the quoted fields before it hold.
    pub fn next_row(&mut self) -> Result<Option<(u64, Vec<u8>)>, String> {
        let read = self
            .parser
            .read_byte_record(&mut self.record)
            .map_err(|e| format!("not a readable CSV: {e}"))?;
        if !read {
            return Ok(None);
        }
        let end = self.parser.position().byte();
        let mut raw = self.take(end.saturating_sub(self.consumed))?;
        // The parser ends a CRLF row at its CR (it passes over the LF with the next read):
        // the LF is the row's.
        if raw.ends_with(b"\r") && self.peek()? == Some(b'\n') {
            raw.extend(self.take(1)?);
        }
        let blank = raw
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let line = 1 + self.breaks + self.count_breaks(&raw[..blank]);
        self.breaks = line - 1 + self.count_breaks(&raw[blank..]);
        Ok(Some((line, raw)))
    }

    /// Line breaks in `bytes`, which follow what was counted before.
    fn count_breaks(&mut self, bytes: &[u8]) -> u64 {
        let mut breaks = 0;
        for &b in bytes {
            breaks += u64::from(b == b'\r' || (b == b'\n' && !self.after_cr));
            self.after_cr = b == b'\r';
        }
        breaks
    }

    /// What follows the last row (blank lines), exactly.
    pub fn rest(&mut self) -> Result<Vec<u8>, String> {
        let mut rest = Vec::new();
        self.exact
            .read_to_end(&mut rest)
            .map_err(|e| format!("cannot read: {e}"))?;
        Ok(rest)
    }

    fn peek(&mut self) -> Result<Option<u8>, String> {
        use std::io::BufRead;
        let buffered = self
            .exact
            .fill_buf()
            .map_err(|e| format!("cannot read: {e}"))?;
        Ok(buffered.first().copied())
    }

    fn take(&mut self, len: u64) -> Result<Vec<u8>, String> {
        let mut raw = vec![0; usize::try_from(len).map_err(|e| e.to_string())?];
        self.exact
            .read_exact(&mut raw)
            .map_err(|e| format!("cannot read: {e}"))?;
        self.consumed += len;
        Ok(raw)
    }

    pub fn fields(&self) -> Vec<String> {
        self.record
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    /// The last row's field `column` (empty when it has none).
    pub fn field(&self, column: usize) -> String {
        self.record
            .get(column)
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .unwrap_or_default()
    }

    /// The last row's phone as written, by the layout (`raw` its exact bytes): a one-phone
    /// line that the CSV parser split at a comma is the whole line.
    pub fn phone_value(&self, layout: &Layout, raw: &[u8]) -> String {
        match layout {
            Layout::Header { column } => self.field(*column),
            Layout::OnePerLine if self.record.len() == 1 => self.field(0),
            Layout::OnePerLine => String::from_utf8_lossy(without_line_ending(raw)).into_owned(),
        }
    }

    /// Bytes of the file handed out so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8]) -> Vec<(u64, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.csv");
        std::fs::write(&path, text).unwrap();
        let mut rows = ListRows::open(&path).unwrap();
        let mut out = Vec::new();
        while let Some((line, raw)) = rows.next_row().unwrap() {
            out.push((line, String::from_utf8_lossy(&raw).into_owned()));
        }
        out
    }

    #[test]
    fn each_row_has_the_physical_line_it_starts_on_whatever_the_line_endings() {
        let numbers = |text: &[u8]| lines(text).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(numbers(b"phone\n+1202\n+1203\n"), [1, 2, 3]);
        assert_eq!(numbers(b"phone\r\n+1202\r\n+1203\r\n"), [1, 2, 3]);
        assert_eq!(numbers(b"phone\r\n+1202\n+1203\r\n+1204"), [1, 2, 3, 4]);
        assert_eq!(numbers(b"phone\r+1202\r+1203"), [1, 2, 3]);
        // Blank lines are lines; a row starts after them.
        assert_eq!(numbers(b"phone\r\n\r\n\n+1202\r\n"), [1, 4]);
        // A quoted field's line breaks are lines too.
        assert_eq!(
            numbers(b"phone,note\r\n+1202,\"two\r\nlines\"\r\n+1203,\"a\nb\nc\"\n+1204,x"),
            [1, 2, 4, 7]
        );
        // The last line without an ending keeps its bytes exactly.
        let last = lines(b"phone\r\n+1202");
        assert_eq!(last[1], (2, "+1202".to_owned()));
    }
}
