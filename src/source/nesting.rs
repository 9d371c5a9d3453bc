//! A cheap, conservative estimate of how deeply Python code nests, computed over the bytes before
//! parsing.
//!
//! ruff's parser grows its own stack, but the syntax tree it builds is walked (by the semantic
//! model and the rules) and dropped recursively: a 200,000-deep `-(-(-(...)))` or
//! `lambda: lambda: ...` would overflow any thread's stack and abort the process. CPython refuses
//! such code too (`too many nested parentheses`, `RecursionError` during compilation), so a cell
//! whose estimated depth exceeds `[limits] max-nesting` is reported (NB001) and not analysed.
//!
//! Each of these counts one level: an open bracket; a prefix operator (`-x`, `not x`,
//! `await x`, `*x`); a `lambda` or a conditional expression's `else` (their bodies nest to the
//! right); a binary operator or attribute access in one operand chain (`a + b + c`, `a.b.c`: the
//! tree is left-deep); an indented block. Strings and comments are skipped.

/// Where the estimate first exceeded the limit: byte offset in the scanned text and the depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    pub offset: usize,
    pub depth: u32,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Scan `src` (one Python cell or module) and return the first place where the estimated nesting
/// exceeds `limit`, if any. Linear time, no allocation except the indentation stack.
pub fn check(src: &[u8], limit: u32) -> Option<TooDeep> {
    // Every level the estimate counts is paid for by bytes of its own (the bracket, operator or
    // keyword; the operand before a call's `(`; the leading blanks of an indented line), so the
    // estimate never exceeds the length: text no longer than the limit needs no scan (most cells
    // that are parsed; property-tested in `depth_never_exceeds_length`).
    if src.len() <= limit as usize {
        return None;
    }
    scan(src, limit)
}

fn scan(src: &[u8], limit: u32) -> Option<TooDeep> {
    let mut s = Scanner {
        src,
        limit,
        i: 0,
        brackets: 0,
        unary: 0,
        tail: 0,
        chain: 0,
        operand: false,
        indents: Vec::new(),
        line_start: true,
    };
    s.run()
}

/// The state of one scan: the levels counted so far (open brackets, prefix operators, the
/// bodies of `lambda` and conditional expressions, a left-deep operand chain, enclosing blocks).
struct Scanner<'s> {
    src: &'s [u8],
    limit: u32,
    i: usize,
    brackets: u32,
    unary: u32,
    tail: u32,
    chain: u32,
    /// Did the last token end an operand (so `(`, `[` or an operator continues a chain)?
    operand: bool,
    /// Indentation widths of the enclosing blocks.
    indents: Vec<u32>,
    line_start: bool,
}

/// What a token handler asks the main loop to do next.
enum Step {
    /// The handler moved past its token; look at the next one.
    Next,
    /// Check the depth at the current byte, then step over it.
    CheckHere,
    /// The estimate exceeded the limit.
    Deep(TooDeep),
}

