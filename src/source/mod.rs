//! Source documents: file text, line index, notebook cells and per-language virtual sources.

pub mod imports;
pub mod ipynb;
mod ipynb_fast;
pub mod nesting;
pub mod notebook;
pub mod python;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ruff_text_size::{TextRange, TextSize};

pub use python::PythonSource;

/// Language of a notebook cell or a whole file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Lang {
    Python,
    Sql,
    Scala,
    R,
    Markdown,
    /// `%sh`, `!` shell cells.
    Shell,
    /// `%pip` cells.
    Pip,
    /// `%run <path>` cells (the argument is kept in [`Cell::run_target`]).
    Run,
    /// `%fs` cells.
    Fs,
    /// Any other magic, e.g. `%md-sandbox`, `%lsmagic`.
    Other(String),
}

impl Lang {
    /// Language from a magic name without `%` (`python`, `sql`, `md`, ...).
    pub fn from_magic(magic: &str) -> Lang {
        match magic {
            "python" | "py" => Lang::Python,
            "sql" => Lang::Sql,
            "scala" => Lang::Scala,
            "r" => Lang::R,
            "md" | "md-sandbox" | "markdown" => Lang::Markdown,
            "sh" => Lang::Shell,
            "pip" => Lang::Pip,
            "run" => Lang::Run,
            "fs" => Lang::Fs,
            other => Lang::Other(other.to_string()),
        }
    }
    pub fn from_name(name: &str) -> Option<Lang> {
        Some(match name.to_ascii_lowercase().as_str() {
            "python" | "py" => Lang::Python,
            "sql" => Lang::Sql,
            "scala" => Lang::Scala,
            "r" => Lang::R,
            _ => return None,
        })
    }
    pub fn as_str(&self) -> &str {
        match self {
            Lang::Python => "python",
            Lang::Sql => "sql",
            Lang::Scala => "scala",
            Lang::R => "r",
            Lang::Markdown => "markdown",
            Lang::Shell => "sh",
            Lang::Pip => "pip",
            Lang::Run => "run",
            Lang::Fs => "fs",
            Lang::Other(s) => s,
        }
    }
    /// Line-comment prefix used by source-format notebooks of this language.
    pub fn comment_prefix(&self) -> &'static str {
        match self {
            Lang::Sql => "--",
            Lang::Scala => "//",
            _ => "#",
        }
    }
}

/// What a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// Databricks source-format notebook (`# Databricks notebook source` header) of a language.
    SourceNotebook(Lang),
    /// Jupyter / Databricks `.ipynb`.
    Ipynb,
    /// A plain Python module or script (no notebook header). Jupytext `# %%` files are here too.
    PythonModule,
    /// A Scala file without a notebook header.
    ScalaFile,
    /// `databricks.yml` / `databricks.yaml` (a bundle root).
    BundleRoot,
    /// Any other YAML file (possibly a bundle include).
    Yaml,
}

impl FileKind {
    pub fn is_notebook(&self) -> bool {
        matches!(self, FileKind::SourceNotebook(_) | FileKind::Ipynb)
    }
    pub fn is_yaml(&self) -> bool {
        matches!(self, FileKind::BundleRoot | FileKind::Yaml)
    }
}

/// A notebook cell (plain modules are one cell).
#[derive(Debug, Clone)]
pub struct Cell {
    /// 0-based index.
    pub index: usize,
    pub lang: Lang,
    /// The whole cell in the document text (from its first line to the end of its last line,
    /// separators excluded).
    pub range: TextRange,
    /// The cell's code without magic prefixes, as segments of the document text: one range
    /// per code line, content only (the `# MAGIC ` prefix and the `%lang` line are excluded).
    pub lines: CellLines,
    /// `DBTITLE` / `.ipynb` title.
    pub title: Option<String>,
    /// For `%run` cells: the target as written (`./helpers`).
    pub run_target: Option<(String, TextRange)>,
    /// True when the cell's lines carry a `MAGIC` prefix (source format) or start with a `%lang`
    /// magic (ipynb).
    pub magic: bool,
}

