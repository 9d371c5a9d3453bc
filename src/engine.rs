//! The check pipeline: discover -> load (parallel) -> index -> bundles -> rules (parallel) ->
//! suppressions -> resolve -> sort. A panic while analysing one file becomes one diagnostic.

use crate::fasthash::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::{Glob, GlobSetBuilder};
use rayon::prelude::*;
use ruff_text_size::{TextRange, TextSize};

use crate::bundle::{self, Bundle};
use crate::config::Config;
use crate::diagnostic::{rule_url, Diagnostic, Message, RelatedMessage, Span};
use crate::discover;
use crate::index::ProjectIndex;
use crate::rules::{self, Rule, RuleMeta};
use crate::source::{self, Document, FileKind};
use crate::suppress;

/// BL003: a file that cannot be analysed (unreadable, not UTF-8, malformed notebook JSON,
/// too large, or an internal error while analysing it).
pub static BL003: RuleMeta = RuleMeta {
    code: "BL003",
    name: "file-not-analyzable",
    severity: crate::diagnostic::Severity::Error,
    summary: "a file that cannot be read, decoded or analysed",
    doc: "## What it does\nReports files bricklint was asked to analyse but could not: unreadable files, files that are not UTF-8, binary files, notebooks whose JSON is malformed or truncated, files over the size limit (`[limits] max-file-bytes`), and internal errors while analysing a file.\n\n## Why is this bad?\nA file bricklint cannot read is a file nobody checked. Databricks itself rejects most of these files at import time.\n\n## Example\nA `.ipynb` cut off in the middle of its JSON by a bad merge.\n\n## Fix\nRepair or re-export the file; exclude it with `exclude = [...]` in the config if it is not a notebook.\n",
    fixable: false,
};

/// Which findings to report when explicit paths are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReportScope {
    /// Only findings located in the given paths (the whole bundle is still analysed).
    #[default]
    Files,
    /// Every finding in the analysed bundles.
    Bundle,
}

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    pub config: Config,
    /// CLI selection (overrides the config's `select` when given).
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub target: Option<String>,
    pub report_scope: ReportScope,
    pub no_ignores: bool,
    pub force_exclude: bool,
    pub bundle_schema: Option<PathBuf>,
    /// `--var name=value` bundle variable values, in the order given.
    pub vars: Vec<(String, String)>,
    /// Free each `.ipynb` file's JSON text once its cells are read (`Document::raw` is then
    /// `None`): only fixes and migrations write notebooks back. Saves the memory of every
    /// notebook's JSON for the rest of the run.
    pub drop_notebook_json: bool,
    /// Texts analysed instead of the files on disk, by absolute path (`bricklint migrate`
    /// re-checks what it would write before writing anything). A path that does not exist yet
    /// is analysed as if it did when it lies under a checked path, and bundle `include:` globs
    /// match it.
    pub overlay: Option<Arc<std::collections::BTreeMap<PathBuf, String>>>,
}

/// The loaded project, shared by every rule.
pub struct Project {
    /// The working directory.
    pub root: PathBuf,
    /// Every loaded document, sorted by path.
    pub documents: Vec<Arc<Document>>,
    pub index: ProjectIndex,
    pub bundles: Vec<Bundle>,
    pub config: Config,
    pub options: CheckOptions,
    /// Files named on the command line (always analysed in full).
    pub explicit: HashSet<PathBuf>,
    /// "Is this a file?" for paths that are not loaded documents, from one directory listing
    /// per directory (rules probing several candidates per `%run`).
    pub fs: crate::fsutil::DirCache,
}

impl Project {
    pub fn document(&self, path: &Path) -> Option<&Arc<Document>> {
        self.index
            .by_path
            .get(crate::fasthash::key(path))
            .map(|&i| &self.documents[i])
    }

