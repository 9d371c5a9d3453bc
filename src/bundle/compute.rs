//! Where a job task runs: one model for `bricklint plan` (what a task of the bundle runs on)
//! and `bricklint migrate` (`--compute`, what the generated tasks run on).

use serde::Serialize;

/// Where a task runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Compute {
    /// A notebook task without compute keys runs on serverless.
    #[default]
    Serverless,
    JobCluster(String),
    ExistingCluster(String),
    NewCluster(String),
    Environment(String),
    /// Tasks that need no compute (For Each parent, condition, run_job, pipeline, SQL).
    NotNeeded,
}

impl std::str::FromStr for Compute {
    type Err = String;
    /// `--compute`: `serverless`, `existing-cluster=<id or ${var.x}>` or `job-cluster=<key>`.
    fn from_str(s: &str) -> Result<Self, String> {
        let key_ok = |k: &str| {
            !k.is_empty()
                && k.len() <= crate::limits::MAX_KEY_CHARS
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        match s.split_once('=') {
            None if s == "serverless" => Ok(Compute::Serverless),
            Some(("existing-cluster", id)) if !id.is_empty() => {
                Ok(Compute::ExistingCluster(id.to_string()))
            }
            Some(("job-cluster", key)) if key_ok(key) => Ok(Compute::JobCluster(key.to_string())),
            _ => Err(format!(
                "invalid --compute `{s}`: expected serverless, existing-cluster=<id or ${{var.x}}> or job-cluster=<key>"
            )),
        }
    }
}

impl Compute {
    pub fn describe(&self) -> String {
        match self {
            Compute::Serverless => "serverless".into(),
            Compute::JobCluster(k) => format!("job cluster `{k}`"),
            Compute::ExistingCluster(id) => format!("existing cluster `{id}`"),
            Compute::NewCluster(s) => format!("new cluster ({s})"),
            Compute::Environment(k) => format!("serverless environment `{k}`"),
            Compute::NotNeeded => "none needed".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_parses() {
        assert_eq!("serverless".parse::<Compute>(), Ok(Compute::Serverless));
        assert_eq!(
            "existing-cluster=${var.cluster_id}".parse::<Compute>(),
            Ok(Compute::ExistingCluster("${var.cluster_id}".into()))
        );
        assert_eq!(
            "job-cluster=main".parse::<Compute>(),
            Ok(Compute::JobCluster("main".into()))
        );
        assert!("job-cluster=a b".parse::<Compute>().is_err());
        assert!("job-cluster=".parse::<Compute>().is_err());
        assert!("existing-cluster=".parse::<Compute>().is_err());
        assert!("gpu".parse::<Compute>().is_err());
    }
}
