//! A YAML tree where every node keeps its file and byte span, parsed with serde-saphyr
//! (anchors, aliases and `<<` merge keys expanded by the parser, budgets enforced). The tree is
//! built directly by serde seeds reading serde-saphyr's span protocol, without an intermediate
//! `Spanned<T>` tree.
//!
//! Nodes reached through an alias or a merge key remember both places: [`Loc::range`] is where
//! the value is *used* (the `*alias` / `<<: *anchor` site) and [`Loc::defined`] where it is
//! written (the anchored definition), so a finding can show both.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use ruff_text_size::{TextRange, TextSize};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::config::Limits;

mod block;

/// Where a node is: its file and byte range in that file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub file: Arc<PathBuf>,
    /// Where the value is used (the alias or merge site for values that come from an anchor).
    pub range: TextRange,
    /// Where the value is written, when it differs from `range` (anchors, merge keys).
    pub defined: Option<TextRange>,
}

impl Loc {
    pub fn new(file: Arc<PathBuf>, range: TextRange) -> Self {
        Loc {
            file,
            range,
            defined: None,
        }
    }
    /// The range where the value is written (the anchor definition for aliased values).
    pub fn written(&self) -> TextRange {
        self.defined.unwrap_or(self.range)
    }
}

/// A YAML node with its location.
#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
}

/// A mapping entry: key text, key location and value.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub key_loc: Loc,
    pub value: Node,
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Shared on clone (copy-on-write with `Arc::make_mut`), so the model's many views of
    /// the tree are cheap.
    Seq(Arc<Vec<Node>>),
    Map(Arc<Vec<Entry>>),
}

impl Node {
    pub fn new(value: Value, loc: Loc) -> Self {
        Node { value, loc }
    }
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }
    /// The entry of a mapping with this key.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key == key)
    }
    /// The value of a mapping entry.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }
    /// The value at a path of mapping keys.
    pub fn get_path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }
    /// A short name of the node's type for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }
    /// Scalar as text (strings as they are, numbers and booleans formatted).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    /// Convert to JSON (for schema validation and payload checks).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            Value::Map(m) => J::Object(
                m.iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
    /// Follow a JSON pointer-like list of segments; returns the deepest node reached and, when
    /// the last segment named a mapping key, that entry's key location.
    pub fn lookup<'a>(&'a self, segments: &[PathSeg<'_>]) -> (&'a Node, Option<&'a Loc>, usize) {
        let mut cur = self;
        let mut key_loc = None;
        for (i, seg) in segments.iter().enumerate() {
            let next = match (seg, &cur.value) {
                (PathSeg::Key(k), Value::Map(m)) => m.iter().find(|e| e.key == *k).map(|e| {
                    key_loc = Some(&e.key_loc);
                    &e.value
                }),
                (PathSeg::Index(i), Value::Seq(s)) => {
                    key_loc = None;
                    s.get(*i)
                }
                _ => None,
            };
            match next {
                Some(n) => cur = n,
                None => return (cur, key_loc, i),
            }
        }
        (cur, key_loc, segments.len())
    }
}

/// A segment of a path into a YAML tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathSeg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A YAML file that does not parse or breaks an input limit.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub message: String,
    pub range: TextRange,
    /// True when the error is a budget breach (alias bomb, nesting too deep).
    pub limit: bool,
}

/// Something the Databricks CLI accepts in a YAML file but that is probably a mistake: the
/// file is still read (as the CLI reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseNote {
    /// A mapping repeats a key: the last value wins (`first` is the earlier key).
    DuplicateKey {
        key: String,
        first: TextRange,
        second: TextRange,
    },
    /// The file holds more than one YAML document: only the first is read; `at` is where the
    /// second starts.
    ExtraDocuments { at: TextRange },
}

/// A parsed file: the tree, and notes about what the CLI accepts but is probably a mistake.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub node: Node,
    pub notes: Vec<ParseNote>,
}

// ---- deserialization straight into the spanned tree ----

/// serde-saphyr's location protocol: a newtype struct of this name is answered with a map
/// `{marker, value, referenced, defined}` (what its `Spanned<T>` reads). Reading that map with
/// seeds builds [`Node`]s directly, with no intermediate `Spanned<T>` tree to convert.
const SPANNED_NEWTYPE: &str = "__yaml_spanned";
const SPANNED_MARKER: &str = "__serde_saphyr_private_spanned";