/// The code lines of a [`Cell`]. Most cells have nothing to strip: their lines are the lines of
/// one range of the text, found when asked for ([`CellLines::iter`]) instead of stored one by
/// one for every line of every file at load time (most are never looked at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellLines {
    /// Every line of this range, terminators (`\n`, `\r\n`) excluded.
    Natural(TextRange),
    /// One segment per line (magic prefixes removed, the `%lang` line blanked).
    Explicit(Vec<TextRange>),
}

impl CellLines {
    /// The line segments, in order.
    pub fn iter<'a>(&'a self, text: &'a str) -> CodeLines<'a> {
        match self {
            CellLines::Natural(r) => CodeLines::Natural(notebook::LineSpans::new(text, *r)),
            CellLines::Explicit(v) => CodeLines::Explicit(v.iter()),
        }
    }

    /// No line at all (an empty cell, or a title without code).
    pub fn is_empty(&self) -> bool {
        match self {
            CellLines::Natural(r) => r.is_empty(),
            CellLines::Explicit(v) => v.is_empty(),
        }
    }

    /// The segments as a vector (tests, rare callers).
    pub fn to_vec(&self, text: &str) -> Vec<TextRange> {
        self.iter(text).collect()
    }
}

/// Iterator over [`CellLines`].
pub enum CodeLines<'a> {
    Natural(notebook::LineSpans<'a>),
    Explicit(std::slice::Iter<'a, TextRange>),
}

impl Iterator for CodeLines<'_> {
    type Item = TextRange;
    fn next(&mut self) -> Option<TextRange> {
        match self {
            CodeLines::Natural(it) => it.next().map(|(_, content)| content),
            CodeLines::Explicit(it) => it.next().copied(),
        }
    }
}

/// Line index over a text: byte offsets of line starts.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<TextSize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 40 + 1);
        starts.push(TextSize::new(0));
        for pos in memchr::memchr_iter(b'\n', text.as_bytes()) {
            starts.push(TextSize::new(pos as u32 + 1));
        }
        LineIndex { starts }
    }
    /// 0-based line of an offset.
    pub fn line_of(&self, offset: TextSize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }
    pub fn line_start(&self, line: usize) -> TextSize {
        self.starts[line.min(self.starts.len() - 1)]
    }
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
    /// 1-based (line, column) with the column counted in characters.
    pub fn line_col(&self, text: &str, offset: TextSize) -> (u32, u32) {
        let offset = offset.min(TextSize::of(text));
        let line = self.line_of(offset);
        let start = usize::from(self.starts[line]);
        let mut end = usize::from(offset);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let col = text[start..end].chars().count();
        (line as u32 + 1, col as u32 + 1)
    }
}

/// A loaded source file.
#[derive(Debug)]
pub struct Document {
    /// Absolute (or as given) path on disk.
    pub path: Arc<PathBuf>,
    pub kind: FileKind,
    /// The document text. For `.ipynb` it is the cells' sources joined by `\n` (a cell per
    /// block); for every other kind it is the file itself.
    pub text: String,
    /// Line starts of `text`, built on first use ([`Document::lines`]): most documents of a
    /// large repository never need a position.
    lines: OnceLock<LineIndex>,
    pub cells: Vec<Cell>,
    /// For `.ipynb`: for each line of `text`, the 1-based line in the JSON file.
    pub file_lines: Option<Vec<u32>>,
    /// For `.ipynb`: the raw JSON text of the file.
    pub raw: Option<String>,
    /// Python cells nested deeper than this are reported and not parsed (`[limits] max-nesting`).
    pub max_nesting: u32,
    python: OnceLock<Option<PythonSource>>,
    /// [`Token`]s present in `text`, found by one scan on first use.
    tokens: OnceLock<TokenScan>,
    /// [`imports::lexical_imports`], computed on first use.
    imports: OnceLock<Vec<(String, u32)>>,
    /// What later passes need from the syntax tree of the whole document, kept by whichever
    /// pass parses it first ([`Document::parse_python`]), so that the tree itself can be
    /// dropped: its syntax errors and its imports.
    parsed: OnceLock<Arc<ParseSummary>>,
}

