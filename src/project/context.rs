//! What a rule sees: one document, one bundle or the whole project, with the project around it.

use crate::bundle::Bundle;
use crate::source::Document;

use super::Project;

pub struct DocContext<'a> {
    pub doc: &'a Document,
    pub project: &'a Project,
    /// Is this document analysed in full (the engine decides: files named on the command line,
    /// files with suppression comments, files that write task values, files the orchestration
    /// index parsed, files a rule's `wants_parse` asks for)? When not, its syntax tree must not
    /// be built: rules that read `doc.python()` return early unless their `wants_parse` asked
    /// for it.
    pub analysed: bool,
}

pub struct BundleContext<'a> {
    pub bundle: &'a Bundle,
    pub project: &'a Project,
}

pub struct ProjectContext<'a> {
    pub project: &'a Project,
}