#[derive(Clone, Copy)]
struct Ctx<'a> {
    file: &'a Arc<PathBuf>,
    text: &'a str,
    /// False when the text has no alias or merge key: then every value is defined where it is
    /// used, and the second location is not read.
    defined_differs: bool,
    /// Repeated mapping keys met (key, first, second).
    dups: &'a std::cell::RefCell<Vec<ParseNote>>,
}

/// What a spanned wrapper holds: a node's value or a mapping key.
#[derive(Clone, Copy)]
enum Want {
    Node,
    Key,
}

enum Read {
    Node(Node),
    Key(String, Loc),
}

/// Reads one spanned item (a node, or a mapping key).
#[derive(Clone, Copy)]
struct SpannedSeed<'a>(Ctx<'a>, Want);

impl<'de> DeserializeSeed<'de> for SpannedSeed<'_> {
    type Value = Read;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Read, D::Error> {
        d.deserialize_newtype_struct(SPANNED_NEWTYPE, self)
    }
}

impl<'de> Visitor<'de> for SpannedSeed<'_> {
    type Value = Read;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML node")
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Read, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
        // The fixed order serde-saphyr yields: marker, value, referenced, defined.
        if map.next_key::<FieldName>()?.map(|m| m.0) != Some(true) {
            return Err(de::Error::custom(
                "internal: serde-saphyr did not report a location",
            ));
        }
        map.next_value::<de::IgnoredAny>()?;
        map.next_key::<de::IgnoredAny>()?;
        let value = match self.1 {
            Want::Node => Ok(map.next_value_seed(ValueSeed(self.0))?),
            Want::Key => Err(map.next_value_seed(KeySeed)?),
        };
        map.next_key::<de::IgnoredAny>()?;
        let referenced: serde_saphyr::Location = map.next_value()?;
        let loc = if self.0.defined_differs {
            map.next_key::<de::IgnoredAny>()?;
            let defined: serde_saphyr::Location = map.next_value()?;
            loc_of(self.0.file, self.0.text, &referenced, &defined)
        } else {
            Loc::new(
                self.0.file.clone(),
                loc_range(self.0.text, &referenced).unwrap_or_default(),
            )
        };
        Ok(match value {
            Ok(value) => {
                let mut node = Node { value, loc };
                // Collections get a span from their first to their last child.
                widen_collection(&mut node);
                Read::Node(node)
            }
            Err(key) => Read::Key(key, loc),
        })
    }
}

impl SpannedSeed<'_> {
    fn node<'de, A: SeqAccess<'de>>(self, a: &mut A) -> Result<Option<Node>, A::Error> {
        match a.next_element_seed(self)? {
            Some(Read::Node(n)) => Ok(Some(n)),
            Some(Read::Key(..)) => Err(de::Error::custom("internal: key read as a node")),
            None => Ok(None),
        }
    }
}

/// A field name of the spanned map: `true` for serde-saphyr's marker.
struct FieldName(bool);

impl<'de> Deserialize<'de> for FieldName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FieldName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldName, E> {
                Ok(FieldName(v == SPANNED_MARKER))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A mapping key as text.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok("null".into())
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Ok("null".into())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, _a: A) -> Result<String, A::Error> {
        Err(de::Error::custom(
            "a mapping used as a key (an unquoted `{{ ... }}` is a YAML flow mapping: quote it, e.g. \"{{input}}\")",
        ))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _a: A) -> Result<String, A::Error> {
        Err(de::Error::custom("a list used as a mapping key"))
    }
}

