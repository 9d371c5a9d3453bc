//! File discovery: gitignore-aware walk (ignore crate), explicit files, bundle roots.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

/// Directories never walked into (ruff's defaults plus Databricks' local state).
pub const DEFAULT_EXCLUDE: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pypackages__",
    "_build",
    "buck-out",
    "node_modules",
    "venv",
    ".databricks",
    "__pycache__",
    ".ipynb_checkpoints",
    "target",
];

/// The names of a bundle's root file, in the order the Databricks CLI looks for them (its
/// `config.FileNames`).
pub const BUNDLE_ROOT_NAMES: &[&str] = &[
    "databricks.yml",
    "databricks.yaml",
    "bundle.yml",
    "bundle.yaml",
];

/// Extensions bricklint may analyse.
pub fn is_candidate(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if BUNDLE_ROOT_NAMES.contains(&name) {
        return true;
    }
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("py" | "sql" | "scala" | "r" | "ipynb" | "yml" | "yaml")
    )
}

/// Longest glob pattern accepted (exclude and per-file-ignores patterns): real ones are a few
/// dozen bytes; the matcher's cost grows with the pattern, faster than linearly for some shapes.
pub const MAX_GLOB_BYTES: usize = 4096;
/// Most `{a,b,...}` alternatives in one pattern (200,000 of them failed to compile at all).
pub const MAX_GLOB_ALTERNATIVES: usize = 256;
/// Largest total size of all the patterns of a configuration.
pub const MAX_GLOB_TOTAL_BYTES: usize = 65_536;

/// A pattern as it is shown in a message: quoted, cut to 60 characters.
pub fn show_pattern(p: &str) -> String {
    match p.char_indices().nth(60) {
        Some((i, _)) => format!("`{}...` ({} bytes)", &p[..i], p.len()),
        None => format!("`{p}`"),
    }
}

/// Compile one glob pattern within the budgets. The error reads after "<field> pattern ".
pub fn check_glob(p: &str) -> Result<Glob, String> {
    let shown = show_pattern(p);
    if p.len() > MAX_GLOB_BYTES {
        return Err(format!(
            "{shown} is longer than {MAX_GLOB_BYTES} bytes; split it into several patterns"
        ));
    }
    // Alternatives: the commas inside braces (an upper bound: escapes and classes counted too).
    let mut depth = 0usize;
    let mut alternatives = 0usize;
    for b in p.bytes() {
        match b {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b',' if depth > 0 => alternatives += 1,
            _ => {}
        }
    }
    if alternatives > MAX_GLOB_ALTERNATIVES {
        return Err(format!(
            "{shown} has {} alternatives, more than {MAX_GLOB_ALTERNATIVES}; split it into several \
             patterns",
            alternatives + 1
        ));
    }
    // globset's own message (`unclosed character class; missing ']'`), without the pattern it
    // repeats in full.
    Glob::new(p).map_err(|e| format!("{shown} is not a valid glob: {}", e.kind()))
}

/// Build a matcher for exclude patterns (matched against each path component and the
/// path relative to the root).
pub fn exclude_set(patterns: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in DEFAULT_EXCLUDE.iter() {
        b.add(Glob::new(p).map_err(|e| format!("invalid exclude pattern `{p}`: {}", e.kind()))?);
    }
    for p in patterns {
        b.add(check_glob(p).map_err(|e| format!("exclude pattern {e}"))?);
    }
    // Within the budgets the set builds; should it not, say so without the matcher's internals
    // ("error building NFA").
    b.build().map_err(|_| {
        "the exclude patterns are too complex to match (over the matcher's size limit); use \
         fewer or simpler patterns"
            .to_string()
    })
}

fn is_bundle_root_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| BUNDLE_ROOT_NAMES.contains(&n))
}

/// Is `path` excluded by the set (any component, or the whole relative path)?
pub fn is_excluded(set: &GlobSet, path: &Path, root: &Path) -> bool {
    let rel = path.strip_prefix(root).unwrap_or(path);
    if set.is_match(rel) {
        return true;
    }
    rel.components()
        .any(|c| set.is_match(Path::new(c.as_os_str())))
}

