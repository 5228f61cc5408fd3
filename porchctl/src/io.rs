//! The three standard streams of one porchctl invocation.
//!
//! Commands write into in-memory buffers; the binary copies them to the real streams at the end.
//! This keeps every command testable in-process and byte-exact.

use std::io::Read;

/// Standard input and captured standard output/error of one invocation.
pub struct Io {
    /// Where `push -` (and `push NAME` without a directory) read from.
    pub stdin: Box<dyn Read + Send>,
    /// Everything the command printed on stdout.
    pub stdout: Vec<u8>,
    /// Everything the command printed on stderr.
    pub stderr: Vec<u8>,
}

impl Io {
    /// Streams with the given stdin and empty outputs.
    pub fn new(stdin: Box<dyn Read + Send>) -> Self {
        Io {
            stdin,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// Streams with an empty stdin.
    pub fn empty() -> Self {
        Io::new(Box::new(std::io::empty()))
    }

    /// Streams whose stdin yields `text`.
    pub fn with_stdin(text: &str) -> Self {
        Io::new(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())))
    }

    /// Appends to stdout.
    pub fn out(&mut self, text: &str) {
        self.stdout.extend_from_slice(text.as_bytes());
    }

    /// Appends to stderr.
    pub fn err(&mut self, text: &str) {
        self.stderr.extend_from_slice(text.as_bytes());
    }

    /// Stdout as text (lossy), for tests and the binary.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as text (lossy), for tests and the binary.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Reads all of stdin.
    pub fn read_stdin(&mut self) -> std::io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.stdin.read_to_end(&mut buf)?;
        Ok(buf)
    }
}