impl Scanner<'_> {
    fn depth(&self) -> u32 {
        self.brackets + self.unary + self.tail + self.chain + self.indents.len() as u32
    }

    fn reset_expr(&mut self) {
        self.unary = 0;
        self.tail = 0;
        self.chain = 0;
    }

    /// `Deep` at `offset` when the depth is over the limit, else `Next`.
    fn checked(&self, offset: usize) -> Step {
        let depth = self.depth();
        if depth > self.limit {
            Step::Deep(TooDeep { offset, depth })
        } else {
            Step::Next
        }
    }

    fn run(&mut self) -> Option<TooDeep> {
        let n = self.src.len();
        while self.i < n {
            if self.line_start && self.brackets == 0 {
                self.line_start = false;
                if !self.indentation() {
                    break;
                }
                continue;
            }
            match self.token() {
                Step::Next => {}
                Step::CheckHere => {
                    let depth = self.depth();
                    if depth > self.limit {
                        return Some(TooDeep {
                            offset: self.i,
                            depth,
                        });
                    }
                    self.i += 1;
                }
                Step::Deep(d) => return Some(d),
            }
        }
        None
    }

    /// The leading blanks of a line: open or close blocks. `false` at the end of the input.
    fn indentation(&mut self) -> bool {
        let (src, n) = (self.src, self.src.len());
        let mut w = 0u32;
        while self.i < n && matches!(src[self.i], b' ' | b'\t' | b'\x0c') {
            w += if src[self.i] == b'\t' { 8 } else { 1 };
            self.i += 1;
        }
        if self.i >= n {
            return false;
        }
        if !matches!(src[self.i], b'\n' | b'\r' | b'#') {
            while self.indents.last().is_some_and(|&t| t > w) {
                self.indents.pop();
            }
            if w > 0 && self.indents.last().is_none_or(|&t| t < w) {
                self.indents.push(w);
            }
        }
        true
    }

    /// One token at `self.i`.
    fn token(&mut self) -> Step {
        let (src, n) = (self.src, self.src.len());
        let b = src[self.i];
        // Fast paths for the most common bytes: blanks and the letters of a name that does not
        // start one of the few words that matter (`not`, `await`, `yield`, `lambda`, `else`).
        if matches!(b, b' ' | b'\t' | b'\r' | b'\x0c') {
            self.i += 1;
            return Step::Next;
        }
        if (b.is_ascii_alphabetic() || b == b'_' || b >= 0x80)
            && !matches!(b, b'n' | b'a' | b'y' | b'l' | b'e')
        {
            // String prefixes (`r"`, `f'`, `rb"`) fall through to the general path.
            let start = self.i;
            self.i += 1;
            while self.i < n && is_ident_continue(src[self.i]) {
                self.i += 1;
            }
            if self.i < n && (src[self.i] == b'\'' || src[self.i] == b'"') && self.i - start <= 2 {
                self.i = skip_string(src, self.i);
            }
            self.operand = true;
            self.unary = 0;
            return Step::Next;
        }
        match b {
            b'#' => {
                self.i = memchr::memchr(b'\n', &src[self.i..]).map_or(n, |k| self.i + k);
                Step::Next
            }
            b'\n' => {
                if self.brackets == 0 {
                    self.reset_expr();
                    self.operand = false;
                    self.line_start = true;
                }
                self.i += 1;
                Step::Next
            }
            b'\\' => {
                // Line continuation (or a stray backslash): skip the next byte.
                self.i += 2;
                Step::Next
            }
            b'\'' | b'"' => {
                self.i = skip_string(src, self.i);
                self.operand = true;
                self.unary = 0;
                Step::Next
            }
            b'(' | b'[' | b'{' => {
                // A call or subscript of an operand (`f(a)(b)`, `x[0][1]`) nests to the left.
                if self.operand && b != b'{' {
                    self.chain += 1;
                }
                self.brackets = self.brackets.saturating_add(1);
                self.operand = false;
                Step::CheckHere
            }
            b')' | b']' | b'}' => {
                self.brackets = self.brackets.saturating_sub(1);
                self.unary = 0;
                self.tail = 0;
                self.operand = true;
                Step::CheckHere
            }
            b',' | b';' | b'=' => {
                // `==`, `<=`, ... compare flat; any `=` ends the operand chain.
                self.reset_expr();
                self.operand = false;
                Step::CheckHere
            }
            b':' => {
                self.unary = 0;
                self.chain = 0;
                self.operand = false;
                Step::CheckHere
            }
            b'-' | b'+' | b'~' | b'*' | b'/' | b'%' | b'@' | b'&' | b'|' | b'^' | b'<' | b'>'
            | b'!' => self.operator(),
            b'.' => self.dot(),
            b'0'..=b'9' => {
                self.i = skip_number(src, self.i);
                self.operand = true;
                self.unary = 0;
                Step::Next
            }
            _ if is_ident_start(b) => self.word(),
            _ => Step::CheckHere,
        }
    }

    /// An operator; multi-character operators count once.
    fn operator(&mut self) -> Step {
        let (src, n) = (self.src, self.src.len());
        let mut j = self.i + 1;
        while j < n && matches!(src[j], b'*' | b'/' | b'<' | b'>' | b'=') {
            j += 1;
        }
        if src[j - 1] == b'=' {
            self.reset_expr();
        } else if self.operand {
            self.chain += 1;
        } else {
            self.unary += 1;
        }
        self.operand = false;
        self.i = j;
        self.checked(j - 1)
    }

    /// `.`: an attribute access (one level of the chain), a number such as `.5`, or `...`.
    fn dot(&mut self) -> Step {
        let (src, n, i) = (self.src, self.src.len(), self.i);
        if i + 1 < n && src[i + 1].is_ascii_digit() && !self.operand {
            self.i = skip_number(src, i);
            self.operand = true;
            self.unary = 0;
            return Step::Next;
        }
        if src[i..].starts_with(b"...") {
            self.i += 3;
            self.operand = true;
            return Step::Next;
        }
        self.chain += 1;
        self.operand = false;
        Step::CheckHere
    }

    /// A name or keyword (or a prefixed string such as `rb"..."`).
    fn word(&mut self) -> Step {
        let (src, n) = (self.src, self.src.len());
        let start = self.i;
        while self.i < n && is_ident_continue(src[self.i]) {
            self.i += 1;
        }
        // String prefixes: r"", b'', f"", rb"" ...
        if self.i < n && (src[self.i] == b'\'' || src[self.i] == b'"') && self.i - start <= 2 {
            self.i = skip_string(src, self.i);
            self.operand = true;
            self.unary = 0;
            return Step::Next;
        }
        // Only the words that open a level matter; every other word is an operand (keywords
        // like `and`, `for`, `in` just end up not resetting a chain, which can only
        // overestimate).
        match &src[start..self.i] {
            b"not" | b"await" | b"yield" => {
                self.unary += 1;
                self.operand = false;
            }
            b"lambda" => {
                self.tail += 1;
                self.operand = false;
            }
            b"else" => {
                let next = src[self.i..].iter().find(|c| !c.is_ascii_whitespace());
                if next != Some(&b':') {
                    self.tail += 1;
                }
                self.operand = false;
            }
            _ => {
                self.operand = true;
                self.unary = 0;
            }
        }
        self.checked(start)
    }
}

