//! From the bundle model to the planner's [`PlanJob`]s. Waiting for the typed bundle model.

use std::path::Path;

use super::facts::NoFacts;
use super::model::PlanJob;
use crate::config::Config;

pub struct Loaded {
    pub jobs: Vec<PlanJob>,
    pub facts: NoFacts,
}

impl Loaded {
    pub fn select(&self, _job: Option<&str>) -> Result<Vec<PlanJob>, String> {
        Ok(self.jobs.clone())
    }
}

pub fn load(_dir: &Path, _config: Config, _target: Option<&str>) -> Result<Loaded, String> {
    Err("the bundle model is not available yet".into())
}
