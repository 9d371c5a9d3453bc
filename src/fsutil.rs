//! Writing files without losing data.
//!
//! Every file bricklint writes (`check --fix`, `migrate --write`) goes through [`atomic_write`]:
//! the new bytes go to a temporary file in the same directory, which is flushed to disk and then
//! renamed over the target. A crash, a kill or a full disk at any moment leaves the target either
//! with its old bytes or with its new bytes, never a mix, and never empty.
//!
//! ## Fault injection
//! Tests (and anyone who wants to see it for themselves) can make a write abort the process at a
//! chosen point with the environment variable `BRICKLINT_FAULT_INJECT=<point>:<n>`, where `<n>`
//! is the 1-based number of the `atomic_write` call in this process and `<point>` is one of:
//! - `before-temp-write`: before the temporary file is created;
//! - `mid-temp-write`: after half of the bytes reached the temporary file;
//! - `after-temp-write`: after the temporary file is complete and synced, before the rename;
//! - `after-rename`: after the rename (the new version is in place).
//!
//! Several faults may be given, separated by commas. The process aborts (`SIGABRT`, as a crash
//! would), so no destructor or cleanup runs.
//!
//! `BRICKLINT_FAULT_INJECT=panic` makes the command panic before it starts, outside every
//! per-file guard: the way to see (and test) the exit-2 "internal error" report.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Environment variable read for fault injection (see the module documentation).
pub const FAULT_ENV: &str = "BRICKLINT_FAULT_INJECT";

/// Points of [`atomic_write`] where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    BeforeTempWrite,
    MidTempWrite,
    AfterTempWrite,
    AfterRename,
}

impl FaultPoint {
    fn parse(s: &str) -> Option<FaultPoint> {
        Some(match s {
            "before-temp-write" => FaultPoint::BeforeTempWrite,
            "mid-temp-write" => FaultPoint::MidTempWrite,
            "after-temp-write" => FaultPoint::AfterTempWrite,
            "after-rename" => FaultPoint::AfterRename,
            _ => return None,
        })
    }
}

/// Parse a fault specification (`after-temp-write:3,after-rename:5`). Unknown entries are
/// ignored, so a typo never breaks a real run.
pub fn parse_faults(spec: &str) -> Vec<(FaultPoint, u64)> {
    spec.split(',')
        .filter_map(|item| {
            let (p, n) = item.trim().split_once(':')?;
            Some((FaultPoint::parse(p.trim())?, n.trim().parse().ok()?))
        })
        .collect()
}

/// Was a panic asked for (`BRICKLINT_FAULT_INJECT=panic`)?
pub fn panic_injected() -> bool {
    std::env::var(FAULT_ENV).is_ok_and(|s| s.split(',').any(|f| f.trim() == "panic"))
}

fn faults() -> &'static [(FaultPoint, u64)] {
    static FAULTS: OnceLock<Vec<(FaultPoint, u64)>> = OnceLock::new();
    FAULTS.get_or_init(|| {
        std::env::var(FAULT_ENV)
            .map(|s| parse_faults(&s))
            .unwrap_or_default()
    })
}

/// Number of `atomic_write` calls so far in this process.
static WRITES: AtomicU64 = AtomicU64::new(0);

fn maybe_fault(point: FaultPoint, call: u64) {
    if faults().iter().any(|&(p, n)| p == point && n == call) {
        // Simulate a crash: no unwinding, no cleanup.
        let _ = writeln!(
            io::stderr(),
            "bricklint: fault injected ({point:?}, write #{call}); aborting"
        );
        std::process::abort();
    }
}

/// Temporary files are hidden and carry this marker, so leftovers of a crash are easy to spot
/// (`find . -name '.*.bricklint-tmp'`) and are never analysed (no notebook extension).
const TEMP_SUFFIX: &str = "bricklint-tmp";

fn temp_path(dir: &Path, name: &str, attempt: u32) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(
        ".{name}.{}.{n}.{attempt}.{TEMP_SUFFIX}",
        std::process::id()
    ))
}

