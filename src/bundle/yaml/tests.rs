//! YAML loader tests (both parse paths, spans, limits).

use super::*;

fn p(text: &str) -> Result<Node, ParseError> {
    parse(&Arc::new(PathBuf::from("t.yml")), text, &Limits::default())
}

/// Every YAML file of the fixtures, plus edge cases: wherever the fast path answers, its tree
/// is exactly the one serde-saphyr's full path builds (values, keys, spans).
/// (path, text) of every `.yml` / `.yaml` file under these directories of the repository.
pub(super) fn yaml_files(dirs: &[&str]) -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack: Vec<PathBuf> = dirs.iter().map(|d| root.join(d)).collect();
    let mut out = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            // Fixtures of BL004 link out of the repository: never followed.
            if p.is_symlink() {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|x| x.to_str()), Some("yml" | "yaml")) {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    out.push((p.display().to_string(), t));
                }
            }
        }
    }
    out
}

#[test]
fn fast_path_matches_serde_saphyr() {
    // Documents the fast path must take.
    let own: Vec<(String, String)> = vec![
        ("keys".into(), "1: a\ntrue: b\n~: c\n'q': d\n-5: e\n0: f\n\"x y\": g\n".into()),
        ("scalars".into(), "a: [0, 1, -12, 123456789012345678, '', \"\", \"007\", 15.4.x-scala2.12, i3.xlarge, x y, true, false, ~, null, Null, NULL, .hidden, +z, -v, yes, No, on, OFF, y, n, Y, NaN, nan, inf, Inf, infinity, Infinity]\nb:\nc: |\n  block\n  text\nd: >-\n  folded\n  text\ne: \"esc \\u00e9 \\n\"\nf: 'it''s'\ng: {x: 1, w: [a, {z: 2}]}\nh: []\ni: {}\n".into()),
        ("nested".into(), "- - - a\n    - b\n  - c\n- {k: v}\n-\n- ''\n".into()),
        ("comments".into(), "# head\na: 1 # trailing\n# between\nb:\n  - x   # item\n".into()),
        ("unicode".into(), "name: \"héllo {{job.id}}\"\nclé: ünïcode\n".into()),
        ("doc markers".into(), "---\na: 1\n...\n".into()),
    ];
    let file = Arc::new(PathBuf::from("t.yml"));
    let limits = Limits::default();
    for (name, text) in &own {
        assert!(parse_fast(&file, text, &limits).is_some(), "{name}");
    }
    // Scalars it must leave to serde-saphyr, each alone (either way, the trees must match).
    let mut files = own;
    for s in [
        "-0",
        "007",
        "1.5",
        "1e3",
        "0x1F",
        "0o7",
        "0X1F",
        ".inf",
        "-.inf",
        ".nan",
        "True",
        "FALSE",
        ".Inf",
        "12:30",
        "1_000",
        "2024-01-01",
        "0xdeadbeef",
        "+1",
        "1234567890123456789",
        "99999999999999999999",
        "&a x",
        "!!str 1",
        "*a",
    ] {
        assert!(
            parse_fast(&file, &format!("a: {s}\n"), &limits).is_none(),
            "{s}"
        );
        files.push((s.to_string(), format!("a: {s}\nb: [{s}]\n")));
    }
    let big: String = (0..200).map(|i| format!("k{i}: {i}\n")).collect();
    assert!(parse_fast(&file, &big, &limits).is_some());
    files.push(("big mapping".into(), big.clone()));
    let big_dup = format!("{big}k150: again\n");
    for text in [
        big_dup.as_str(),
        "<<: {x: 1}\n",
        "a: 1\na: 2\n",
        "--- 1\n--- 2\n",
        "{a: 1}: x\n",
        "a: [\n",
    ] {
        assert!(parse_fast(&file, text, &limits).is_none(), "{text}");
    }
    files.push(("merge value".into(), "a: <<\n".into()));
    for (name, text) in [
        (
            "crlf",
            "a: 1\r\nb: [x, z]\r\nc: |\r\n  t\r\n  u\r\nd: \"q\"\r\n",
        ),
        ("explicit key", "? a\n: b\n? [x]\n: c\n"),
        ("multi-line plain", "a: hello\n  world\nb: 'one\n  two'\n"),
        ("quoted keys", "\"a b\": 1\n'c''d': 2\n\"\\u00e9\": 3\n"),
        ("empty document", "---\n"),
        ("comment only", "# nothing\n"),
        ("scalar document", "just text\n"),
        ("tabs", "a:\t1\nb: \tx\n"),
        ("bom", "\u{feff}a: 1\n"),
        ("indentless", "a:\n- x\n- w\nb: 2\n"),
    ] {
        if matches!(
            name,
            "crlf" | "multi-line plain" | "quoted keys" | "indentless" | "tabs"
        ) {
            assert!(parse_fast(&file, text, &limits).is_some(), "{name}");
        }
        files.push((name.into(), text.into()));
    }
    files.extend(yaml_files(&["fixtures", "tests"]));
    let mut fast = 0;
    for (name, text) in &files {
        if text.trim().is_empty() {
            continue;
        }
        let Some(f) = parse_fast(&file, text, &limits) else {
            continue;
        };
        fast += 1;
        let full = match parse_full(&file, text, &limits) {
            Ok(p) => p.node,
            Err(FullError::Parse(e)) => panic!(
                "{name}: the fast path accepted what serde-saphyr rejects: {}",
                e.message
            ),
            Err(FullError::ExtraDocuments) => {
                panic!("{name}: the fast path accepted several documents")
            }
        };
        assert_eq!(format!("{f:#?}"), format!("{full:#?}"), "{name}");
    }
    assert!(
        fast >= 90,
        "the fast path took only {fast} of {} files",
        files.len()
    );
}