/// What is kept of a parse of a document's Python once its syntax tree is dropped.
#[derive(Debug, Default)]
pub struct ParseSummary {
    /// Syntax errors, in order (one per cell skipped for its nesting, or for a parser failure).
    pub errors: Vec<SyntaxError>,
    /// [`imports::parsed_imports`] of the tree.
    pub imports: Vec<(String, u32)>,
}

/// A syntax error of a document's Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where, in the document text.
    pub range: TextRange,
    /// The cell holding it (index into `Document::cells`).
    pub cell: Option<usize>,
    /// The parser's message.
    pub message: String,
}

impl ParseSummary {
    fn of(py: &PythonSource) -> Self {
        ParseSummary {
            errors: py
                .errors()
                .iter()
                .map(|e| SyntaxError {
                    range: py.to_doc(e.location),
                    cell: py.cell_of(e.location.start()),
                    message: e.error.to_string(),
                })
                .collect(),
            imports: imports::parsed_imports(py.module()),
        }
    }
}

/// The parsed Python of a document: the tree the document keeps ([`Document::python`]) or one
/// of the caller's own, dropped with it ([`Document::parse_python`]).
pub enum PythonTree<'a> {
    Kept(&'a PythonSource),
    Own(Box<PythonSource>),
}

impl std::ops::Deref for PythonTree<'_> {
    type Target = PythonSource;
    fn deref(&self) -> &PythonSource {
        match self {
            PythonTree::Kept(py) => py,
            PythonTree::Own(py) => py,
        }
    }
}

/// Tokens every pass asks about, found for a document in one multi-pattern scan of its text
/// ([`Document::has`]) instead of one substring search per question. Comments and strings count
/// too: a `false` is exact, a `true` only means "look closer".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Token {
    /// `notebook`, other than in a `Databricks notebook source` header.
    Notebook,
    /// `jobs`, other than in `dbutils.jobs.taskValues` (the Jobs API, `w.jobs.submit`, ...).
    Jobs,
    /// `taskValues` or `task_values`.
    TaskValues,
    /// `taskValues.set` or `task_values.set`.
    TaskValueSet,
    Widgets,
    GetArgument,
    /// `exit(` (`dbutils.notebook.exit(...)`).
    Exit,
    /// `bricklint:` (a suppression comment).
    Suppression,
    Dbutils,
    Import,
}

const TOKEN_PATTERNS: &[&str] = &[
    "notebook",
    "jobs",
    "taskValues",
    "task_values",
    "widgets",
    "getArgument",
    "exit(",
    "bricklint:",
    "dbutils",
    "import",
];

/// What one scan of a document finds: the [`Token`] bits, and where the names that make a
/// cell a payload cell start ([`Document::payload_in`]).
#[derive(Debug, Clone, Default)]
struct TokenScan {
    mask: u32,
    /// Offsets of `dbutils`, `widgets`, `taskValues`, `task_values`, `notebook`, `getArgument`
    /// and `jobs`, in order (`None`: not known, every range may hold one).
    payload: Option<Box<[u32]>>,
}