/// The file that will really be replaced: a symlink is followed, so the link stays a link and
/// its target gets the new bytes.
fn real_target(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path),
        Ok(m) if m.is_dir() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is a directory", path.display()),
        )),
        _ => Ok(path.to_path_buf()),
    }
}

/// Replace (or create) `path` with `bytes` atomically: temp file in the same directory, fsync,
/// rename over the target, fsync of the directory. The target's permissions are kept; a new
/// file gets the default permissions (0666 minus the umask). On error the target is untouched
/// and the temporary file is removed.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let staged = stage(path, bytes)?;
    commit(&staged)
}

/// A file's new bytes written and synced to a temporary file beside it, not yet in place:
/// [`commit`] renames it over the target. `bricklint migrate` stages every file of one
/// migration before it commits any (with a journal, so an interruption can be finished).
#[derive(Debug, Clone)]
pub struct Staged {
    /// The temporary file (hidden, named `.<name>.<pid>.<n>.<attempt>.bricklint-tmp`).
    pub temp: PathBuf,
    /// The file it replaces (a symlink's target: the link stays a link).
    pub target: PathBuf,
    /// The number of the write, for fault injection.
    call: u64,
}

/// Write `bytes` to a temporary file beside `path` and sync it (the first half of
/// [`atomic_write`]). On error nothing is left behind.
pub fn stage(path: &Path, bytes: &[u8]) -> io::Result<Staged> {
    let call = WRITES.fetch_add(1, Ordering::SeqCst) + 1;
    let target = real_target(path)?;
    let dir = parent_dir(&target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} has no file name", path.display()),
            )
        })?;
    let old_perms = fs::metadata(&target).ok().map(|m| m.permissions());

    maybe_fault(FaultPoint::BeforeTempWrite, call);
    let (tmp, mut file) = create_temp(&dir, &name)?;
    let result = (|| -> io::Result<()> {
        if faults()
            .iter()
            .any(|&(p, n)| p == FaultPoint::MidTempWrite && n == call)
        {
            file.write_all(&bytes[..bytes.len() / 2])?;
            file.sync_all()?;
            maybe_fault(FaultPoint::MidTempWrite, call);
        }
        file.write_all(bytes)?;
        if let Some(p) = &old_perms {
            file.set_permissions(p.clone())?;
        }
        file.sync_all()?;
        Ok(())
    })();
    drop(file);
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    maybe_fault(FaultPoint::AfterTempWrite, call);
    Ok(Staged {
        temp: tmp,
        target,
        call,
    })
}

/// Rename a staged file over its target and sync the directory (the second half of
/// [`atomic_write`]). On error the temporary file is removed and the target is untouched.
pub fn commit(staged: &Staged) -> io::Result<()> {
    if let Err(e) = fs::rename(&staged.temp, &staged.target) {
        let _ = fs::remove_file(&staged.temp);
        return Err(e);
    }
    sync_dir(&parent_dir(&staged.target));
    maybe_fault(FaultPoint::AfterRename, staged.call);
    Ok(())
}

/// Rename a temporary file left by an interrupted run over its target (finishing a
/// journalled migration), and sync the directory.
pub fn rename_durably(temp: &Path, target: &Path) -> io::Result<()> {
    fs::rename(temp, target)?;
    sync_dir(&parent_dir(target));
    Ok(())
}

/// Is this the name of a temporary file of [`stage`] (`.<name>.<pid>.<n>.<attempt>.bricklint-tmp`)?
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(&format!(".{TEMP_SUFFIX}"))
}