fn skip_number(src: &[u8], mut i: usize) -> usize {
    while i < src.len()
        && (is_ident_continue(src[i])
            || src[i] == b'.'
            || ((src[i] == b'+' || src[i] == b'-') && matches!(src[i - 1], b'e' | b'E')))
    {
        i += 1;
    }
    i
}

/// Skip a string literal starting at the quote `src[i]`; returns the offset after it (or the end
/// of the line for an unterminated single-quoted string, the end of input for a triple-quoted
/// one).
fn skip_string(src: &[u8], i: usize) -> usize {
    let q = src[i];
    let n = src.len();
    if i + 2 < n && src[i + 1] == q && src[i + 2] == q {
        let mut j = i + 3;
        while j < n {
            match src[j] {
                b'\\' => j += 2,
                c if c == q && j + 2 < n && src[j + 1] == q && src[j + 2] == q => return j + 3,
                _ => j += 1,
            }
        }
        return n;
    }
    let mut j = i + 1;
    while j < n {
        match src[j] {
            b'\\' => j += 2,
            b'\n' => return j,
            c if c == q => return j + 1,
            _ => j += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(src: &str, limit: u32) -> bool {
        check(src.as_bytes(), limit).is_none()
    }

    #[test]
    fn ordinary_code_is_shallow() {
        let src = r#"
import json
from concurrent.futures import ThreadPoolExecutor

def run(path, args):
    if path:
        for i in range(10):
            try:
                return dbutils.notebook.run(path, 600, {"a": str(-1), "b": [-1, -2, -3]})
            except Exception as e:
                print(f"failed {e!r}" + "x" + 'y')
x = [-1] * 10 + [a if b else c for a in y]
df = spark.table("t").select("a").filter("b > 1").withColumn("c", F.lit(1))
s = """ ((((((((( """
"#;
        assert!(depth_ok(src, 20), "{:?}", check(src.as_bytes(), 20));
        let long_list = format!("x = [{}]\n", "-1, ".repeat(100_000));
        assert!(depth_ok(&long_list, 10));
        let strings = "x = ')' + \"(((\" # ((((\n".repeat(1000);
        assert!(depth_ok(&strings, 10));
    }

    proptest::proptest! {
        /// The bound behind `check`'s early exit: the estimate is at most the number of bytes.
        #[test]
        fn depth_never_exceeds_length(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    // Single bytes that open levels, packed as densely as the grammar allows.
                    4 => proptest::sample::select(vec![
                        "(", "[", "{", "-", "~", "*", ".", "f", ")", "]", "}", " ", "\t", "\n",
                        "\\", "'", "\"", "#", "=", ",", ":", "1",
                    ]),
                    1 => proptest::sample::select(vec![
                        "not ", "await ", "yield ", "lambda", "lambda: ", " else ", "else:",
                        "1 if a else ", "...", "0.5", "1e-3", "'s'", "'''", "\n    ", "\n\t\t",
                        "**", "==", "<=", ">>=", "é", "x1",
                    ]),
                ],
                0..200,
            )
        ) {
            let src: String = parts.concat();
            proptest::prop_assert_eq!(scan(src.as_bytes(), src.len() as u32), None);
        }
    }

    #[test]
    fn deep_shapes_are_caught() {
        let n = 10_000;
        let shapes = [
            format!("x = {}1{}", "(".repeat(n), ")".repeat(n)),
            format!("x = {}]", "[".repeat(n)),
            format!("x = {}1", "-".repeat(n)),
            format!("x = {}1", "not ".repeat(n)),
            format!("x = {}1", "lambda: ".repeat(n)),
            format!("x = {}1", "1 if a else ".repeat(n)),
            format!("x = {}1", "1 + ".repeat(n)),
            format!("x = a{}", ".b".repeat(n)),
            format!("x = f{}", "(g)".repeat(n)),
            format!("x = a{}", "[0]".repeat(n)),
            (0..n)
                .map(|i| format!("{}if x:\n", " ".repeat(i)))
                .collect(),
        ];
        for s in &shapes {
            let r = check(s.as_bytes(), 500);
            assert!(r.is_some(), "not caught: {}", &s[..40.min(s.len())]);
            assert!(r.unwrap().offset < s.len());
        }
    }
}
