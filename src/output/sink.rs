//! The one way commands write what they print: standard output or an `--output-file`.
//!
//! A write that fails (a full disk, `> /dev/full`, a closed pipe) becomes a [`WriteError`] that
//! names where the output was going; the CLI reports it and exits 2. Nothing here panics (`print!`
//! does, when stdout cannot be written).

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where the output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    File(PathBuf),
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dest::Stdout => f.write_str("standard output"),
            Dest::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A write that failed, with where it was going.
#[derive(Debug)]
pub struct WriteError {
    pub dest: Dest,
    pub err: io::Error,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write {}: {}", self.dest, self.err)
    }
}

impl std::error::Error for WriteError {}

/// Buffered output to stdout or a file. Call [`Sink::finish`] at the end: buffered bytes are
/// written then, and a failure there is an error like any other.
pub struct Sink {
    w: io::BufWriter<Box<dyn Write>>,
    dest: Dest,
    color: bool,
}

impl Sink {
    /// Standard output; colours only on a terminal that wants them (`NO_COLOR`,
    /// `CLICOLOR_FORCE`).
    pub fn stdout() -> Sink {
        let color = anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never;
        Sink {
            w: io::BufWriter::new(Box::new(io::stdout().lock())),
            dest: Dest::Stdout,
            color,
        }
    }

    /// `--output-file FILE` (its directory is created), or stdout when `None`. A file never gets
    /// colours.
    pub fn open(file: Option<&Path>) -> Result<Sink, WriteError> {
        let Some(p) = file else {
            return Ok(Sink::stdout());
        };
        let dest = Dest::File(p.to_path_buf());
        if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(parent);
        }
        match std::fs::File::create(p) {
            Ok(f) => Ok(Sink {
                w: io::BufWriter::new(Box::new(f)),
                dest,
                color: false,
            }),
            Err(err) => Err(WriteError { dest, err }),
        }
    }

    /// Should the output use colours?
    pub fn color(&self) -> bool {
        self.color
    }

    pub fn dest(&self) -> &Dest {
        &self.dest
    }

    /// The error of a failed write to this sink (for writers that report a plain `io::Error`).
    pub fn error(&self, err: io::Error) -> WriteError {
        WriteError {
            dest: self.dest.clone(),
            err,
        }
    }

    /// Write a whole string.
    pub fn write_str(&mut self, s: &str) -> Result<(), WriteError> {
        let r = self.w.write_all(s.as_bytes());
        r.map_err(|e| self.error(e))
    }

    /// Run a renderer that writes to a `dyn Write`; its error names this sink's destination.
    pub fn with<F>(&mut self, f: F) -> Result<(), WriteError>
    where
        F: FnOnce(&mut dyn Write) -> io::Result<()>,
    {
        let r = f(&mut self.w);
        r.map_err(|e| self.error(e))
    }

    /// Flush everything (the last chance for a write to fail).
    pub fn finish(mut self) -> Result<(), WriteError> {
        let r = self.w.flush();
        r.map_err(|e| self.error(e))
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn full_device_error_names_the_path() {
        let mut s = Sink::open(Some(Path::new("/dev/full"))).unwrap();
        // Buffered: the error comes at the latest with `finish`.
        let e = s
            .write_str(&"x".repeat(100_000))
            .err()
            .or_else(|| s.finish().err())
            .unwrap();
        let msg = e.to_string();
        assert!(msg.starts_with("cannot write /dev/full: "), "{msg}");
        assert!(msg.contains("No space left on device"), "{msg}");
    }

    #[test]
    fn missing_directory_is_created_and_unwritable_path_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/out.txt");
        let mut s = Sink::open(Some(&p)).unwrap();
        s.write_str("hi\n").unwrap();
        s.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "hi\n");
        let e = Sink::open(Some(dir.path())).err().unwrap();
        assert!(e
            .to_string()
            .starts_with(&format!("cannot write {}: ", dir.path().display())));
    }
}