    /// Every Python cell is parsed: `syntax-check = "all"`, or NB001 selected by its code or
    /// name (not through a prefix or `ALL`).
    pub fn syntax_check_all(&self) -> bool {
        let named = |l: &[String]| {
            l.iter().any(|s| {
                s.eq_ignore_ascii_case("NB001") || s.eq_ignore_ascii_case("python-syntax-error")
            })
        };
        self.config.syntax_check == crate::config::SyntaxCheck::All
            || named(self.options.select.as_deref().unwrap_or_default())
            || named(&self.options.extend_select)
            || named(self.config.select.as_deref().unwrap_or_default())
            || named(&self.config.extend_select)
    }

    /// Is document `i` analysed in full (parsed, NB001 reported)? Files named on the command
    /// line are; so are files with a suppression comment (BL001 needs the findings it covers),
    /// files that write task values or call `notebook.exit` (what the TV rules report on),
    /// and every file the orchestration index parsed (it mentions notebook runs or
    /// the Jobs API, or `%run`s / imports one that does), and every file an enabled rule asks
    /// for ([`Rule::wants_parse`]). Everything else is only scanned: with nothing for bricklint
    /// to find, it is never parsed, which is most of a typical repository.
    pub fn is_analysed(&self, i: usize, enabled: &[&'static dyn Rule], full: bool) -> bool {
        let doc = &self.documents[i];
        full || self.index.python.facts.get(i).is_some_and(|f| f.is_some())
            || self.explicit.contains(doc.path.as_path())
            || doc.has(crate::source::Token::Suppression)
            || crate::project::facts::writes_task_values(doc)
            || enabled.iter().any(|r| r.wants_parse(doc))
    }
}

pub struct DocContext<'a> {
    pub doc: &'a Document,
    pub project: &'a Project,
    /// Is this document analysed in full (see [`Project::is_analysed`])? When not, its syntax
    /// tree must not be built: rules that read `doc.python()` return early unless their
    /// [`Rule::wants_parse`] asked for it.
    pub analysed: bool,
}

pub struct BundleContext<'a> {
    pub bundle: &'a Bundle,
    pub project: &'a Project,
}

pub struct ProjectContext<'a> {
    pub project: &'a Project,
}

/// Result of a check run.
pub struct CheckResult {
    pub messages: Vec<Message>,
    /// Number of files analysed (documents loaded).
    pub files: usize,
    pub project: Project,
}