fn parent_dir(target: &Path) -> PathBuf {
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let mut attempt = 0;
    loop {
        let tmp = temp_path(dir, name, attempt);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Make the rename durable (best effort: not every platform can open a directory).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

// ---------------------------------------------------------------------------------------------
// Reading inputs named on the command line.

/// Default of `[limits] max-file-bytes`: the most bricklint reads of one file (64 MiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The limit [`read_input`] applies; set once the configuration is known ([`set_input_limit`]).
static INPUT_LIMIT: AtomicU64 = AtomicU64::new(DEFAULT_MAX_FILE_BYTES);

/// Set the size limit of [`read_input`] (the CLI sets `[limits] max-file-bytes` once the
/// configuration is read; the configuration file itself is read with the default).
pub fn set_input_limit(bytes: u64) {
    INPUT_LIMIT.store(bytes, Ordering::Relaxed);
}

pub fn input_limit() -> u64 {
    INPUT_LIMIT.load(Ordering::Relaxed)
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("larger than {limit} bytes, the limit of `[limits] max-file-bytes`; not read"),
    )
}

/// What a path that is not a regular file is, for the message that refuses it.
fn kind_of(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Open `path` for reading without blocking on a FIFO (a FIFO with no writer would block
/// `open` forever): non-blocking open, then the type is checked on the open file.
pub fn open_regular(path: &Path) -> io::Result<(File, fs::Metadata)> {
    let mut o = OpenOptions::new();
    o.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK);
    }
    #[cfg(not(target_os = "linux"))]
    {
        let m = fs::metadata(path)?;
        if !m.is_file() {
            return Err(not_regular(&m.file_type()));
        }
    }
    let f = o.open(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(not_regular(&m.file_type()));
    }
    Ok((f, m))
}

fn not_regular(t: &fs::FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}, not a regular file", kind_of(t)),
    )
}

/// Read at most `limit` bytes from `r`; more is an error.
fn read_capped(r: impl io::Read, limit: u64, hint: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(hint.min(limit) as usize + 1);
    io::Read::read_to_end(&mut r.take(limit.saturating_add(1)), &mut buf)?;
    if buf.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(buf)
}

/// Read a file named on the command line or in the configuration (`--config`, `payload FILE`,
/// `--schema`, `--bundle-schema`, `plan --inputs`, ...): regular files only (a FIFO, a device or
/// a directory is refused at once, never read or waited on), at most `[limits] max-file-bytes`.
/// The error does not repeat the path: callers say which input it was.
pub fn read_input(path: &Path) -> io::Result<Vec<u8>> {
    let limit = input_limit();
    let (f, m) = open_regular(path)?;
    if m.len() > limit {
        return Err(too_large(limit));
    }
    // The file may grow after `fstat`: the read is capped all the same.
    read_capped(f, limit, m.len())
}

/// [`read_input`] as UTF-8 text; bad UTF-8 is reported with its line and column.
pub fn read_input_string(path: &Path) -> io::Result<String> {
    text_of(read_input(path)?)
}

/// Standard input, at most `[limits] max-file-bytes`.
pub fn read_stdin() -> io::Result<Vec<u8>> {
    read_capped(io::stdin().lock(), input_limit(), 0)
}

/// Bytes as UTF-8 text, or an error naming the line and column of the first bad byte.
pub fn text_of(bytes: Vec<u8>) -> io::Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let (line, column) = line_col(&e.as_bytes()[..valid]);
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 (invalid byte at line {line}, column {column})"),
        )
    })
}

