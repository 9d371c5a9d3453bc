//! `migrate --write` is all or nothing per notebook (issue 19): killed at every fault point of
//! every write (`BRICKLINT_FAULT_INJECT`, see `src/fsutil.rs`) and after every rename, each
//! migration is fully old, or journalled so that `check` reports it (BL005), a dry run says it
//! is pending, and the next `migrate --write` finishes it: the tree is then exactly what an
//! uninterrupted run writes, with no temporary file left. Nothing is written outside the
//! project (the temporary directory stays empty).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/migrate")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Two bundles: one whose job is edited in place (notebook + job YAML), one that gets a new
/// job resource file (notebook + new file).
const BUNDLES: &[&str] = &["existing_job", "named_function"];

fn project() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for b in BUNDLES {
        copy_dir(&fixtures().join(b), &t.path().join(b));
    }
    t
}

fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// The files of one bundle of a tree.
fn part(t: &BTreeMap<PathBuf, Vec<u8>>, bundle: &str) -> BTreeMap<PathBuf, Vec<u8>> {
    t.iter()
        .filter(|(k, _)| k.starts_with(bundle))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn bricklint(dir: &Path, tmp: &Path, args: &[&str], fault: Option<&str>) -> (Option<i32>, String) {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("bricklint"));
    c.args(args)
        .current_dir(dir)
        .env("TMPDIR", tmp)
        .stdin(Stdio::null());
    match fault {
        Some(f) => c.env(bricklint::fsutil::FAULT_ENV, f),
        None => c.env_remove(bricklint::fsutil::FAULT_ENV),
    };
    let out = c.output().unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn killed_migrate_write_is_finished_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let base = project();
    let old = tree(base.path());
    let (code, out) = bricklint(base.path(), tmp.path(), &["migrate", "--write"], None);
    assert_eq!(code, Some(0), "{out}");
    let new = tree(base.path());
    for b in BUNDLES {
        assert_ne!(part(&old, b), part(&new, b), "{b}: nothing migrated");
    }
    // Writes of a clean run: each migration stages its files and writes one journal.
    let changed = new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).count();
    let writes = changed + BUNDLES.len();
    let mut journalled = 0;
    for point in [
        "before-temp-write",
        "mid-temp-write",
        "after-temp-write",
        "after-rename",
    ] {
        for n in 1..=writes {
            let fault = format!("{point}:{n}");
            let p = project();
            let (code, out) =
                bricklint(p.path(), tmp.path(), &["migrate", "--write"], Some(&fault));
            assert_ne!(code, Some(0), "{fault}: not aborted\n{out}");
            let after = tree(p.path());
            for b in BUNDLES {
                let mine: BTreeMap<PathBuf, Vec<u8>> = part(&after, b)
                    .into_iter()
                    .filter(|(k, _)| !k.to_string_lossy().ends_with(".bricklint-tmp"))
                    .collect();
                let journal = Path::new(b).join(".bricklint/migrate-journal");
                if mine.contains_key(&journal) {
                    journalled += 1;
                    continue;
                }
                assert!(
                    mine == part(&old, b) || mine == part(&new, b),
                    "{fault}: {b} is neither all old nor all new, and has no journal"
                );
            }
            if after.keys().any(|k| k.ends_with("migrate-journal")) {
                let (code, out) =
                    bricklint(p.path(), tmp.path(), &["check", "--select", "BL005"], None);
                assert_eq!(
                    code,
                    Some(1),
                    "{fault}: check must report the journal\n{out}"
                );
                assert!(out.contains("BL005"), "{out}");
                let (code, out) = bricklint(p.path(), tmp.path(), &["migrate"], None);
                assert_eq!(code, Some(1), "{fault}: {out}");
                assert!(out.contains("pending"), "{out}");
                assert_eq!(after, tree(p.path()), "{fault}: a dry run wrote");
            }
            // The next run finishes the job: exactly the uninterrupted result.
            let (code, out) = bricklint(p.path(), tmp.path(), &["migrate", "--write"], None);
            assert_eq!(code, Some(0), "{fault}: re-run\n{out}");
            assert_eq!(
                tree(p.path()),
                new,
                "{fault}: the re-run did not finish the migration\n{out}"
            );
            assert!(
                std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
                "{fault}: something was written to the temporary directory"
            );
        }
    }
    assert!(journalled > 0, "no kill point fell between the renames");
}
