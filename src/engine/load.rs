//! Reading files (raw I/O, size and encoding checks, BL003) and loading the project: discover,
//! load in parallel, pull in the `%run` / import context, build the index and the bundles.

use crate::fasthash::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use ruff_text_size::TextRange;

use crate::bundle;
use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::discover;
use crate::profile::phase;
use crate::project::{CheckOptions, Project, ProjectIndex};
use crate::source::{self, Document, FileKind};

use super::CheckError;

pub use crate::rules::bl003_file_not_analyzable::META as BL003;

pub(super) fn load_error(path: &Arc<PathBuf>, msg: String, range: TextRange) -> Diagnostic {
    Diagnostic::new(&BL003, path.clone(), range, msg)
}

/// Read and load one file. Returns the document (if any) and load diagnostics.
pub fn load_file(
    path: &Path,
    config: &Config,
    explicit: bool,
    keep_notebook_json: bool,
) -> (Option<Document>, Vec<Diagnostic>) {
    let apath = Arc::new(path.to_path_buf());
    // One path lookup: open, then the size from the open file.
    // Regular files only: a directory or a FIFO named like a bundle root is listed by the walk
    // to be reported here (opened without blocking).
    let read = crate::fsutil::open_regular;
    let (mut file, meta) = match read(path) {
        Ok(m) => m,
        Err(e) => {
            return (
                None,
                vec![load_error(
                    &apath,
                    format!("cannot read file: {e}"),
                    TextRange::default(),
                )],
            )
        }
    };
    if meta.len() > config.limits.max_file_bytes {
        return (
            None,
            vec![load_error(
                &apath,
                format!(
                    "file is {} bytes, over the limit of {} bytes (`[limits] max-file-bytes`); not analysed",
                    meta.len(),
                    config.limits.max_file_bytes
                ),
                TextRange::default(),
            )],
        );
    }
    let bytes = match read_whole(&mut file, meta.len() as usize) {
        Ok(b) => b,
        Err(e) => {
            return (
                None,
                vec![load_error(
                    &apath,
                    format!("cannot read file: {e}"),
                    TextRange::default(),
                )],
            )
        }
    };
    let head = &bytes[..bytes.len().min(256)];
    let Some(kind) = source::classify(path, head) else {
        return (None, Vec::new());
    };
    if memchr::memchr(0, &bytes).is_some() {
        let d = if explicit || kind != FileKind::PythonModule {
            vec![load_error(
                &apath,
                "binary file (contains NUL bytes); not analysed".into(),
                TextRange::default(),
            )]
        } else {
            Vec::new()
        };
        return (None, d);
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let prefix = String::from_utf8_lossy(&bytes[..valid]);
            let line = prefix.matches('\n').count() + 1;
            let col = prefix
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count())
                .unwrap_or(0)
                + 1;
            return (
                None,
                vec![load_error(
                    &apath,
                    format!("file is not valid UTF-8 (invalid byte at line {line}, column {col}); not analysed"),
                    TextRange::default(),
                )],
            );
        }
    };
    match Document::load(apath.clone(), kind, text) {
        Ok(mut doc) => {
            doc.max_nesting = config.limits.max_nesting;
            if !keep_notebook_json {
                doc.raw = None;
            }
            (Some(doc), Vec::new())
        }
        Err(e) => {
            let msg = match (e.line, e.column) {
                (Some(l), Some(c)) => format!("{} (line {l}, column {c})", e.message),
                _ => e.message,
            };
            (None, vec![load_error(&apath, msg, TextRange::default())])
        }
    }
}

/// Load a document from a text instead of the file on disk (the [`CheckOptions::overlay`]).
pub fn load_text(
    path: &Path,
    text: &str,
    config: &Config,
    keep_notebook_json: bool,
) -> (Option<Document>, Vec<Diagnostic>) {
    let apath = Arc::new(path.to_path_buf());
    let head = &text.as_bytes()[..text.len().min(256)];
    let Some(kind) = source::classify(path, head) else {
        return (None, Vec::new());
    };
    match Document::load(apath.clone(), kind, text.to_string()) {
        Ok(mut doc) => {
            doc.max_nesting = config.limits.max_nesting;
            if !keep_notebook_json {
                doc.raw = None;
            }
            (Some(doc), Vec::new())
        }
        Err(e) => (
            None,
            vec![load_error(&apath, e.message, TextRange::default())],
        ),
    }
}