#[test]
fn spans_and_merge_keys() {
    let text = "d: &d\n  max_retries: 3\njob:\n  <<: *d\n  name: x\n";
    let n = p(text).unwrap();
    let job = n.get("job").unwrap();
    let name = job.get("name").unwrap();
    assert_eq!(&text[name.loc.range], "x");
    let mr = job.get("max_retries").unwrap();
    assert_eq!(mr.as_i64(), Some(3));
    assert_eq!(&text[mr.loc.range], "*d");
    assert_eq!(&text[mr.loc.written()], "3");
}

#[test]
fn yaml_1_1_booleans_are_strings() {
    let n = p("a: [y, n, on, no, yes, true]\n").unwrap();
    let v: Vec<String> = n
        .get("a")
        .unwrap()
        .as_seq()
        .unwrap()
        .iter()
        .map(|x| x.to_json().to_string())
        .collect();
    assert_eq!(v, ["\"y\"", "\"n\"", "\"on\"", "\"no\"", "\"yes\"", "true"]);
}

#[test]
fn quoted_spans_include_quotes() {
    let text = "a: \"x {{job.id}}\"\n";
    let n = p(text).unwrap();
    assert_eq!(&text[n.get("a").unwrap().loc.range], "\"x {{job.id}}\"");
}

#[test]
fn syntax_error_position() {
    let text = "a: [1, 2\nb: 3\n";
    let e = p(text).unwrap_err();
    assert!(!e.limit);
    assert_eq!(usize::from(e.range.start()), 10);
}

#[test]
fn bare_braces_are_reported() {
    let e = p("x: {{input}}\n").unwrap_err();
    assert!(e.message.contains("quote it"), "{}", e.message);
}

#[test]
fn alias_bomb_is_a_limit_error() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for w in names.windows(2) {
        text.push_str(&format!(
            "{}: &{} [{}]\n",
            w[1],
            w[1],
            vec![format!("*{}", w[0]); 9].join(", ")
        ));
    }
    let start = std::time::Instant::now();
    let e = p(&text).unwrap_err();
    assert!(e.limit, "{}", e.message);
    assert!(start.elapsed().as_secs() < 30);
}

#[test]
fn deep_nesting_is_a_limit_error() {
    let text = format!("a: {}{}\n", "[".repeat(1000), "]".repeat(1000));
    let e = p(&text).unwrap_err();
    assert!(e.limit, "{}", e.message);
    assert!(e.message.contains("max-nesting"), "{}", e.message);
}

#[test]
fn repeated_keys_keep_the_last_value_and_are_noted() {
    let file = Arc::new(PathBuf::from("t.yml"));
    let text = "a: 1\nb: {x: 1, x: 2}\na: 3\n";
    let p = parse_with_notes(&file, text, &Limits::default()).unwrap();
    assert_eq!(p.node.get("a").and_then(Node::as_i64), Some(3));
    assert_eq!(p.node.get_path(&["b", "x"]).and_then(Node::as_i64), Some(2));
    let at = |n: &ParseNote| match n {
        ParseNote::DuplicateKey {
            key, first, second, ..
        } => (
            key.clone(),
            &text[usize::from(first.start())..usize::from(first.end())],
            usize::from(second.start()),
        ),
        other => panic!("{other:?}"),
    };
    let notes: Vec<_> = p.notes.iter().map(at).collect();
    assert_eq!(notes, [("x".into(), "x", 15), ("a".into(), "a", 21)]);
}

#[test]
fn a_second_document_is_ignored_with_a_note() {
    let file = Arc::new(PathBuf::from("t.yml"));
    let text = "a: &x 1\nb: *x\n---\nc: 2\n";
    let p = parse_with_notes(&file, text, &Limits::default()).unwrap();
    assert_eq!(p.node.get("b").and_then(Node::as_i64), Some(1));
    assert!(p.node.get("c").is_none());
    assert_eq!(
        p.notes,
        [ParseNote::ExtraDocuments {
            at: TextRange::new(TextSize::new(14), TextSize::new(17))
        }]
    );
}

#[test]
fn a_repeated_merge_key_is_an_error_at_the_second() {
    let file = Arc::new(PathBuf::from("t.yml"));
    let text = "x: &a {p: 1}\ny: &b {q: 2}\nz:\n  <<: *a\n  <<: *b\n";
    let e = parse(&file, text, &Limits::default()).unwrap_err();
    assert!(e.message.contains("merge key `<<`"), "{}", e.message);
    assert_eq!(usize::from(e.range.start()), text.rfind("<<").unwrap());
    // One merge key with a list is fine.
    assert!(parse(&file, "x: &a {p: 1}\nz:\n  <<: [*a]\n", &Limits::default()).is_ok());
}

#[test]
fn library_texts_do_not_reach_the_message() {
    // An alias inside its own anchor: serde-saphyr says "recursive references require weak
    // recursion types".
    let e = p("a: &x [*x]\n").unwrap_err();
    assert!(e.message.contains("cannot contain itself"), "{}", e.message);
    assert!(!e.message.contains("weak"), "{}", e.message);
    // 10,001 merge keys: "budget breached: MergeKeys { merge_keys: 10001 }".
    let mut text = String::from("base: &b {x: 1}\n");
    for i in 0..10_001 {
        text.push_str(&format!("m{i}: {{<<: *b}}\n"));
    }
    let e = p(&text).unwrap_err();
    assert!(e.limit, "{}", e.message);
    for internal in ["MergeKeys", "{", "budget breached"] {
        assert!(!e.message.contains(internal), "{}", e.message);
    }
    assert_eq!(
        super::budget_name("budget breached: MergeKeys { merge_keys: 10001 }"),
        "too many merge keys"
    );
}
