//! Checks of ebpf-tools-config.yaml and the eBPF case files it names.

use super::*;

/// A case file read once, however many tools name it.
pub(super) struct CaseSource {
    src: Source,
    cases: Option<HashMap<u32, Arc<EbpfCase>>>,
}

pub(super) fn read_cases(
    ck: &mut Checker,
    path: PathBuf,
    tools_src: &Source,
    key: &[&str],
) -> CaseSource {
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            ck.at(
                tools_src,
                key,
                format!("cannot read case file {}: {e}", path.display()),
            );
            return CaseSource {
                src: Source {
                    shown: path,
                    text: String::new(),
                },
                cases: None,
            };
        }
    };
    let src = Source { shown: path, text };
    let cases = match serde_json::from_str::<CaseFile>(&src.text) {
        Ok(f) => {
            let mut map = HashMap::new();
            for c in f.into_cases() {
                if map.contains_key(&c.id) {
                    ck.problems.push(Problem {
                        file: src.shown.clone(),
                        line: locate::line_of_json_id(&src.text, c.id),
                        key: format!("id {}", c.id),
                        message: "is used by two cases; case ids must be unique".into(),
                    });
                }
                map.insert(c.id, Arc::new(c));
            }
            Some(map)
        }
        Err(e) => {
            // Untagged enums hide the inner error; parse again as a plain list for it.
            let detail = serde_json::from_str::<Vec<EbpfCase>>(&src.text)
                .err()
                .unwrap_or(e);
            ck.problems.push(Problem {
                file: src.shown.clone(),
                line: (detail.line() > 0).then_some(detail.line()),
                key: String::new(),
                message: format!(
                    "{detail}; expected a JSON list of cases {{id, name, command, duration, target?, parameters?}}"
                ),
            });
            None
        }
    };
    CaseSource { src, cases }
}

/// The longest a case may ask to wait for its program to attach.
const MAX_ATTACH_TIMEOUT_S: u32 = 3600;

pub(super) fn check_case(ck: &mut Checker, cs: &Source, case: &EbpfCase, envs: &[&TestEnv]) {
    let at = |ck: &mut Checker, key: String, msg: String| {
        ck.problems.push(Problem {
            file: cs.shown.clone(),
            line: locate::line_of_json_id(&cs.text, case.id),
            key,
            message: msg,
        });
    };
    let k = |f: &str| format!("case {}.{f}", case.id);
    if case.name.trim().is_empty() {
        at(ck, k("name"), "is empty; expected a name for people".into());
    }
    if case.duration == 0 {
        at(
            ck,
            k("duration"),
            "0 is not a duration; expected seconds >= 1".into(),
        );
    }
    if let Some(t) = case.attach_timeout_s {
        if !(1..=MAX_ATTACH_TIMEOUT_S).contains(&t) {
            at(
                ck,
                k("attach_timeout_s"),
                format!("{t} is out of range; expected seconds from 1 to {MAX_ATTACH_TIMEOUT_S}"),
            );
        }
    }
    for (pk, pv) in &case.parameters {
        if matches!(pk.as_str(), "protocol" | "direction") {
            if let Err(e) = check_safe_id(&pv.text()) {
                at(
                    ck,
                    k(&format!("parameters.{pk}")),
                    format!("{:?} {e} (it becomes part of a directory name)", pv.text()),
                );
            }
        }
    }
    let vars = common_vars(envs.iter().copied());
    let known = |n: &str| {
        ENV_PLACEHOLDERS.contains(&n)
            || CASE_PLACEHOLDERS.contains(&n)
            || case.parameters.contains_key(n)
            || vars.contains(n)
    };
    if case.command.trim().is_empty() {
        at(
            ck,
            k("command"),
            "is empty; expected the command that starts the eBPF program".into(),
        );
    }
    for msg in super::quoted(&case.command) {
        at(ck, k("command"), msg);
    }
    for name in template::placeholders(&case.command) {
        if !known(name) {
            at(
                ck,
                k("command"),
                format!("unknown placeholder {{{name}}}; expected an environment placeholder, a case parameter or an env var of every environment the case runs in"),
            );
        }
    }
}

/// `comparisons:` name at least two cases each, every one of them a case
/// some tool selects (`case_N`, or `tool_id::case_N` to be exact) or a tool
/// (its case; the first, when it has several).
pub(super) fn check_comparisons(
    ck: &mut Checker,
    (src, f): &(Source, ToolsFile),
) -> Vec<Vec<String>> {
    let mut known: Vec<String> = Vec::new();
    for (tid, t) in &f.ebpf_tools {
        known.push(tid.clone());
        let ids = t
            .case_ids
            .iter()
            .flatten()
            .copied()
            .chain(
                t.testcase_source
                    .iter()
                    .flat_map(|s| s.case_ids.iter().copied()),
            )
            .chain(t.cases.iter().flatten().map(|c| c.id));
        for id in ids {
            known.push(format!("case_{id}"));
            known.push(format!("{tid}::case_{id}"));
        }
    }
    let mut out = Vec::new();
    for (i, c) in f.comparisons.iter().enumerate() {
        let idx = format!("[{i}]");
        if c.cases.len() < 2 {
            ck.at(
                src,
                &["comparisons", &idx, "cases"],
                "names fewer than two cases; a comparison needs two or more",
            );
        }
        for (j, case) in c.cases.iter().enumerate() {
            if !known.contains(case) {
                ck.at(
                    src,
                    &["comparisons", &idx, "cases", &format!("[{j}]")],
                    format!("`{case}` is not a tool or a case of any tool in this file; write case_N, tool_id::case_N or tool_id"),
                );
            }
        }
        out.push(c.cases.clone());
    }
    out
}