/// The bytes of an open regular file whose size was `len` when it was opened. When the size is
/// still right this is one `read` call (`read_to_end` also asks the size and the position again
/// and reads once more to see the end: four system calls per file instead of one).
fn read_whole(file: &mut std::fs::File, len: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes: Vec<u8> = Vec::with_capacity(len + 1);
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        loop {
            let spare = bytes.capacity() - bytes.len();
            if spare == 0 {
                break; // The file grew: the rest below.
            }
            // SAFETY: `read` writes at most `spare` bytes into the vector's spare capacity,
            // and only the bytes it reports are added to the length.
            let n = unsafe { libc::read(fd, bytes.as_mut_ptr().add(bytes.len()).cast(), spare) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Ok(bytes);
            }
            // SAFETY: the kernel initialised these `n` bytes.
            unsafe { bytes.set_len(bytes.len() + n as usize) };
            if bytes.len() == len && (n as usize) < spare {
                // All the bytes the file had when it was opened, and a short read: its end.
                return Ok(bytes);
            }
        }
    }
    std::io::Read::read_to_end(file, &mut bytes)?;
    Ok(bytes)
}

/// Discover and load the project for the given options.
pub fn load_project(
    opts: &CheckOptions,
) -> Result<(Project, Vec<Diagnostic>, Vec<PathBuf>), CheckError> {
    let config = opts.config.clone();
    let keep_json = !opts.drop_notebook_json;
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut excl = config.exclude.clone();
    excl.extend(config.extend_exclude.iter().cloned());
    let excludes = discover::exclude_set(&excl).map_err(CheckError::Usage)?;
    let paths: Vec<PathBuf> = if opts.paths.is_empty() {
        vec![cwd.clone()]
    } else {
        opts.paths.iter().map(|p| discover::absolutize(p)).collect()
    };
    // Nothing that resolves outside the projects of these paths is read (see `boundary`).
    let boundary = crate::boundary::Boundary::of_paths(paths.iter().map(PathBuf::as_path));
    let mut diags = Vec::new();
    // Files named on the command line (even when a bundle walk lists them too).
    let explicit: HashSet<PathBuf> = paths
        .iter()
        .filter(|p| p.is_file())
        .filter(|p| !(opts.force_exclude && discover::is_excluded(&excludes, p, &cwd)))
        .cloned()
        .collect();
    type Loaded = (Option<Document>, Vec<Diagnostic>);
    let (mut files, report_roots) = find_files(
        opts, &paths, &excludes, &cwd, &boundary, &explicit, &mut diags,
    )?;
    phase("d:walk");
    files.sort_unstable_by(|a, b| discover::cmp_paths(&a.0, &b.0));
    // A file found twice (named and walked, or in two walks): once. The copies are alike (named
    // is decided by the path), so any one will do.
    files.dedup_by(|b, a| a.0.as_os_str() == b.0.as_os_str());
    let overlay = opts.overlay.clone().unwrap_or_default();
    let virtual_files: Vec<PathBuf> = overlay
        .keys()
        .filter(|p| !p.exists() && report_roots.iter().any(|r| p.starts_with(r)))
        .cloned()
        .collect();
    if !virtual_files.is_empty() {
        files.extend(virtual_files.iter().map(|p| (p.clone(), false)));
        files.sort_unstable_by(|a, b| discover::cmp_paths(&a.0, &b.0));
    }
    phase("discover");
    let loaded: Vec<Loaded> = files
        .into_par_iter()
        .map(|(f, named)| match overlay.get(&f) {
            Some(text) => load_text(&f, text, &config, keep_json),
            None => load_file(&f, &config, named, keep_json),
        })
        .collect();
    let mut documents = Vec::with_capacity(loaded.len());
    for (doc, d) in loaded {
        diags.extend(d);
        if let Some(doc) = doc {
            documents.push(Arc::new(doc));
        }
    }
    phase("load");
    // One directory listing per directory for the whole run: the context passes and the rules
    // (`%run` targets) probe the same directories.
    let fs = crate::fsutil::DirCache::default();
    let early = crate::project::index::EarlyFacts::default();
    load_context(&mut documents, &fs, &boundary, &config, keep_json, &early);
    phase("context");
    let target = opts.target.clone().or_else(|| config.target.clone());
    let mut load = bundle::LoadOptions::from_process(target, opts.vars.clone());
    load.virtual_files = virtual_files;
    if let Some(r) = &opts.resolved_bundle {
        r.add_document(&mut documents);
    }
    // The project index (notebooks) and the bundles (YAML) are independent: build them side by
    // side.
    let (index, (bundles, bdiags)) = rayon::join(
        || ProjectIndex::build_with(&documents, &config, &early),
        || bundle::load_all(&documents, &config, &load),
    );
    if let Some(e) = bundle::usage_error(&bundles, &load) {
        return Err(CheckError::Usage(e));
    }
    let bundles = match &opts.resolved_bundle {
        Some(r) => {
            bundle::resolved::apply(r, bundles, &config, &load).map_err(CheckError::Usage)?
        }
        None => bundles,
    };
    diags.extend(bdiags.into_iter().map(crate::rules::load_diagnostic));
    phase("index+bundles");
    let project = Project {
        root: cwd,
        documents,
        index,
        bundles,
        config,
        options: opts.clone(),
        explicit,
        fs,
    };
    Ok((project, diags, report_roots))
}

