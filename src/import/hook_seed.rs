//! Seed 001 §4.2's hook files as written, read into one list of tasks.
//!
//! Each of `layered_init_hooks`, `layered_custom_hooks` and
//! `layered_post_hooks` is either a map of groups, as the seed prints it
//! (`global_init: {stage, execution, targets, context_required, tasks: [...]}`,
//! `case_level_monitoring: {..., monitoring_tasks: {name: {purpose,
//! condition, cmd}}}`), or a plain list of tasks that each name their
//! `stage`. A group's `targets` and `condition` hold for its tasks unless a
//! task says otherwise. The seed's descriptive blocks (`hook_layers`,
//! `hook_execution_model`, `custom_hook_termination`) are read and left
//! aside: they describe what ebpf-perf's layers do.

use super::ImportError;
use crate::yaml::Value;
use indexmap::IndexMap;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

/// The three lists, in the order their tasks are placed.
pub const LISTS: [&str; 3] = [
    "layered_init_hooks",
    "layered_custom_hooks",
    "layered_post_hooks",
];
pub const STAGES: [&str; 4] = ["global", "tool", "case", "test"];

/// The seed's `execution` values and the stage each belongs to.
const EXECUTIONS: [(&str, &str); 4] = [
    ("once_per_session", "global"),
    ("per_tool", "tool"),
    ("per_case", "case"),
    ("per_performance_test", "test"),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    layered_init_hooks: Option<Value>,
    layered_custom_hooks: Option<Value>,
    layered_post_hooks: Option<Value>,
    #[serde(rename = "hook_layers", default)]
    _layers: IgnoredAny,
    #[serde(rename = "hook_execution_model", default)]
    _model: IgnoredAny,
    /// Stops monitors by pid files: ebpf-perf stops background tasks by PID.
    #[serde(rename = "custom_hook_termination", default)]
    _termination: IgnoredAny,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub enum Targets {
    #[default]
    Unset,
    One(String),
    Many(Vec<String>),
}

/// A task of the plain-list form, or of a group's `tasks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListTask {
    name: String,
    stage: Option<String>,
    targets: Option<Targets>,
    cmd: String,
    output: Option<String>,
    condition: Option<String>,
    timeout: Option<u32>,
    #[serde(default)]
    ignore_errors: bool,
    #[serde(rename = "context_required", default)]
    _context: IgnoredAny,
    #[serde(rename = "execution", default)]
    _execution: IgnoredAny,
    #[serde(rename = "purpose", default)]
    _purpose: IgnoredAny,
}

/// A group of tasks of one stage, as the seed prints them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    stage: Option<String>,
    execution: Option<String>,
    targets: Option<Targets>,
    condition: Option<String>,
    #[serde(default)]
    tasks: Vec<ListTask>,
    #[serde(default)]
    monitoring_tasks: IndexMap<String, MonitoringTask>,
    #[serde(rename = "context_required", default)]
    _context: IgnoredAny,
    #[serde(rename = "lifecycle", default)]
    _lifecycle: IgnoredAny,
    #[serde(rename = "trigger_conditions", default)]
    _trigger: IgnoredAny,
    #[serde(rename = "purpose", default)]
    _purpose: IgnoredAny,
}

/// A `monitoring_tasks` entry: its key is its name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MonitoringTask {
    cmd: String,
    condition: Option<String>,
    targets: Option<Targets>,
    output: Option<String>,
    #[serde(rename = "purpose", default)]
    _purpose: IgnoredAny,
}

/// One seed task, wherever it stood.
#[derive(Debug, Clone)]
pub struct SeedTask {
    /// Where it stands, for messages: `file: list.group.tasks[i] `name``.
    pub at: String,
    /// Index into [`LISTS`].
    pub list: usize,
    pub name: String,
    /// Index into [`STAGES`].
    pub stage: usize,
    pub targets: Targets,
    pub cmd: String,
    pub output: Option<String>,
    pub condition: Option<String>,
    pub timeout: Option<u32>,
    pub ignore_errors: bool,
}

fn typed<T: DeserializeOwned>(v: Value, at: &str) -> Result<T, String> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let place = if path == "." {
            String::new()
        } else {
            format!(".{path}")
        };
        format!("{at}{place}: {}", e.into_inner())
    })
}

fn stage_index(stage: &str, at: &str) -> Result<usize, String> {
    STAGES
        .iter()
        .position(|s| *s == stage)
        .ok_or_else(|| format!("{at}: stage `{stage}` is not one of global, tool, case, test"))
}