/// Walk `root` (a directory) and return candidate files, sorted. Directory listings and
/// `.gitignore` reading are spread over the cores (the same rules as the sequential walker; the
/// order is fixed by the sort).
pub fn walk(root: &Path, excludes: &GlobSet) -> Vec<PathBuf> {
    use ignore::WalkState;
    use std::sync::Mutex;
    let found: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    ignore::WalkBuilder::new(root)
        .require_git(false)
        .hidden(false)
        .follow_links(false)
        .threads(rayon::current_num_threads().max(1))
        .filter_entry({
            let excludes = excludes.clone();
            move |e| {
                let name = e.file_name();
                !excludes.is_match(Path::new(name))
            }
        })
        .build_parallel()
        .run(|| {
            // Each thread's files are handed over when its visitor is dropped.
            struct Flush<'f>(&'f Mutex<Vec<PathBuf>>, Vec<PathBuf>);
            impl Drop for Flush<'_> {
                fn drop(&mut self) {
                    if let Ok(mut v) = self.0.lock() {
                        v.append(&mut self.1);
                    }
                }
            }
            let mut flush = Flush(&found, Vec::new());
            Box::new(move |entry| {
                if let Ok(entry) = entry {
                    let t = entry.file_type();
                    if t.is_some_and(|t| t.is_file()) && is_candidate(entry.path())
                        || t.is_some_and(|t| !t.is_file() && !t.is_symlink())
                            && is_bundle_root_name(entry.path())
                    {
                        // A `databricks.yml` that is a directory or a FIFO too: loading it says
                        // what it is (BL003) instead of skipping the bundle silently.
                        flush.1.push(entry.into_path());
                    }
                }
                WalkState::Continue
            })
        });
    let mut out = found.into_inner().unwrap_or_default();
    out.sort_unstable_by(|a, b| cmp_paths(a, b));
    out
}

/// `a.cmp(b)` for normalised paths (no `.` components, no repeated or trailing separators, as
/// `normalize` and the walker produce), on bytes: a separator orders before every other byte,
/// which is how component-wise comparison orders such paths. `Path::cmp` parses components and
/// was a few percent of a run when sorting thousands of files.
pub fn cmp_paths(a: &Path, b: &Path) -> std::cmp::Ordering {
    let (x, y) = (
        a.as_os_str().as_encoded_bytes(),
        b.as_os_str().as_encoded_bytes(),
    );
    // The common prefix, eight bytes at a time (sorted paths share long prefixes).
    let m = x.len().min(y.len());
    let mut n = 0;
    while n + 8 <= m && x[n..n + 8] == y[n..n + 8] {
        n += 8;
    }
    while n < m && x[n] == y[n] {
        n += 1;
    }
    let rank = |c: Option<&u8>| match c {
        None => 0u16,
        Some(&c) if std::path::is_separator(c as char) => 1,
        Some(&c) => 2 + c as u16,
    };
    rank(x.get(n)).cmp(&rank(y.get(n)))
}

/// The bundle root (directory with `databricks.yml`) that contains `path`, searching upward and
/// stopping at a repository root (`.git`).
pub fn bundle_root_of(path: &Path) -> Option<PathBuf> {
    let start = if path.is_dir() {
        Some(path)
    } else {
        path.parent()
    };
    let mut dir = start;
    while let Some(d) = dir {
        if BUNDLE_ROOT_NAMES.iter().any(|n| d.join(n).is_file()) {
            return Some(d.to_path_buf());
        }
        if d.join(".git").exists() {
            return None;
        }
        dir = d.parent();
    }
    None
}

/// Make a path absolute (without resolving symlinks) and normalise `.`/`..` components.
pub fn absolutize(path: &Path) -> PathBuf {
    let p = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    normalize(&p)
}

/// Lexical normalisation of `.` and `..`.
pub fn normalize(p: &Path) -> PathBuf {
    // Most paths are normal already (joined from walked paths): one scan of the bytes, no
    // component parsing (bundle and notebook references resolve thousands of paths a run).
    #[cfg(unix)]
    {
        if is_normal(p) {
            return p.to_path_buf();
        }
        normalize_bytes(p)
    }
    #[cfg(not(unix))]
    normalize_components(p)
}