impl CheckResult {
    pub fn document(&self, path: &Path) -> Option<&Arc<Document>> {
        self.project.document(path)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// Parse a rule selector list into a predicate over codes.
pub struct Selection {
    enabled: HashSet<&'static str>,
}

fn selector_matches(sel: &str, meta: &RuleMeta) -> bool {
    sel.eq_ignore_ascii_case("ALL")
        || meta.name == sel
        || (!sel.is_empty()
            && meta.code.len() >= sel.len()
            && meta.code[..sel.len()].eq_ignore_ascii_case(sel))
}

fn validate_selectors(list: &[String]) -> Result<(), CheckError> {
    for s in list {
        if !rules::all().iter().any(|r| selector_matches(s, r.meta())) {
            return Err(CheckError::Usage(format!(
                "unknown rule selector `{s}` (see `bricklint rules`)"
            )));
        }
    }
    Ok(())
}

impl Selection {
    pub fn new(
        select: Option<&[String]>,
        extend_select: &[String],
        ignore: &[String],
    ) -> Result<Self, CheckError> {
        let default = ["ALL".to_string()];
        let select = select.unwrap_or(&default);
        validate_selectors(select)?;
        validate_selectors(extend_select)?;
        validate_selectors(ignore)?;
        let enabled = rules::all()
            .iter()
            .map(|r| r.meta())
            .filter(|m| {
                select
                    .iter()
                    .chain(extend_select)
                    .any(|s| selector_matches(s, m))
            })
            .filter(|m| !ignore.iter().any(|s| selector_matches(s, m)))
            .map(|m| m.code)
            .collect();
        Ok(Selection { enabled })
    }
    pub fn is_enabled(&self, code: &str) -> bool {
        self.enabled.contains(code)
    }
}

fn load_error(path: &Arc<PathBuf>, msg: String, range: TextRange) -> Diagnostic {
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
    let read = |path: &Path| -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
        let f = std::fs::File::open(path)?;
        let m = f.metadata()?;
        Ok((f, m))
    };
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

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Run a closure; a panic becomes a BL003 diagnostic on `path`.
pub fn guarded(
    path: &Arc<PathBuf>,
    what: &str,
    f: impl FnOnce() -> Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(d) => d,
        Err(p) => vec![load_error(
            path,
            format!(
                "internal error while {what}: {}; please report this bug",
                panic_message(&*p)
            ),
            TextRange::default(),
        )],
    }
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
    // What is analysed: each path, widened to its bundle root for context. The parallel walker
    // only lists the files; they are read and loaded below on rayon's pool, file by file. (Loading
    // them in the walker's threads as they were found left the files of the last directory to one
    // thread: 4 % slower on the 4,000-notebook corpus.)
    type Loaded = (Option<Document>, Vec<Diagnostic>);
    // (path, named on the command line)
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    let mut report_roots = Vec::new();
    let walk = |root: &Path| {
        discover::walk(root, &excludes).into_iter().map(|f| {
            let named = explicit.contains(&f);
            (f, named)
        })
    };
    for p in &paths {
        if !p.exists() {
            return Err(CheckError::Usage(format!(
                "{}: no such file or directory",
                source::display_path(p)
            )));
        }
        report_roots.push(p.clone());
        if p.is_file() {
            if opts.force_exclude && discover::is_excluded(&excludes, p, &cwd) {
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
    // Context: `%run` targets and local imports that were not given (pre-commit passes only
    // the changed files), so cross-file orchestration analysis still sees the helpers.
    phase("load");
    // One directory listing per directory for the whole run: the context passes and the rules
    // (`%run` targets) probe the same directories.
    let fs = crate::fsutil::DirCache::default();
    for _ in 0..4 {
        let mut missing = crate::index::missing_context(&documents, &fs);
        // `%run` targets and imports that resolve outside the project are not loaded.
        missing.retain(|p| boundary.allows(p));
        phase(&format!("ctx:missing {}", missing.len()));
        if missing.is_empty() {
            break;
        }
        let more: Vec<(Option<Document>, Vec<Diagnostic>)> = missing
            .par_iter()
            .map(|f| load_file(f, &config, false, keep_json))
            .collect();
        documents.extend(more.into_iter().filter_map(|(d, _)| d.map(Arc::new)));
        documents.sort_unstable_by(|a, b| discover::cmp_paths(&a.path, &b.path));
    }
    phase("context");
    let target = opts.target.clone().or_else(|| config.target.clone());
    let mut load = bundle::LoadOptions::from_process(target, opts.vars.clone());
    load.virtual_files = virtual_files;
    // The project index (notebooks) and the bundles (YAML) are independent: build them side by
    // side.
    let (index, (bundles, bdiags)) = rayon::join(
        || ProjectIndex::build(&documents, &config),
        || bundle::load_all(&documents, &config, &load),
    );
    if let Some(e) = bundle::usage_error(&bundles, &load) {
        return Err(CheckError::Usage(e));
    }
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

/// Documents analysed in full by the last `run_rules` (for `BRICKLINT_PROFILE`).
static ANALYSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Is `BRICKLINT_PROFILE` set?
fn profiling() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("BRICKLINT_PROFILE").is_some_and(|v| v != "0"))
}

/// CPU time per enabled rule (by position), in nanoseconds, summed over threads.
static RULE_NANOS: [std::sync::atomic::AtomicU64; 64] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 64];

fn rule_time(k: usize, start: Option<std::time::Instant>) {
    if let (Some(t), Some(slot)) = (start, RULE_NANOS.get(k)) {
        slot.fetch_add(
            t.elapsed().as_nanos() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

/// `BRICKLINT_PROFILE=1`: the rules that took the most time (summed over threads; a rule that
/// first asks for a lazily computed fact pays for it).
fn print_rule_times(enabled: &[&'static dyn Rule]) {
    if !profiling() {
        return;
    }
    let mut v: Vec<(u64, &str)> = enabled
        .iter()
        .enumerate()
        .filter_map(|(k, r)| {
            let n = RULE_NANOS
                .get(k)?
                .swap(0, std::sync::atomic::Ordering::Relaxed);
            Some((n, r.meta().code))
        })
        .collect();
    v.sort_unstable_by(|a, b| b.cmp(a));
    let top: Vec<String> = v
        .iter()
        .take(8)
        .map(|(n, c)| format!("{c} {:.1}", *n as f64 / 1e6))
        .collect();
    eprintln!("bricklint profile:   rule CPU ms: {}", top.join(", "));
}

/// `BRICKLINT_PROFILE=1`: print the time of each phase of `check` to stderr.
pub fn phase(name: &str) {
    use std::sync::Mutex;
    use std::time::Instant;
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    static LAST_CPU: Mutex<f64> = Mutex::new(0.0);
    if !profiling() {
        return;
    }
    let now = Instant::now();
    if let Ok(mut last) = LAST.lock() {
        if let Some(t) = *last {
            // Resident memory after the phase (Linux), in MB.
            let rss = std::fs::read_to_string("/proc/self/statm")
                .ok()
                .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
                .map(|pages| format!("  rss {:.0} MB", pages as f64 * 4096.0 / 1e6))
                .unwrap_or_default();
            let cpu = process_cpu_ms();
            let dcpu = LAST_CPU
                .lock()
                .map(|mut l| cpu - std::mem::replace(&mut *l, cpu))
                .unwrap_or(0.0);
            eprintln!(
                "bricklint profile: {name:<10} {:>8.1} ms  cpu {dcpu:>6.1} ms{rss}",
                (now - t).as_secs_f64() * 1e3
            );
        }
        if last.is_none() {
            if let Ok(mut l) = LAST_CPU.lock() {
                *l = process_cpu_ms();
            }
        }
        *last = Some(now);
    }
}

/// CPU time (user + system) of the process so far, in ms (Linux; 0 elsewhere).
fn process_cpu_ms() -> f64 {
    #[cfg(target_os = "linux")]
    {
        let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage fills the struct it is given.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr()) } == 0 {
            // SAFETY: initialised by the successful call above.
            let ru = unsafe { ru.assume_init() };
            let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
            return ms(ru.ru_utime) + ms(ru.ru_stime);
        }
    }
    0.0
}

/// Run every enabled rule over a loaded project; returns raw diagnostics (unsuppressed).
pub fn run_rules(project: &Project, enabled: &[&'static dyn Rule]) -> Vec<Diagnostic> {
    let full = project.syntax_check_all();
    // Document rules and bundle rules side by side: neither waits for the other (lazily
    // computed facts are shared through their `OnceLock`s).
    let doc_rules = || -> Vec<Diagnostic> {
        project
            .documents
            .par_iter()
            .enumerate()
            .filter(|(_, d)| !d.kind.is_yaml())
            .flat_map_iter(|(i, doc)| {
                guarded(&doc.path, "analysing this file", || {
                    let analysed = doc.has_python() && project.is_analysed(i, enabled, full);
                    if analysed {
                        ANALYSED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    // When no earlier pass parsed this document, its rules run on a private copy
                    // whose syntax tree is freed right after them: peak memory stays at a few trees
                    // per thread instead of one per file. (A rule that needs another document's tree
                    // still gets it, parsed and kept, through `project`.)
                    let copy;
                    let doc: &Document = if analysed && !doc.python_is_parsed() {
                        copy = doc.fresh_copy();
                        &copy
                    } else {
                        doc
                    };
                    let ctx = DocContext {
                        doc,
                        project,
                        analysed,
                    };
                    let mut v = Vec::new();
                    for (k, r) in enabled.iter().enumerate() {
                        let t = profiling().then(std::time::Instant::now);
                        r.check_document(&ctx, &mut v);
                        rule_time(k, t);
                    }
                    v
                })
            })
            .collect()
    };
    // The rules of a bundle run in parallel too (a project is often one big bundle).
    let bundle_rules = || -> Vec<Diagnostic> {
        project
            .bundles
            .par_iter()
            .flat_map(|b| enabled.par_iter().enumerate().map(move |(k, r)| (b, k, r)))
            .flat_map_iter(|(b, k, r)| {
                guarded(&b.root_file, "analysing this bundle", || {
                    let ctx = BundleContext { bundle: b, project };
                    let mut v = Vec::new();
                    let t = profiling().then(std::time::Instant::now);
                    r.check_bundle(&ctx, &mut v);
                    rule_time(k, t);
                    v
                })
            })
            .collect()
    };
    let (mut out, by_bundle) = rayon::join(doc_rules, bundle_rules);
    out.extend(by_bundle);
    let root = Arc::new(project.root.clone());
    out.extend(guarded(&root, "analysing the project", || {
        let ctx = ProjectContext { project };
        let mut v = Vec::new();
        for r in enabled {
            r.check_project(&ctx, &mut v);
        }
        v
    }));
    out
}

/// Stack size of analysis threads. Syntax trees are walked recursively; cells nested deeper than
/// `[limits] max-nesting` are not parsed, and this leaves a wide margin for the rest.
pub const ANALYSIS_STACK_BYTES: usize = crate::config::THREAD_STACK_BYTES;

/// The thread pool analysis runs on (rayon's default threads have 2 MiB stacks).
pub fn analysis_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(ANALYSIS_STACK_BYTES)
            .thread_name(|i| format!("bricklint-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// The full `check` pipeline (run on the analysis thread pool).
pub fn check(opts: &CheckOptions) -> Result<CheckResult, CheckError> {
    match analysis_pool() {
        Some(pool) => pool.install(|| check_inner(opts)),
        None => check_inner(opts),
    }
}

fn check_inner(opts: &CheckOptions) -> Result<CheckResult, CheckError> {
    let select = opts.select.clone().or_else(|| opts.config.select.clone());
    let mut extend = opts.config.extend_select.clone();
    extend.extend(opts.extend_select.iter().cloned());
    let mut ignore = opts.config.ignore.clone();
    ignore.extend(opts.ignore.iter().cloned());
    let selection = Selection::new(select.as_deref(), &extend, &ignore)?;
    let per_file = per_file_ignores(&opts.config)?;
    phase("start");

    let (project, load_diags, report_roots) = load_project(opts)?;
    let enabled: Vec<&'static dyn Rule> = rules::all()
        .iter()
        .copied()
        .filter(|r| selection.is_enabled(r.meta().code))
        .collect();
    let mut diags = run_rules(&project, &enabled);
    print_rule_times(&enabled);
    phase(&format!(
        "rules ({} of {} documents parsed in full)",
        ANALYSED.swap(0, std::sync::atomic::Ordering::Relaxed),
        project.documents.len()
    ));
    diags.extend(
        load_diags
            .into_iter()
            .filter(|d| selection.is_enabled(d.code)),
    );

    // Group by file, apply suppressions and per-file ignores.
    let mut by_file: HashMap<Arc<PathBuf>, Vec<Diagnostic>> = HashMap::default();
    for d in diags {
        by_file.entry(d.path.clone()).or_default().push(d);
    }
    // Documents with suppression comments but no findings still need BL001.
    if !opts.no_ignores {
        for doc in &project.documents {
            if doc.has(crate::source::Token::Suppression) {
                by_file.entry(doc.path.clone()).or_default();
            }
        }
    }
    let enabled_fn = |c: &str| selection.is_enabled(c);
    // Per file, in parallel: suppressions, per-file ignores, report scope, positions.
    let by_file: Vec<(Arc<PathBuf>, Vec<Diagnostic>)> = by_file.into_iter().collect();
    let mut messages: Vec<Message> = by_file
        .into_par_iter()
        .flat_map_iter(|(path, ds)| {
            let ds = match (opts.no_ignores, project.document(&path)) {
                (false, Some(doc)) => suppress::apply(doc, ds, &enabled_fn),
                _ => ds,
            };
            let ignored = per_file.ignored_for(&path, &project.root);
            let project = &project;
            let report_roots = &report_roots;
            ds.into_iter()
                .filter(move |d| !ignored.iter().any(|s| selector_matches(s, meta_of(d.code))))
                .filter(move |d| {
                    opts.report_scope != ReportScope::Files
                        || report_roots.iter().any(|r| d.path.starts_with(r))
                })
                .map(move |d| resolve(project, &d))
        })
        .collect();
    messages.par_sort_by(|a, b| {
        (&a.span.path, a.span.line, a.span.column, a.code, &a.message).cmp(&(
            &b.span.path,
            b.span.line,
            b.span.column,
            b.code,
            &b.message,
        ))
    });
    messages.dedup_by(|a, b| a.code == b.code && a.span == b.span && a.message == b.message);
    let files = project.documents.len();
    phase("report");
    Ok(CheckResult {
        messages,
        files,
        project,
    })
}

fn meta_of(code: &str) -> &'static RuleMeta {
    rules::find(code).map(|r| r.meta()).unwrap_or(&BL003)
}

struct PerFile {
    set: globset::GlobSet,
    codes: Vec<Vec<String>>,
    root: Option<PathBuf>,
}

impl PerFile {
    fn ignored_for(&self, path: &Path, cwd: &Path) -> Vec<String> {
        let base = self.root.as_deref().unwrap_or(cwd);
        let rel = path.strip_prefix(base).unwrap_or(path);
        self.set
            .matches(rel)
            .into_iter()
            .flat_map(|i| self.codes[i].iter().cloned())
            .collect()
    }
}

fn per_file_ignores(config: &Config) -> Result<PerFile, CheckError> {
    let mut b = GlobSetBuilder::new();
    let mut codes = Vec::new();
    for (pat, cs) in &config.per_file_ignores {
        validate_selectors(cs)?;
        b.add(Glob::new(pat).map_err(|e| {
            CheckError::Usage(format!("invalid per-file-ignores pattern `{pat}`: {e}"))
        })?);
        codes.push(cs.clone());
    }
    Ok(PerFile {
        set: b.build().map_err(|e| CheckError::Usage(e.to_string()))?,
        codes,
        root: config.root.clone(),
    })
}

/// Resolve a span of a file to positions (documents not loaded resolve to line 1).
pub fn resolve_span(project: &Project, path: &Path, range: TextRange) -> Span {
    let display = source::display_path(path);
    match project.document(path) {
        Some(doc) => {
            let end = TextSize::of(doc.text.as_str());
            let range = TextRange::new(range.start().min(end), range.end().min(end));
            let r = doc.resolve(range);
            Span {
                path: display,
                line: r.line,
                column: r.column,
                end_line: r.end_line,
                end_column: r.end_column,
                cell: r.cell,
                file_line: r.file_line,
                file_end_line: r.file_end_line,
                range,
            }
        }
        None => Span {
            path: display,
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            cell: None,
            file_line: 1,
            file_end_line: 1,
            range,
        },
    }
}

pub fn resolve(project: &Project, d: &Diagnostic) -> Message {
    Message {
        code: d.code,
        name: d.name,
        severity: d.severity,
        message: d.message.clone(),
        span: resolve_span(project, &d.path, d.range),
        route: d.route.clone(),
        url: rule_url(d.code),
        related: d
            .related
            .iter()
            .map(|l| RelatedMessage {
                span: resolve_span(project, &l.path, l.range),
                message: l.message.clone(),
                abs_path: l.path.clone(),
            })
            .collect(),
        help: d.help.clone(),
        fix: d.fix.clone(),
        abs_path: d.path.clone(),
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
