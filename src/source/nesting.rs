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
    let n = src.len();
    let mut i = 0usize;
    let mut brackets: u32 = 0;
    let mut unary: u32 = 0;
    let mut tail: u32 = 0;
    let mut chain: u32 = 0;
    let mut operand = false;
    // Indentation stack (widths) of enclosing blocks, and whether we are at a line start.
    let mut indents: Vec<u32> = Vec::new();
    let mut line_start = true;
    macro_rules! reset_expr {
        () => {{
            unary = 0;
            tail = 0;
            chain = 0;
        }};
    }
    while i < n {
        if line_start && brackets == 0 {
            line_start = false;
            let mut w = 0u32;
            while i < n && (src[i] == b' ' || src[i] == b'\t' || src[i] == b'\x0c') {
                w += if src[i] == b'\t' { 8 } else { 1 };
                i += 1;
            }
            if i >= n {
                break;
            }
            if !matches!(src[i], b'\n' | b'\r' | b'#') {
                while indents.last().is_some_and(|&t| t > w) {
                    indents.pop();
                }
                if w > 0 && indents.last().is_none_or(|&t| t < w) {
                    indents.push(w);
                }
            }
            continue;
        }
        let b = src[i];
        // Fast paths for the most common bytes: blanks and the letters of a name that does not
        // start one of the few words that matter (`not`, `await`, `yield`, `lambda`, `else`).
        if matches!(b, b' ' | b'\t' | b'\r' | b'\x0c') {
            i += 1;
            continue;
        }
        if (b.is_ascii_alphabetic() || b == b'_' || b >= 0x80)
            && !matches!(b, b'n' | b'a' | b'y' | b'l' | b'e')
        {
            // String prefixes (`r"`, `f'`, `rb"`) fall through to the general path.
            let start = i;
            i += 1;
            while i < n && is_ident_continue(src[i]) {
                i += 1;
            }
            if i < n && (src[i] == b'\'' || src[i] == b'"') && i - start <= 2 {
                i = skip_string(src, i);
            }
            operand = true;
            unary = 0;
            continue;
        }
        match b {
            b'#' => {
                i = memchr::memchr(b'\n', &src[i..]).map_or(n, |k| i + k);
                continue;
            }
            b'\n' => {
                if brackets == 0 {
                    reset_expr!();
                    operand = false;
                    line_start = true;
                }
                i += 1;
                continue;
            }
            b'\\' => {
                // Line continuation (or a stray backslash): skip the next byte.
                i += 2;
                continue;
            }
            b'\'' | b'"' => {
                i = skip_string(src, i);
                operand = true;
                unary = 0;
                continue;
            }
            b'(' | b'[' | b'{' => {
                // A call or subscript of an operand (`f(a)(b)`, `x[0][1]`) nests to the left.
                if operand && b != b'{' {
                    chain += 1;
                }
                brackets = brackets.saturating_add(1);
                operand = false;
            }
            b')' | b']' | b'}' => {
                brackets = brackets.saturating_sub(1);
                unary = 0;
                tail = 0;
                operand = true;
            }
            b',' | b';' | b'=' => {
                // `==`, `<=`, ... compare flat; any `=` ends the operand chain.
                reset_expr!();
                operand = false;
            }
            b':' => {
                unary = 0;
                chain = 0;
                operand = false;
            }
            b'-' | b'+' | b'~' | b'*' | b'/' | b'%' | b'@' | b'&' | b'|' | b'^' | b'<' | b'>'
            | b'!' => {
                // Multi-character operators count once.
                let mut j = i + 1;
                while j < n && matches!(src[j], b'*' | b'/' | b'<' | b'>' | b'=') {
                    j += 1;
                }
                if src[j - 1] == b'=' {
                    reset_expr!();
                } else if operand {
                    chain += 1;
                } else {
                    unary += 1;
                }
                operand = false;
                i = j;
                if brackets + unary + tail + chain + indents.len() as u32 > limit {
                    return Some(TooDeep {
                        offset: i - 1,
                        depth: brackets + unary + tail + chain + indents.len() as u32,
                    });
                }
                continue;
            }
            b'.' => {
                if i + 1 < n && src[i + 1].is_ascii_digit() && !operand {
                    i = skip_number(src, i);
                    operand = true;
                    unary = 0;
                    continue;
                }
                if src[i..].starts_with(b"...") {
                    i += 3;
                    operand = true;
                    continue;
                }
                chain += 1;
                operand = false;
            }
            b'0'..=b'9' => {
                i = skip_number(src, i);
                operand = true;
                unary = 0;
                continue;
            }
            _ if is_ident_start(b) => {
                let start = i;
                while i < n && is_ident_continue(src[i]) {
                    i += 1;
                }
                // String prefixes: r"", b'', f"", rb"" ...
                if i < n && (src[i] == b'\'' || src[i] == b'"') && i - start <= 2 {
                    i = skip_string(src, i);
                    operand = true;
                    unary = 0;
                    continue;
                }
                // Only the words that open a level matter; every other word is an operand
                // (keywords like `and`, `for`, `in` just end up not resetting a chain, which can
                // only overestimate).
                let word = &src[start..i];
                match (word.len(), word) {
                    (3, b"not") | (5, b"await") | (5, b"yield") => {
                        unary += 1;
                        operand = false;
                    }
                    (6, b"lambda") => {
                        tail += 1;
                        operand = false;
                    }
                    (4, b"else") => {
                        let next = src[i..].iter().find(|c| !c.is_ascii_whitespace());
                        if next != Some(&b':') {
                            tail += 1;
                        }
                        operand = false;
                    }
                    _ => {
                        operand = true;
                        unary = 0;
                    }
                }
                if brackets + unary + tail + chain + indents.len() as u32 > limit {
                    return Some(TooDeep {
                        offset: start,
                        depth: brackets + unary + tail + chain + indents.len() as u32,
                    });
                }
                continue;
            }
            _ => {}
        }
        let depth = brackets + unary + tail + chain + indents.len() as u32;
        if depth > limit {
            return Some(TooDeep { offset: i, depth });
        }
        i += 1;
    }
    None
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
