//! `docs/rules.md` is generated from the rule registry and must be up to date.

#[test]
fn rules_reference_is_up_to_date() {
    let want = bricklint::docs::rules_markdown();
    let path = std::path::Path::new("docs/rules.md");
    if std::env::var_os("BRICKLINT_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all("docs").unwrap();
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/rules.md is out of date: run `BRICKLINT_UPDATE_DOCS=1 cargo test --test docs`"
    );
    // Every rule's URL anchor exists in the reference.
    for r in bricklint::rules::all() {
        let url = bricklint::diagnostic::rule_url(r.meta().code);
        let anchor = url.rsplit('#').next().unwrap();
        assert!(
            have.contains(&format!("<a id=\"{anchor}\"></a>")),
            "{anchor}"
        );
    }
}

#[test]
fn readme_shows_the_rule_table() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let table = bricklint::docs::rules_table("docs/rules.md");
    assert!(
        readme.contains(&table),
        "README.md's rule table is out of date; paste the output of bricklint::docs::rules_table(\"docs/rules.md\")"
    );
}