fn scan_tokens(text: &str) -> TokenScan {
    use aho_corasick::{AhoCorasick, MatchKind};
    static AC: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    let bit = |t: Token| 1u32 << t as u8;
    // Leftmost-first semantics let the searcher use its SIMD (Teddy) prefilter; the patterns
    // never overlap one another, so no match is lost.
    let Some(ac) = AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(TOKEN_PATTERNS)
            .ok()
    }) else {
        return TokenScan {
            mask: u32::MAX,
            payload: None,
        };
    };
    let b = text.as_bytes();
    let mut mask = 0u32;
    let mut payload = Vec::new();
    for m in ac.find_iter(b) {
        let rest = &b[m.end()..];
        let p = m.pattern().as_usize();
        if matches!(p, 0..=5 | 8) {
            payload.push(m.start() as u32);
        } else if p == 9 && (rest.starts_with(b"askValues") || rest.starts_with(b"ask_values")) {
            // `importaskValues`: the match of `import` hides a `taskValues` sharing its `t`
            // (the only pattern whose end can start a payload name).
            payload.push(m.end() as u32 - 1);
        }
        mask |= match p {
            0 if !rest.starts_with(b" source") => bit(Token::Notebook),
            1 if !rest.starts_with(b".taskValues") => bit(Token::Jobs),
            2 | 3 if rest.starts_with(b".set") => bit(Token::TaskValues) | bit(Token::TaskValueSet),
            2 | 3 => bit(Token::TaskValues),
            4 => bit(Token::Widgets),
            5 => bit(Token::GetArgument),
            6 => bit(Token::Exit),
            7 => bit(Token::Suppression),
            8 => bit(Token::Dbutils),
            9 => bit(Token::Import),
            _ => 0,
        };
    }
    TokenScan {
        mask,
        payload: Some(payload.into_boxed_slice()),
    }
}

impl Document {
    pub fn new(path: Arc<PathBuf>, kind: FileKind, text: String, cells: Vec<Cell>) -> Self {
        Document {
            path,
            kind,
            text,
            lines: OnceLock::new(),
            cells,
            file_lines: None,
            raw: None,
            max_nesting: crate::config::Limits::default().max_nesting,
            python: OnceLock::new(),
            tokens: OnceLock::new(),
            imports: OnceLock::new(),
            parsed: OnceLock::new(),
        }
    }

    /// Load a file of a known kind from its text. YAML kinds produce a document with no cells.
    pub fn load(path: Arc<PathBuf>, kind: FileKind, text: String) -> Result<Self, LoadError> {
        match &kind {
            FileKind::SourceNotebook(lang) => {
                Ok(notebook::parse_source_notebook(path, lang.clone(), text))
            }
            FileKind::Ipynb => ipynb::parse_ipynb(path, text),
            FileKind::PythonModule => {
                let range = TextRange::up_to(TextSize::of(&text));
                let lines = CellLines::Natural(range);
                let cell = Cell {
                    index: 0,
                    lang: Lang::Python,
                    range,
                    lines,
                    title: None,
                    run_target: None,
                    magic: false,
                };
                Ok(Document::new(path, kind, text, vec![cell]))
            }
            FileKind::ScalaFile => {
                let range = TextRange::up_to(TextSize::of(&text));
                let lines = CellLines::Natural(range);
                let cell = Cell {
                    index: 0,
                    lang: Lang::Scala,
                    range,
                    lines,
                    title: None,
                    run_target: None,
                    magic: false,
                };
                Ok(Document::new(path, kind, text, vec![cell]))
            }
            FileKind::BundleRoot | FileKind::Yaml => {
                Ok(Document::new(path, kind, text, Vec::new()))
            }
        }
    }

    /// The line index of `text` (built on first use).
    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    /// The parsed Python of this document (all Python cells), parsed on first use and kept
    /// with the document.
    pub fn python(&self) -> Option<&PythonSource> {
        let py = self
            .python
            .get_or_init(|| {
                if self.has_python() {
                    Some(PythonSource::build(self))
                } else {
                    None
                }
            })
            .as_ref();
        if let Some(py) = py {
            self.summarize(py);
        }
        py
    }

