//! bricklint: static analyzer, migration tool and bundle companion for Databricks notebook
//! fan-out. The CLI, tests and future integrations use this library API.

pub mod boundary;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod discover;
pub mod docs;
pub mod engine;
pub mod fasthash;
pub mod fix;
pub mod fsutil;
pub mod limits;
pub mod migrate;
pub mod output;
pub mod payload;
pub mod plan;
pub mod profile;
pub mod project;
pub mod python;
pub mod server;
pub mod source;
pub mod suppress;

#[path = "../rules/mod.rs"]
pub mod rules;

pub use diagnostic::{Diagnostic, Message, Severity};
pub use engine::{check, CheckOptions, CheckResult};