/// A file to analyse, and whether it was named on the command line.
type NamedFile = (PathBuf, bool);

/// The files to analyse, each with "named on the command line", sorted by path, and the report
/// roots (the paths given). Each path is widened to its bundle root for context; a named file
/// outside the project is reported (BL004) and not read.
fn find_files(
    opts: &CheckOptions,
    paths: &[PathBuf],
    excludes: &globset::GlobSet,
    cwd: &Path,
    boundary: &crate::boundary::Boundary,
    explicit: &HashSet<PathBuf>,
    diags: &mut Vec<Diagnostic>,
) -> Result<(Vec<NamedFile>, Vec<PathBuf>), CheckError> {
    // What is analysed: each path, widened to its bundle root for context. The parallel walker
    // only lists the files; they are read and loaded below on rayon's pool, file by file. (Loading
    // them in the walker's threads as they were found left the files of the last directory to one
    // thread: 4 % slower on the 4,000-notebook corpus.)
    let mut files: Vec<NamedFile> = Vec::new();
    let mut report_roots = Vec::new();
    let walk = |root: &Path| {
        discover::walk(root, excludes).into_iter().map(|f| {
            let named = explicit.contains(&f);
            (f, named)
        })
    };
    for p in paths {
        if !p.exists() {
            return Err(CheckError::Usage(format!(
                "{}: no such file or directory",
                source::display_path(p)
            )));
        }
        report_roots.push(p.clone());
        if p.is_file() {
            if opts.force_exclude && discover::is_excluded(excludes, p, cwd) {
                continue;
            }
            if let Err(e) = boundary.check(p) {
                diags.push(Diagnostic::new(
                    &crate::rules::bl004_path_outside_project::META,
                    Arc::new(p.clone()),
                    TextRange::default(),
                    format!("the named file {e}, is not read"),
                ));
                continue;
            }
            files.push((p.clone(), true));
        } else {
            files.extend(walk(p));
        }
        if let Some(root) = discover::bundle_root_of(p) {
            if !paths.iter().any(|q| root.starts_with(q)) {
                files.extend(walk(&root));
            }
        }
    }
    Ok((files, report_roots))
}

/// Context: `%run` targets and local imports that were not given (pre-commit passes only the
/// changed files) are loaded too, so cross-file orchestration analysis still sees the helpers
/// (up to four levels deep). `fs` answers "is this a file?" from directory listings. The
/// documents that mention orchestration are parsed once here; their facts wait in `early`.
fn load_context(
    documents: &mut Vec<Arc<Document>>,
    fs: &crate::fsutil::DirCache,
    boundary: &crate::boundary::Boundary,
    config: &Config,
    keep_json: bool,
    early: &crate::project::index::EarlyFacts,
) {
    let runners = &config.orchestration.notebook_runners;
    for _ in 0..4 {
        let mut missing = crate::project::index::missing_context(documents, fs, runners, early);
        // `%run` targets and imports that resolve outside the project are not loaded.
        missing.retain(|p| boundary.allows(p));
        phase(&format!("ctx:missing {}", missing.len()));
        if missing.is_empty() {
            break;
        }
        let more: Vec<(Option<Document>, Vec<Diagnostic>)> = missing
            .par_iter()
            .map(|f| load_file(f, config, false, keep_json))
            .collect();
        documents.extend(more.into_iter().filter_map(|(d, _)| d.map(Arc::new)));
        documents.sort_unstable_by(|a, b| discover::cmp_paths(&a.path, &b.path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole file, whatever the size the caller was told: right, too small (the file grew
    /// since), too large (it shrank), empty.
    #[test]
    fn read_whole_reads_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0usize, 1, 4095, 4096, 4097, 100_000] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let p = dir.path().join(format!("f{size}"));
            std::fs::write(&p, &data).unwrap();
            for told in [
                size,
                size.saturating_sub(1),
                size / 2,
                size + 1,
                size + 4096,
            ] {
                let mut f = std::fs::File::open(&p).unwrap();
                assert_eq!(
                    read_whole(&mut f, told).unwrap(),
                    data,
                    "size {size}, told {told}"
                );
            }
        }
    }

    /// `check` frees each notebook's JSON unless fixes may write it back; the cells stay.
    #[test]
    fn notebook_json_is_kept_only_when_asked_for() {
        let nb = discover::absolutize(Path::new("fixtures/cli/fixable/producer_nb.ipynb"));
        for drop in [false, true] {
            let opts = CheckOptions {
                paths: vec![nb.clone()],
                drop_notebook_json: drop,
                ..Default::default()
            };
            let (project, _, _) = load_project(&opts).unwrap();
            let doc = project.document(&nb).unwrap();
            assert_eq!(doc.raw.is_none(), drop);
            assert!(!doc.cells.is_empty());
        }
    }
}
