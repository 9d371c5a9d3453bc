//! Loader tests (includes, targets, variables, merges).