/// A node's value (its children read as spanned nodes).
#[derive(Clone, Copy)]
struct ValueSeed<'a>(Ctx<'a>);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v)
            .map(Value::Int)
            .unwrap_or(Value::Float(v as f64)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v)
            .map(Value::Int)
            .unwrap_or(Value::Float(v as f64)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v)
            .map(Value::Int)
            .unwrap_or(Value::Float(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let seed = SpannedSeed(self.0, Want::Node);
        let mut v = Vec::with_capacity(a.size_hint().unwrap_or(0).min(1024));
        while let Some(x) = seed.node(&mut a)? {
            v.push(x);
        }
        Ok(Value::Seq(Arc::new(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let kseed = SpannedSeed(self.0, Want::Key);
        let vseed = SpannedSeed(self.0, Want::Node);
        let mut v = Vec::with_capacity(a.size_hint().unwrap_or(0).min(1024));
        while let Some(k) = a.next_key_seed(kseed)? {
            let Read::Key(key, key_loc) = k else {
                return Err(de::Error::custom("internal: node read as a key"));
            };
            let Read::Node(value) = a.next_value_seed(vseed)? else {
                return Err(de::Error::custom("internal: key read as a node"));
            };
            // A repeated key: the last value wins, as in the Databricks CLI's YAML loader.
            if let Some(e) = v.iter_mut().find(|e: &&mut Entry| e.key == key) {
                self.0.dups.borrow_mut().push(ParseNote::DuplicateKey {
                    key: key.clone(),
                    first: e.key_loc.range,
                    second: key_loc.range,
                });
                *e = Entry {
                    key,
                    key_loc,
                    value,
                };
                continue;
            }
            v.push(Entry {
                key,
                key_loc,
                value,
            });
        }
        Ok(Value::Map(Arc::new(v)))
    }
}

/// Byte range of a serde-saphyr location (character offsets converted when bytes are missing).
fn loc_range(text: &str, l: &serde_saphyr::Location) -> Option<TextRange> {
    let sp = l.span();
    if let (Some(o), Some(n)) = (sp.byte_offset(), sp.byte_len()) {
        let start = (o as usize).min(text.len());
        let end = ((o + n) as usize).min(text.len());
        return Some(TextRange::new(
            TextSize::new(start as u32),
            TextSize::new(end as u32),
        ));
    }
    line_col_offset(text, l.line(), l.column()).map(|o| TextRange::empty(TextSize::new(o as u32)))
}

/// Byte offset of a 1-based (line, character column).
pub(crate) fn line_col_offset(text: &str, line: u64, column: u64) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let mut start = 0usize;
    for _ in 1..line {
        start += text[start..].find('\n')? + 1;
    }
    let line_text = &text[start..];
    let line_end = line_text.find('\n').unwrap_or(line_text.len());
    let col = column.saturating_sub(1) as usize;
    let off = line_text[..line_end]
        .char_indices()
        .nth(col)
        .map(|(i, _)| i)
        .unwrap_or(line_end);
    Some(start + off)
}

fn loc_of(
    file: &Arc<PathBuf>,
    text: &str,
    s: &serde_saphyr::Location,
    d: &serde_saphyr::Location,
) -> Loc {
    let range = loc_range(text, s).unwrap_or_default();
    let defined = loc_range(text, d).filter(|r| *r != range);
    Loc {
        file: file.clone(),
        range,
        defined,
    }
}

fn widen_collection(node: &mut Node) {
    if !node.loc.range.is_empty() || node.loc.defined.is_some() {
        return;
    }
    let (first, last) = match &node.value {
        Value::Map(m) => match (m.first(), m.last()) {
            (Some(f), Some(l)) => (f.key_loc.range, l.value.loc.range),
            _ => return,
        },
        Value::Seq(s) => match (s.first(), s.last()) {
            (Some(f), Some(l)) => (f.loc.range, l.loc.range),
            _ => return,
        },
        _ => return,
    };
    let start = node.loc.range.start().min(first.start());
    let end = last.end().max(first.end());
    if start <= end {
        node.loc.range = TextRange::new(start, end);
    }
}

// ---- fast path: the parser's events straight into the tree ----

/// A plain scalar's value when it is unambiguous (`None`: let serde-saphyr resolve it). Only
/// canonical spellings are decided here: `true`/`false`, the null spellings, decimal integers
/// without leading zeros; anything that could be another YAML 1.2 number, boolean or null
/// spelling goes to serde-saphyr.
fn plain_scalar(s: &str) -> Option<Value> {
    match s {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        _ => {}
    }
    // Other spellings of booleans and nulls (`True`, `NULL`, ...). YAML 1.1 words (`yes`, `on`,
    // `y`) are strings here, as with serde-saphyr's `strict_booleans`.
    const SPECIAL: &[&str] = &[
        "true", "false", "null", ".inf", "+.inf", "-.inf", ".nan", "+.nan", "-.nan",
    ];
    if SPECIAL.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return None;
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return Some(Value::Str(s.to_string()));
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" && s == "0" || !digits.starts_with('0'))
    {
        return s.parse::<i64>().ok().map(Value::Int);
    }
    // Could be a number in some spelling (hex, octal, float, underscores, sexagesimal).
    let numeric_chars = s.bytes().all(|b| {
        b.is_ascii_hexdigit()
            || matches!(
                b,
                b'+' | b'-' | b'.' | b'_' | b':' | b'x' | b'X' | b'o' | b'O'
            )
    });
    if numeric_chars {
        None
    } else {
        Some(Value::Str(s.to_string()))
    }
}

enum Frame {
    Map {
        entries: Vec<Entry>,
        loc: Loc,
        key: Option<(String, Loc)>,
        /// The keys, once the mapping is too big for a linear duplicate check.
        seen: Option<std::collections::HashSet<String>>,
    },
    Seq {
        items: Vec<Node>,
        loc: Loc,
    },
}

/// Build the tree from the parser's events when the file uses nothing that needs
/// serde-saphyr's own semantics: no anchors, aliases, tags, merge keys, duplicate keys, several
/// documents or ambiguous plain scalars, within the limits and without errors. `None` means
/// "take the full path" ([`parse`] then reports errors exactly as serde-saphyr does). The tree
/// is the one the full path builds (`fast_path_matches_serde_saphyr` checks it on every fixture).
fn parse_fast(file: &Arc<PathBuf>, text: &str, limits: &Limits) -> Option<Node> {
    use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
    if text.starts_with('\u{feff}') || text.len() > u32::MAX as usize {
        return None;
    }
    let range_of = |span: &serde_saphyr::granit_parser::Span| -> Option<TextRange> {
        let (o, e) = (span.start.byte_offset()?, span.end.byte_offset()?);
        let start = o.min(text.len());
        let end = e.max(o).min(text.len());
        Some(TextRange::new(
            TextSize::new(start as u32),
            TextSize::new(end as u32),
        ))
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    let mut nodes = 0usize;
    let max_depth = limits.max_nesting as usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.ok()?;
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
                continue;
            }
            Event::Scalar(v, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                let loc = Loc::new(file.clone(), range_of(&span)?);
                let plain = matches!(style, ScalarStyle::Plain);
                // A mapping key?
                if let Some(Frame::Map {
                    entries, key, seen, ..
                }) = stack.last_mut()
                {
                    if key.is_none() {
                        let text = if plain {
                            match plain_scalar(&v)? {
                                Value::Str(s) if s != "<<" => s,
                                Value::Int(i) => i.to_string(),
                                Value::Bool(b) => b.to_string(),
                                Value::Null => "null".to_string(),
                                _ => return None,
                            }
                        } else {
                            v.into_owned()
                        };
                        // A repeated key goes to the full path (which reports it).
                        if entries.len() < 32 {
                            if entries.iter().any(|e| e.key == text) {
                                return None;
                            }
                        } else {
                            let seen = seen.get_or_insert_with(|| {
                                entries.iter().map(|e| e.key.clone()).collect()
                            });
                            if !seen.insert(text.clone()) {
                                return None;
                            }
                        }
                        *key = Some((text, loc));
                        continue;
                    }
                }
                let value = if plain {
                    plain_scalar(&v)?
                } else {
                    Value::Str(v.into_owned())
                };
                Node { value, loc }
            }
            Event::SequenceStart(_, anchor, ref tag) | Event::MappingStart(_, anchor, ref tag) => {
                if anchor != 0 || tag.is_some() || stack.len() >= max_depth {
                    return None;
                }
                // A collection used as a key goes to the full path (it reports it).
                if let Some(Frame::Map { key: None, .. }) = stack.last() {
                    return None;
                }
                let loc = Loc::new(file.clone(), range_of(&span)?);
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        entries: Vec::new(),
                        loc,
                        key: None,
                        seen: None,
                    }
                } else {
                    Frame::Seq {
                        items: Vec::new(),
                        loc,
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let mut node = match stack.pop()? {
                    Frame::Map {
                        entries,
                        loc,
                        key: None,
                        ..
                    } => Node::new(Value::Map(Arc::new(entries)), loc),
                    Frame::Seq { items, loc } => Node::new(Value::Seq(Arc::new(items)), loc),
                    Frame::Map { .. } => return None,
                };
                widen_collection(&mut node);
                node
            }
            _ => return None,
        };
        nodes += 1;
        if nodes > 500_000 {
            return None;
        }
        match stack.last_mut() {
            Some(Frame::Map { entries, key, .. }) => {
                let (key, key_loc) = key.take()?;
                entries.push(Entry {
                    key,
                    key_loc,
                    value: node,
                });
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            None => {
                if root.is_some() {
                    return None;
                }
                root = Some(node);
            }
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

/// Parse a YAML text into a spanned tree, within the input limits. Three paths, each building
/// the same tree for what it takes: a line scanner for plain block YAML ([`block`], most bundle
/// files), the parser's events ([`parse_fast`]), and serde-saphyr's deserializer (anchors,
/// aliases, merge keys, tags, errors).
pub fn parse(file: &Arc<PathBuf>, text: &str, limits: &Limits) -> Result<Node, ParseError> {
    parse_with_notes(file, text, limits).map(|p| p.node)
}

/// [`parse`], with the notes on what the CLI accepts but is probably a mistake (repeated keys,
/// several documents).
pub fn parse_with_notes(
    file: &Arc<PathBuf>,
    text: &str,
    limits: &Limits,
) -> Result<Parsed, ParseError> {
    let plain = |node| {
        Ok(Parsed {
            node,
            notes: Vec::new(),
        })
    };
    if text.trim().is_empty() {
        return plain(Node::new(
            Value::Null,
            Loc::new(file.clone(), TextRange::default()),
        ));
    }
    if let Some(node) = block::parse(file, text, limits) {
        return plain(node);
    }
    if let Some(node) = parse_fast(file, text, limits) {
        return plain(node);
    }
    match parse_full(file, text, limits) {
        Err(FullError::ExtraDocuments) => {
            // The CLI decodes the first document and ignores the rest.
            let Some(at) = second_document(text) else {
                return Err(ParseError {
                    message: "the file holds several YAML documents; a bundle file is one document"
                        .into(),
                    range: TextRange::default(),
                    limit: false,
                });
            };
            let first = &text[..usize::from(at.start())];
            let mut parsed = if first.trim().is_empty() {
                Parsed {
                    node: Node::new(Value::Null, Loc::new(file.clone(), TextRange::default())),
                    notes: Vec::new(),
                }
            } else {
                match parse_full(file, first, limits) {
                    Ok(p) => p,
                    Err(FullError::Parse(e)) => return Err(e),
                    Err(FullError::ExtraDocuments) => {
                        return Err(ParseError {
                            message: "the file holds several YAML documents".into(),
                            range: at,
                            limit: false,
                        })
                    }
                }
            };
            parsed.notes.push(ParseNote::ExtraDocuments { at });
            Ok(parsed)
        }
        Err(FullError::Parse(e)) => Err(e),
        Ok(p) => Ok(p),
    }
}

/// Where the second document of a YAML stream starts (its `---`), if it has one.
fn second_document(text: &str) -> Option<TextRange> {
    use serde_saphyr::granit_parser::{Event, Parser};
    let mut documents = 0;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.ok()?;
        if let Event::DocumentStart(..) = event {
            documents += 1;
            if documents == 2 {
                let start = span.start.byte_offset()?.min(text.len());
                let end = span.end.byte_offset()?.clamp(start, text.len());
                return Some(TextRange::new(
                    TextSize::new(start as u32),
                    TextSize::new(end.max(start) as u32),
                ));
            }
        }
    }
    None
}

/// Mappings that repeat the merge key `<<` (the second occurrence, and the first): serde-saphyr
/// merges both, while the CLI's loader stops on them.
fn repeated_merge_keys(text: &str) -> Option<(TextRange, TextRange)> {
    use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
    // (is a mapping, expecting a key, first `<<` of the mapping)
    let mut stack: Vec<(bool, bool, Option<TextRange>)> = Vec::new();
    for item in Parser::new_from_str(text) {
        let (event, span) = item.ok()?;
        let range = || {
            let start = span.start.byte_offset()?.min(text.len());
            let end = span.end.byte_offset()?.clamp(start, text.len());
            Some(TextRange::new(
                TextSize::new(start as u32),
                TextSize::new(end as u32),
            ))
        };
        match event {
            Event::Scalar(ref v, style, ..) => {
                if let Some((true, expecting, first)) = stack.last_mut() {
                    if *expecting && matches!(style, ScalarStyle::Plain) && v == "<<" {
                        let here = range()?;
                        match first {
                            Some(f) => return Some((here, *f)),
                            None => *first = Some(here),
                        }
                    }
                    *expecting = !*expecting;
                }
            }
            Event::Alias(_) => {
                if let Some((true, expecting, _)) = stack.last_mut() {
                    *expecting = !*expecting;
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if let Some((true, expecting, _)) = stack.last_mut() {
                    *expecting = !*expecting;
                }
                stack.push((matches!(event, Event::MappingStart(..)), true, None));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
    None
}

/// Why the full path did not build a tree.
enum FullError {
    Parse(ParseError),
    /// More than one document (the caller reads the first).
    ExtraDocuments,
}

/// The full path: serde-saphyr's deserializer (anchors, aliases, merge keys, tags, budgets,
/// its error messages).
fn parse_full(file: &Arc<PathBuf>, text: &str, limits: &Limits) -> Result<Parsed, FullError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_aliases: limits.max_yaml_aliases as usize,
            max_depth: limits.max_nesting as usize,
            max_nodes: 500_000,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: (limits.max_yaml_aliases as usize).saturating_mul(10),
        },
        with_snippet: false,
        // YAML 1.2 booleans only, as the Databricks CLI (Go yaml.v3): `y`, `n`, `on`, `no` are
        // strings (task keys, variable names).
        strict_booleans: true,
        // Repeated keys reach the visitor, which keeps the last (as the CLI does) and notes it.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
    };
    let dups = std::cell::RefCell::new(Vec::new());
    let ctx = Ctx {
        file,
        text,
        defined_differs: text.contains('*') || text.contains("<<"),
        dups: &dups,
    };
    let seed = SpannedSeed(ctx, Want::Node);
    match serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        seed.deserialize(de)
    }) {
        Ok(Read::Node(node)) => {
            if text.matches("<<").nth(1).is_some() {
                if let Some((second, _)) = repeated_merge_keys(text) {
                    return Err(FullError::Parse(ParseError {
                        message: "this mapping repeats the merge key `<<`: the Databricks CLI stops with an internal error on it; merge several anchors with one key: `<<: [*a, *b]`".into(),
                        range: second,
                        limit: false,
                    }));
                }
            }
            let mut notes = dups.into_inner();
            // Aliases replay a mapping: one note per place.
            notes.sort_by_key(|n| match n {
                ParseNote::DuplicateKey { second, .. } => second.start(),
                ParseNote::ExtraDocuments { at } => at.start(),
            });
            notes.dedup();
            Ok(Parsed { node, notes })
        }
        Ok(Read::Key(..)) => Err(FullError::Parse(ParseError {
            message: "internal: the document was read as a key".into(),
            range: TextRange::default(),
            limit: false,
        })),
        Err(serde_saphyr::Error::MultipleDocuments { .. }) => Err(FullError::ExtraDocuments),
        Err(e) => {
            let full = e.to_string();
            let loc = e.location();
            let range = loc
                .as_ref()
                .and_then(|l| loc_range(text, l))
                .unwrap_or_default();
            let mut message = match full.find(" at line ") {
                Some(i) => full[..i].to_string(),
                None => full.clone(),
            };
            // serde-saphyr suggests one of its options; users need the key instead.
            if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
                let key = rest
                    .split(", set DuplicateKeyPolicy")
                    .next()
                    .unwrap_or(rest);
                message = format!("duplicate key `{key}`: a YAML mapping may not repeat a key");
            }
            // An alias inside its own anchor (`a: &x [*x]`): serde-saphyr names the Rust types
            // that could hold such a value.
            if message.contains("recursive references") {
                message = "an alias refers to the node its anchor is on (`&x [*x]`): a YAML value cannot contain itself".into();
            }
            let limit = message.starts_with("budget breached")
                || message.contains("recursion limit")
                || message.contains("replay");
            if limit {
                message = if message.contains("Depth") || message.contains("recursion limit") {
                    format!(
                        "YAML nested deeper than the limit of {} levels (`[limits] max-nesting`); not analysed",
                        limits.max_nesting
                    )
                } else if message.contains("Alias")
                    || message.contains("Nodes")
                    || message.contains("replay")
                {
                    format!(
                        "YAML alias expansion exceeds the input limits (`[limits] max-yaml-aliases` = {}; a possible alias bomb); not analysed",
                        limits.max_yaml_aliases
                    )
                } else {
                    format!(
                        "YAML exceeds an input limit ({}); not analysed",
                        budget_name(&message)
                    )
                };
            }
            Err(FullError::Parse(ParseError {
                message,
                range,
                limit,
            }))
        }
    }
}

/// The budget of a serde-saphyr "budget breached: MergeKeys { merge_keys: 10001 }" message in
/// words ("too many merge keys"), without the library's Debug text.
fn budget_name(message: &str) -> String {
    let name = message
        .strip_prefix("budget breached")
        .unwrap_or(message)
        .trim_start_matches([':', ' '])
        .split([' ', '{', '('])
        .next()
        .unwrap_or("");
    let mut words = String::new();
    for c in name.chars().filter(|c| c.is_ascii_alphanumeric()) {
        if c.is_ascii_uppercase() && !words.is_empty() {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    if words.is_empty() {
        "too much input".into()
    } else {
        format!("too many {words}")
    }
}

#[cfg(test)]
mod tests;