    /// The parsed Python of this document: the kept tree when there is one, else a new tree
    /// the caller owns and drops when done (the document keeps only its [`ParseSummary`]).
    /// Passes over every document use this, so that a large project never holds every tree.
    pub fn parse_python(&self) -> Option<PythonTree<'_>> {
        if let Some(kept) = self.python.get() {
            return kept.as_ref().map(PythonTree::Kept);
        }
        if !self.has_python() {
            return None;
        }
        let py = PythonSource::build(self);
        self.summarize(&py);
        Some(PythonTree::Own(Box::new(py)))
    }

    fn summarize(&self, py: &PythonSource) {
        if self.parsed.get().is_none() {
            let _ = self.parsed.set(Arc::new(ParseSummary::of(py)));
        }
    }

    /// The [`ParseSummary`] of the document's Python, when some pass parsed it already.
    pub fn parse_summary(&self) -> Option<&ParseSummary> {
        self.parsed.get().map(|s| &**s)
    }

    /// The syntax errors of the document's Python: from the [`ParseSummary`], else parsed (and
    /// kept, as [`Document::python`] does: the engine runs rules on a private copy of a
    /// document no earlier pass parsed, and the other rules of that copy may want the tree).
    /// Empty without Python cells.
    pub fn python_errors(&self) -> &[SyntaxError] {
        if self.parsed.get().is_none() {
            self.python();
        }
        self.parsed.get().map_or(&[], |s| &s.errors)
    }

    /// Does the text contain any of these byte strings? A cheap early exit (SIMD substring
    /// search, no parsing) for rules that only matter when a token appears, e.g.
    /// `doc.mentions(&[b"notebook", b"taskValues"])`. Comments and strings count too, so a
    /// `false` is exact and a `true` only means "look closer".
    pub fn mentions(&self, needles: &[&[u8]]) -> bool {
        let hay = self.text.as_bytes();
        needles
            .iter()
            .any(|n| memchr::memmem::find(hay, n).is_some())
    }

    /// Does the text contain `token`? (One scan for every token, on first use.)
    pub fn has(&self, token: Token) -> bool {
        self.scan().mask & (1 << token as u8) != 0
    }

    fn scan(&self) -> &TokenScan {
        self.tokens.get_or_init(|| scan_tokens(&self.text))
    }

    /// Does `range` (whole lines) contain `dbutils`, `widgets`, `taskValues`, `task_values`,
    /// `notebook`, `getArgument` or `jobs`? Answered from the document's token scan instead of
    /// searching the range again.
    pub fn payload_in(&self, range: TextRange) -> bool {
        let Some(marks) = &self.scan().payload else {
            return true;
        };
        let i = marks.partition_point(|&m| m < u32::from(range.start()));
        marks.get(i).is_some_and(|&m| m < u32::from(range.end()))
    }

    /// The modules this document imports, from a lexical scan ([`imports::lexical_imports`]),
    /// computed once.
    pub fn lexical_imports(&self) -> &[(String, u32)] {
        self.imports.get_or_init(|| imports::lexical_imports(self))
    }

    /// Does the text contain any of these tokens?
    pub fn has_any(&self, tokens: &[Token]) -> bool {
        tokens.iter().any(|t| self.has(*t))
    }

    /// Has the Python of this document been parsed already (by an earlier pass)?
    pub fn python_is_parsed(&self) -> bool {
        self.python.get().is_some()
    }

    /// A copy of this document with an empty parse cache. The engine runs per-document rules on
    /// such a copy when nothing parsed the document before, so the syntax tree is freed as soon
    /// as the document's rules are done instead of living until the end of the run.
    pub fn fresh_copy(&self) -> Document {
        Document {
            path: self.path.clone(),
            kind: self.kind.clone(),
            text: self.text.clone(),
            lines: self.lines.clone(),
            cells: self.cells.clone(),
            file_lines: self.file_lines.clone(),
            raw: self.raw.clone(),
            max_nesting: self.max_nesting,
            python: OnceLock::new(),
            tokens: self.tokens.clone(),
            imports: self.imports.clone(),
            parsed: self.parsed.clone(),
        }
    }

    /// True when the document has at least one Python cell.
    pub fn has_python(&self) -> bool {
        self.cells.iter().any(|c| c.lang == Lang::Python)
    }

    /// The cell containing an offset of `text`.
    pub fn cell_at(&self, offset: TextSize) -> Option<&Cell> {
        let i = self.cells.partition_point(|c| c.range.end() < offset);
        self.cells.get(i).filter(|c| c.range.start() <= offset)
    }

    /// Is this document a notebook (cells reported)?
    pub fn is_notebook(&self) -> bool {
        self.kind.is_notebook()
    }

    /// Resolve a range to (line, column, end_line, end_column, cell, file_line, file_end_line).
    /// For `.ipynb`, lines are relative to the cell, as Jupyter shows them.
    pub fn resolve(&self, range: TextRange) -> Resolved {
        let (l1, c1) = self.lines().line_col(&self.text, range.start());
        let (l2, c2) = self.lines().line_col(&self.text, range.end());
        let cell = if self.is_notebook() {
            self.cell_at(range.start()).map(|c| c.index as u32 + 1)
        } else {
            None
        };
        match (&self.kind, &self.file_lines) {
            (FileKind::Ipynb, Some(map)) => {
                let (base, _) = self
                    .cell_at(range.start())
                    .map(|c| self.lines().line_col(&self.text, c.range.start()))
                    .unwrap_or((1, 1));
                let fl = |l: u32| map.get(l as usize - 1).copied().unwrap_or(1);
                Resolved {
                    line: l1 - base + 1,
                    column: c1,
                    end_line: l2.saturating_sub(base) + 1,
                    end_column: c2,
                    cell,
                    file_line: fl(l1),
                    file_end_line: fl(l2),
                }
            }
            _ => Resolved {
                line: l1,
                column: c1,
                end_line: l2,
                end_column: c2,
                cell,
                file_line: l1,
                file_end_line: l2,
            },
        }
    }

    /// Offset of the end of the text.
    pub fn lines_end(&self) -> TextSize {
        TextSize::of(self.text.as_str())
    }

    /// Text of a range.
    pub fn slice(&self, range: TextRange) -> &str {
        &self.text[range]
    }

    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub cell: Option<u32>,
    pub file_line: u32,
    pub file_end_line: u32,
}