/// [`normalize_components`] on the bytes of a Unix path: `/` separators, `.` and empty segments
/// dropped, `..` removing the segment before it (or kept when there is none), as `PathBuf::pop`
/// does. Parsing components was ~2 % of a run (bundle notebook paths are `../notebooks/x.py`).
#[cfg(unix)]
fn normalize_bytes(p: &Path) -> PathBuf {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let b = p.as_os_str().as_bytes();
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in b.split(|&c| c == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                if segs.pop().is_none() {
                    segs.push(b"..");
                }
            }
            s => segs.push(s),
        }
    }
    let mut out = Vec::with_capacity(b.len());
    if b.first() == Some(&b'/') {
        out.push(b'/');
    }
    for (i, s) in segs.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(s);
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// No `.` or `..` component, no empty one (`//`, a trailing `/`), except the root's.
#[cfg(unix)]
fn is_normal(p: &Path) -> bool {
    let b = p.as_os_str().as_encoded_bytes();
    let rest = b.strip_prefix(b"/").unwrap_or(b);
    (rest.is_empty() && b.len() <= 1)
        || rest
            .split(|&c| c == b'/')
            .all(|seg| !matches!(seg, b"" | b"." | b".."))
}

#[cfg(any(not(unix), test))]
fn normalize_components(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Path relative to the working directory when under it, with `/` separators. (The working
/// directory is read once per process: bricklint never changes it.)
pub fn display_path(path: &Path) -> String {
    static CWD: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let rel = CWD
        .get_or_init(|| std::env::current_dir().ok())
        .as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    let s = rel.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path_of(parts: &[String]) -> PathBuf {
        PathBuf::from(format!("/{}", parts.join("/")))
    }

    proptest! {
        /// The byte check for a normal path and the byte normalisation give what the component
        /// walk gives.
        #[test]
        fn normalize_fast_path_agrees(
            parts in proptest::collection::vec(prop_oneof![
                Just(""), Just("."), Just(".."), Just("a"), Just("bc"), Just(".x"), Just("..."),
                Just("é"),
            ], 0..6),
            absolute in any::<bool>(),
            trailing in any::<bool>(),
        ) {
            let mut s = parts.join("/");
            if absolute {
                s.insert(0, '/');
            }
            if trailing {
                s.push('/');
            }
            let p = Path::new(&s);
            // As bytes: `PathBuf`'s `==` compares components (`a/` equals `a`), while path keys
            // hash the bytes.
            let (fast, slow) = (normalize(p), normalize_components(p));
            prop_assert_eq!(fast.as_os_str(), slow.as_os_str(), "{:?}", s);
        }

        /// The byte comparison orders normalised paths as `Path::cmp` does.
        #[test]
        fn byte_order_is_component_order(
            shared in proptest::collection::vec("[a-c._~ -]{1,9}", 0..4),
            a in proptest::collection::vec("[a-c._~ -]{1,3}|é|a\u{7f}", 1..5),
            b in proptest::collection::vec("[a-c._~ -]{1,3}|é|a\u{7f}", 1..5),
        ) {
            // A shared head, as sorted paths of one repository have (the comparison skips
            // common bytes eight at a time).
            let (a, b) = ([shared.clone(), a].concat(), [shared, b].concat());
            prop_assume!(a.iter().chain(&b).all(|c| c != "." && c != ".."));
            let (pa, pb) = (path_of(&a), path_of(&b));
            prop_assert_eq!(cmp_paths(&pa, &pb), pa.cmp(&pb), "{:?} {:?}", pa, pb);
            prop_assert_eq!(cmp_paths(&pa, &pa), std::cmp::Ordering::Equal);
        }
    }

    #[test]
    fn separator_orders_first() {
        let p = |s: &str| PathBuf::from(s);
        assert!(cmp_paths(&p("/a/b"), &p("/a-b")).is_lt());
        assert!(cmp_paths(&p("/a/b"), &p("/a.b")).is_lt());
        assert!(cmp_paths(&p("/a"), &p("/a/b")).is_lt());
        assert!(cmp_paths(&p("/a/z"), &p("/ab")).is_lt());
        assert!(cmp_paths(&p("/b"), &p("/a/z")).is_gt());
    }
}