/// 1-based line and column (in characters) of the end of `before`.
pub fn line_col(before: &[u8]) -> (usize, usize) {
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.py");
        atomic_write(&p, b"one").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        atomic_write(&p, b"two, longer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two, longer");
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.py")]);
    }

    #[cfg(unix)]
    #[test]
    fn keeps_permissions_and_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("run.sh");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o751)).unwrap();
        atomic_write(&p, b"new").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o751
        );

        let link = dir.path().join("link.sh");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        atomic_write(&link, b"via link").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&p).unwrap(), b"via link");
    }

    #[test]
    fn error_leaves_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let err = atomic_write(dir.path(), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let missing = dir.path().join("no/such/dir/a.py");
        assert!(atomic_write(&missing, b"x").is_err());
    }

    #[test]
    fn inputs_are_capped_and_only_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.json");
        fs::write(&p, "[1, 2]").unwrap();
        assert_eq!(read_input(&p).unwrap(), b"[1, 2]");
        let e = read_input(dir.path()).unwrap_err().to_string();
        assert_eq!(e, "a directory, not a regular file");
        assert!(read_input(&dir.path().join("missing")).is_err());
        let big = dir.path().join("big");
        fs::write(&big, vec![b' '; 100]).unwrap();
        assert_eq!(read_capped(&b"0123456789"[..], 10, 0).unwrap().len(), 10);
        let e = read_capped(&b"0123456789x"[..], 10, 0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("`[limits] max-file-bytes`"), "{e}");
        #[cfg(target_os = "linux")]
        {
            let e = read_input(Path::new("/dev/zero")).unwrap_err().to_string();
            assert_eq!(e, "a character device, not a regular file");
        }
    }

    #[test]
    fn bad_utf8_is_located() {
        let e = text_of(b"ab\ncd\xffe".to_vec()).unwrap_err().to_string();
        assert_eq!(e, "not UTF-8 (invalid byte at line 2, column 3)");
        assert_eq!(line_col("é\nxé".as_bytes()), (2, 3));
    }

    #[test]
    fn fault_specs_parse() {
        assert_eq!(
            parse_faults("after-temp-write:3, after-rename:1,bogus:2,mid-temp-write:x"),
            vec![
                (FaultPoint::AfterTempWrite, 3),
                (FaultPoint::AfterRename, 1)
            ]
        );
        assert!(parse_faults("").is_empty());
    }
}

/// Answers "is this a file?" for many candidate paths (module and `%run` resolution probe a
/// dozen per import) from one `read_dir` per directory instead of one `stat` per candidate.
/// Meant for one pass: it does not see files created after a directory was listed.
#[derive(Debug, Default)]
pub struct DirCache {
    dirs: std::sync::Mutex<
        crate::fasthash::HashMap<
            crate::fasthash::PathKey,
            Option<std::sync::Arc<crate::fasthash::HashSet<std::ffi::OsString>>>,
        >,
    >,
}

impl DirCache {
    pub fn is_file(&self, path: &Path) -> bool {
        // `a/b/` names a directory even when `a` holds a file `b` (`file_name` ignores the
        // trailing separator): only the file system can answer.
        let trailing = path.as_os_str().as_encoded_bytes().ends_with(b"/");
        let (Some(dir), Some(name), false) = (path.parent(), path.file_name(), trailing) else {
            return path.is_file();
        };
        let cached = match self.dirs.lock() {
            Ok(dirs) => dirs.get(crate::fasthash::key(dir)).cloned(),
            Err(_) => return path.is_file(),
        };
        let listing = match cached {
            Some(l) => l,
            None => {
                // Listed without the lock (other threads go on with their lookups); when two
                // threads list the same directory at once, the first listing stored is kept.
                let l = list_files(dir);
                let Ok(mut dirs) = self.dirs.lock() else {
                    return path.is_file();
                };
                dirs.entry(crate::fasthash::PathKey(dir.to_path_buf()))
                    .or_insert(l)
                    .clone()
            }
        };
        listing.is_some_and(|files| files.contains(name))
    }
}

/// Names of the regular files of a directory (symbolic links to files included).
fn list_files(dir: &Path) -> Option<std::sync::Arc<crate::fasthash::HashSet<std::ffi::OsString>>> {
    let entries = std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .ok()?;
    let mut names = crate::fasthash::HashSet::default();
    for e in entries.flatten() {
        let is_file = match e.file_type() {
            Ok(t) if t.is_file() => true,
            Ok(t) if t.is_symlink() => e.path().is_file(),
            _ => false,
        };
        if is_file {
            names.insert(e.file_name());
        }
    }
    Some(std::sync::Arc::new(names))
}