/// The stage of group `key`: its `stage`, or the first word of its key
/// (`case_init`, `test_level_monitoring`); its `execution` must agree.
fn group_stage(key: &str, g: &Group, at: &str) -> Result<usize, String> {
    let named = g.stage.as_deref().or_else(|| {
        let first = key.split('_').next().unwrap_or(key);
        STAGES.iter().copied().find(|s| *s == first)
    });
    let Some(stage) = named else {
        return Err(format!(
            "{at}: the group has no `stage` (global, tool, case or test)"
        ));
    };
    let i = stage_index(stage, at)?;
    if let Some((exec, belongs)) = EXECUTIONS
        .iter()
        .find(|(e, _)| Some(*e) == g.execution.as_deref())
    {
        if *belongs != stage {
            return Err(format!(
                "{at}: execution `{exec}` belongs to stage {belongs}, but the group's stage is {stage}"
            ));
        }
    }
    Ok(i)
}

impl ListTask {
    /// The task at `at`, with its group's `targets` and `condition` where
    /// it gives none.
    fn into_seed(self, at: String, list: usize, stage: usize, group: Option<&Group>) -> SeedTask {
        SeedTask {
            at,
            list,
            name: self.name,
            stage,
            targets: self
                .targets
                .or_else(|| group?.targets.clone())
                .unwrap_or_default(),
            cmd: self.cmd,
            output: self.output,
            condition: self.condition.or_else(|| group?.condition.clone()),
            timeout: self.timeout,
            ignore_errors: self.ignore_errors,
        }
    }
}

impl MonitoringTask {
    /// As a task of a group's `tasks`, named by its key.
    fn into_list(self, name: String) -> ListTask {
        ListTask {
            name,
            stage: None,
            targets: self.targets,
            cmd: self.cmd,
            output: self.output,
            condition: self.condition,
            timeout: None,
            ignore_errors: false,
            _context: IgnoredAny,
            _execution: IgnoredAny,
            _purpose: IgnoredAny,
        }
    }
}

/// The tasks of one list given as a map of groups.
fn groups(list: usize, v: Value, at: &str, out: &mut Vec<SeedTask>) -> Result<(), String> {
    let groups: IndexMap<String, Value> = typed(v, at)?;
    for (key, g) in groups {
        let at = format!("{at}.{key}");
        let mut g: Group = typed(g, &at)?;
        let stage = group_stage(&key, &g, &at)?;
        let tasks = std::mem::take(&mut g.tasks).into_iter().enumerate();
        let listed = tasks.map(|(i, t)| (format!("{at}.tasks[{i}] `{}`", t.name), t));
        let monitoring = std::mem::take(&mut g.monitoring_tasks)
            .into_iter()
            .map(|(name, t)| (format!("{at}.monitoring_tasks `{name}`"), t.into_list(name)));
        for (place, t) in listed.chain(monitoring) {
            out.push(t.into_seed(place, list, stage, Some(&g)));
        }
    }
    Ok(())
}

/// The tasks of one list given as a plain list.
fn list(list: usize, v: Value, at: &str, out: &mut Vec<SeedTask>) -> Result<(), String> {
    let tasks: Vec<ListTask> = typed(v, at)?;
    for (i, t) in tasks.into_iter().enumerate() {
        let at = format!("{at}[{i}] `{}`", t.name);
        let Some(stage) = t.stage.as_deref() else {
            return Err(format!("{at}: missing field `stage`"));
        };
        let stage = stage_index(stage, &at)?;
        out.push(t.into_seed(at, list, stage, None));
    }
    Ok(())
}

/// Every task of a seed hooks file's `text`, list by list; `problems` gets
/// what is wrong with it.
pub fn read(
    text: &str,
    source: &str,
    problems: &mut Vec<String>,
) -> Result<Vec<SeedTask>, ImportError> {
    let seed: SeedFile = crate::yaml::from_str(text).map_err(|e| ImportError::Parse {
        file: source.to_string(),
        why: e.to_string(),
    })?;
    let mut out = Vec::new();
    let lists = [
        seed.layered_init_hooks,
        seed.layered_custom_hooks,
        seed.layered_post_hooks,
    ];
    for (i, v) in lists.into_iter().enumerate() {
        let at = format!("{source}: {}", LISTS[i]);
        let read = match v {
            None | Some(Value::Null) => continue,
            Some(v @ Value::Array(_)) => list(i, v, &at, &mut out),
            Some(v) => groups(i, v, &at, &mut out),
        };
        if let Err(e) = read {
            problems.push(e);
        }
    }
    Ok(out)
}
