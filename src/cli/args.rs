//! The bundle arguments `check`, `plan` and `migrate` share: `--config`, `--target` (`-t`) and
//! `--var`, one definition so the three commands load a bundle the same way.

use std::path::PathBuf;

use clap::Args;

/// How to load the bundle: the configuration file, the target and variable values.
#[derive(Debug, Clone, Default, Args)]
pub struct BundleArgs {
    /// Configuration file (default: bricklint.toml, .bricklint.toml or pyproject.toml upward).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Bundle target whose overrides and variables apply (default: the `default: true` target).
    #[arg(long, short = 't')]
    pub target: Option<String>,
    /// Bundle variable value, `name=value` (repeatable; `a=1,b=2` sets several). Wins over
    /// `BUNDLE_VAR_<name>`, target values and defaults, as in the Databricks CLI.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

impl BundleArgs {
    /// The `--var` assignments, parsed as the Databricks CLI parses them.
    pub fn var_values(&self) -> Result<Vec<(String, String)>, String> {
        crate::bundle::parse_var_flags(&self.vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        bundle: BundleArgs,
    }

    #[test]
    fn spellings() {
        let c = Cli::try_parse_from([
            "x", "--config", "b.toml", "-t", "prod", "--var", "a=1,b=2", "--var", "c=3",
        ])
        .unwrap();
        assert_eq!(c.bundle.config, Some(PathBuf::from("b.toml")));
        assert_eq!(c.bundle.target.as_deref(), Some("prod"));
        assert_eq!(
            c.bundle.var_values().unwrap(),
            [("a", "1"), ("b", "2"), ("c", "3")].map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let c = Cli::try_parse_from(["x", "--target", "dev"]).unwrap();
        assert_eq!(c.bundle.target.as_deref(), Some("dev"));
        assert!(Cli::try_parse_from(["x", "--var", "nope"])
            .unwrap()
            .bundle
            .var_values()
            .is_err());
    }
}