/// `ratings:` levels that grow and are not negative, per aspect.
pub(super) fn check_ratings(
    ck: &mut Checker,
    (src, f): &(Source, ToolsFile),
) -> crate::ratings::Thresholds {
    let t = f.ratings.unwrap_or_default();
    for (key, levels) in t.keys() {
        if let Some(p) = levels.problem() {
            ck.at(src, &["ratings", key], p);
        }
    }
    t
}

pub(super) fn check_tools(
    ck: &mut Checker,
    dir: &Path,
    (src, f): &(Source, ToolsFile),
    envs: &EnvFile,
    spec: &PerfSpec,
) -> IndexMap<String, Tool> {
    if f.ebpf_tools.is_empty() {
        ck.at(src, &["ebpf_tools"], "is empty; expected at least one tool");
    }
    let defined: Vec<&str> = [
        spec.throughput.as_ref().map(|_| "throughput"),
        spec.latency.as_ref().map(|_| "latency"),
        spec.pps.as_ref().map(|_| "pps"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut files: HashMap<PathBuf, CaseSource> = HashMap::new();
    let mut out = IndexMap::new();
    let env_names: Vec<&str> = envs.test_environments.keys().map(String::as_str).collect();
    let defaults = super::budgets::check(ck, src, &["budgets"], &f.budgets, &env_names, false);
    check_regression(ck, src, &["regression_pct"], f.regression_pct);
    for (tid, t) in &f.ebpf_tools {
        ck.id(src, &["ebpf_tools", tid], "tool id", tid);
        let mut budgets = crate::config::budgets::Budgets {
            rules: defaults.clone(),
        };
        budgets.rules.extend(super::budgets::check(
            ck,
            src,
            &["ebpf_tools", tid, "budgets"],
            &t.budgets,
            &env_names,
            true,
        ));
        check_regression(
            ck,
            src,
            &["ebpf_tools", tid, "regression_pct"],
            t.regression_pct,
        );
        let nested = t.testcase_source.is_some() || t.test_associations.is_some();
        if t.is_program_shape() {
            if nested || t.testcase_file.is_some() || t.case_ids.is_some() {
                ck.at(
                    src,
                    &["ebpf_tools", tid],
                    "mixes the program shape (path, executable, parameters, test_scope, cases) with a \
                     case file (testcase_source or testcase_file); use one",
                );
                continue;
            }
            let Some((cases, env_list, types)) =
                program_tool::check(ck, src, tid, t, envs, &defined)
            else {
                continue;
            };
            out.insert(
                tid.clone(),
                tool_of(
                    f,
                    (tid, t),
                    budgets,
                    src.shown.clone(),
                    cases,
                    env_list,
                    types,
                ),
            );
            continue;
        }
        let flat = t.testcase_file.is_some()
            || t.case_ids.is_some()
            || t.applicable_environments.is_some()
            || t.performance_test_types.is_some();
        if nested && flat {
            ck.at(
                src,
                &["ebpf_tools", tid],
                "mixes the nested shape (testcase_source, test_associations) with the flat one \
                 (testcase_file, case_ids, applicable_environments, performance_test_types); use one",
            );
            continue;
        }
        let (file, ids, file_key, ids_key) = match (
            &t.testcase_source,
            &t.testcase_file,
            &t.case_ids,
        ) {
            (Some(s), _, _) => (
                s.file.clone(),
                s.case_ids.clone(),
                vec!["testcase_source", "file"],
                vec!["testcase_source", "case_ids"],
            ),
            (None, Some(file), Some(ids)) => (
                file.clone(),
                ids.clone(),
                vec!["testcase_file"],
                vec!["case_ids"],
            ),
            (None, None, _) => {
                ck.at(src, &["ebpf_tools", tid], "has no case file; expected testcase_source: {file, case_ids} or testcase_file + case_ids");
                continue;
            }
            (None, Some(_), None) => {
                ck.at(
                    src,
                    &["ebpf_tools", tid],
                    "has testcase_file but no case_ids; expected the list of case ids to run",
                );
                continue;
            }
        };
        let (env_list, types, assoc) = match (
            &t.test_associations,
            &t.applicable_environments,
            &t.performance_test_types,
        ) {
            (Some(a), _, _) => (
                a.applicable_environments.clone(),
                a.performance_test_types.clone(),
                Some("test_associations"),
            ),
            (None, Some(e), Some(p)) => (e.clone(), p.clone(), None),
            _ => {
                ck.at(
                    src,
                    &["ebpf_tools", tid],
                    "has no test associations; expected test_associations: {applicable_environments, performance_test_types} \
                     or both keys at the tool level",
                );
                continue;
            }
        };
        let tkey = |k: &'static str| -> Vec<&str> {
            let mut v = vec!["ebpf_tools", tid.as_str()];
            v.extend(assoc);
            v.push(k);
            v
        };
        let with = |ks: &[&'static str]| -> Vec<&str> {
            let mut v = vec!["ebpf_tools", tid.as_str()];
            v.extend_from_slice(ks);
            v
        };
        let tool_envs = check_env_list(ck, src, &tkey("applicable_environments"), &env_list, envs);
        let test_types =
            check_test_types(ck, src, &tkey("performance_test_types"), &types, &defined);
        // cases
        let ids_path = with(&ids_key);
        ck.non_empty(src, &ids_path, &ids, "case id");
        let case_path = super::case_path::resolve(ck, src, &with(&file_key), dir, &file);
        let cs = files
            .entry(case_path.clone())
            .or_insert_with(|| read_cases(ck, case_path.clone(), src, &with(&file_key)));
        let mut cases = Vec::new();
        if let Some(map) = &cs.cases {
            let mut seen = HashSet::new();
            for id in &ids {
                if !seen.insert(id) {
                    ck.at(src, &ids_path, format!("lists case {id} twice"));
                    continue;
                }
                match map.get(id) {
                    Some(c) => {
                        check_case(ck, &cs.src, c, &tool_envs);
                        cases.push(c.clone());
                    }
                    None => ck.at(
                        src,
                        &ids_path,
                        format!("case {id} is not in {}", cs.src.shown.display()),
                    ),
                }
            }
        }
        out.insert(
            tid.clone(),
            tool_of(f, (tid, t), budgets, case_path, cases, env_list, test_types),
        );
    }
    out
}

/// The validated tool.
fn tool_of(
    f: &ToolsFile,
    (tid, t): (&str, &ToolRaw),
    budgets: crate::config::budgets::Budgets,
    case_file: PathBuf,
    cases: Vec<Arc<EbpfCase>>,
    environments: Vec<String>,
    test_types: BTreeSet<TestType>,
) -> Tool {
    Tool {
        id: tid.to_string(),
        program: t.id.clone(),
        name: t.name.clone(),
        case_file,
        cases,
        environments,
        test_types: test_types.into_iter().collect(),
        monitoring: t.resource_monitoring.clone(),
        budgets,
        regression_pct: t.regression_pct.or(f.regression_pct),
    }
}

/// A tool's environments: each once, each one of the environments file.
pub(super) fn check_env_list<'e>(
    ck: &mut Checker,
    src: &Source,
    env_path: &[&str],
    env_list: &[String],
    envs: &'e EnvFile,
) -> Vec<&'e TestEnv> {
    ck.non_empty(src, env_path, env_list, "environment");
    let mut tool_envs = Vec::new();
    let mut seen = HashSet::new();
    for e in env_list {
        if !seen.insert(e) {
            ck.at(src, env_path, format!("lists {e:?} twice"));
        }
        match envs.test_environments.get(e) {
            Some(te) => tool_envs.push(te),
            None => {
                let known: Vec<&str> = envs.test_environments.keys().map(String::as_str).collect();
                ck.at(
                    src,
                    env_path,
                    format!(
                        "{e:?} is not an environment of {ENV_FILE}; expected one of: {}",
                        known.join(", ")
                    ),
                );
            }
        }
    }
    tool_envs
}