/// Error while loading a file: message plus optional position.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LoadError {
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl LoadError {
    pub fn new(message: impl Into<String>) -> Self {
        LoadError {
            message: message.into(),
            line: None,
            column: None,
        }
    }
}

pub use crate::discover::display_path;

/// Classify a file by name and first bytes. Returns `None` for files bricklint ignores.
pub fn classify(path: &Path, head: &[u8]) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if crate::discover::BUNDLE_ROOT_NAMES.contains(&name) {
        return Some(FileKind::BundleRoot);
    }
    let header = notebook::detect_header(head);
    match ext.as_deref() {
        Some("yml" | "yaml") => Some(FileKind::Yaml),
        Some("ipynb") => Some(FileKind::Ipynb),
        Some("py") => Some(match header {
            Some(Lang::Python) => FileKind::SourceNotebook(Lang::Python),
            _ => FileKind::PythonModule,
        }),
        Some("r") => header
            .filter(|l| *l == Lang::Python)
            .map(|_| FileKind::SourceNotebook(Lang::R)),
        Some("sql") => header
            .filter(|l| *l == Lang::Sql)
            .map(|_| FileKind::SourceNotebook(Lang::Sql)),
        Some("scala") => Some(match header {
            Some(Lang::Scala) => FileKind::SourceNotebook(Lang::Scala),
            _ => FileKind::ScalaFile,
        }),
        _ => None,
    }
}