/// A tool's test types: each once, each defined in the spec.
pub(super) fn check_test_types(
    ck: &mut Checker,
    src: &Source,
    types_path: &[&str],
    types: &[String],
    defined: &[&str],
) -> BTreeSet<TestType> {
    ck.non_empty(src, types_path, types, "test type");
    let mut test_types = BTreeSet::new();
    for ty in types {
        match TestType::parse(ty) {
            Some(tt) if defined.contains(&tt.as_str()) => {
                if !test_types.insert(tt) {
                    ck.at(src, types_path, format!("lists {ty:?} twice"));
                }
            }
            Some(_) => ck.at(
                src,
                types_path,
                format!(
                    "{ty:?} is not defined in {PERF_FILE}; expected one of: {}",
                    defined.join(", ")
                ),
            ),
            None => ck.at(
                src,
                types_path,
                format!("{ty:?} is not a test type; expected one of: throughput, latency, pps"),
            ),
        }
    }
    test_types
}

fn check_regression(ck: &mut Checker, src: &Source, at: &[&str], v: Option<f64>) {
    if let Some(v) = v.filter(|v| !(v.is_finite() && *v >= 0.0)) {
        ck.at(
            src,
            at,
            format!("{v} is not a limit; expected percentage points >= 0"),
        );
    }
}
