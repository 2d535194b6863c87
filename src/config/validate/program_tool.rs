//! The program shape of a tool: a program file on the hosts (`path`,
//! `executable`), its command line (`parameters.template` with
//! `required_vars`), where it runs (`test_scope`), and inline `cases` that
//! give the variables. Validation turns each case into an ordinary eBPF case
//! whose command runs the program with its template and whose parameters are
//! its variables, so every later stage sees one shape.

use super::tools::{check_case, check_env_list, check_test_types};
use super::*;

/// How a program file runs, by its extension.
pub fn runner(executable: &str) -> &'static str {
    if executable.ends_with(".bt") {
        "bpftrace "
    } else if executable.ends_with(".py") {
        "python3 "
    } else {
        ""
    }
}

/// Literal text inside a template: braces doubled so they are not read as
/// placeholders.
fn literal(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// The case command of a program-shape tool (a template).
pub fn command(path: &str, executable: &str, template: &str) -> String {
    let file = format!("{}/{executable}", path.trim_end_matches('/'));
    let mut cmd = format!(
        "{}{}",
        runner(executable),
        literal(&crate::shell::quote(&file))
    );
    if !template.trim().is_empty() {
        cmd.push(' ');
        cmd.push_str(template.trim());
    }
    cmd
}

type Checked = (Vec<Arc<EbpfCase>>, Vec<String>, BTreeSet<TestType>);

pub(super) fn check(
    ck: &mut Checker,
    src: &Source,
    tid: &str,
    t: &ToolRaw,
    envs: &EnvFile,
    defined: &[&str],
) -> Option<Checked> {
    let at = |k: &[&'static str]| -> Vec<String> {
        let mut v = vec!["ebpf_tools".to_string(), tid.to_string()];
        v.extend(k.iter().map(|s| s.to_string()));
        v
    };
    let problems_before = ck.problems.len();
    let missing = |ck: &mut Checker, key: &'static str, what: &str| {
        ck.at(
            src,
            &["ebpf_tools", tid],
            format!("has no {key}; the program shape needs {what}"),
        );
    };
    let path = t.path.as_deref().unwrap_or_default();
    // A relative path is under the host's workdir, where every command
    // starts (the seeds' `cd {workdir} && {ebpf_command}`).
    if t.path.as_deref().is_none_or(|p| p.trim().is_empty()) {
        missing(ck, "path", "the tool's directory on the hosts");
    }
    let exe = t.executable.as_deref().unwrap_or_default();
    match &t.executable {
        None => missing(ck, "executable", "the program file in path"),
        Some(e) if e.trim().is_empty() || e.starts_with('/') => ck.at(
            src,
            &["ebpf_tools", tid, "executable"],
            format!("{e:?}: expected the program's file name inside path"),
        ),
        Some(_) => {}
    }
    let Some(scope) = &t.test_scope else {
        missing(ck, "test_scope", "test_scope: {environments, test_types}");
        return None;
    };
    let env_key = at(&["test_scope", "environments"]);
    let env_key: Vec<&str> = env_key.iter().map(String::as_str).collect();
    let tool_envs = check_env_list(ck, src, &env_key, &scope.environments, envs);
    let types_key = at(&["test_scope", "test_types"]);
    let types_key: Vec<&str> = types_key.iter().map(String::as_str).collect();
    let types = check_test_types(ck, src, &types_key, &scope.test_types, defined);
    let (tmpl, required) = t
        .parameters
        .as_ref()
        .map(|p| (p.template.as_str(), p.required_vars.as_slice()))
        .unwrap_or_default();
    // The template may use its required variables and what every command may.
    let env_vars = common_vars(tool_envs.iter().copied());
    for msg in super::quoted(tmpl) {
        ck.at(src, &["ebpf_tools", tid, "parameters", "template"], msg);
    }
    for name in template::placeholders(tmpl) {
        let known = required.iter().any(|r| r == name)
            || ENV_PLACEHOLDERS.contains(&name)
            || CASE_PLACEHOLDERS.contains(&name)
            || env_vars.contains(name);
        if !known {
            ck.at(
                src,
                &["ebpf_tools", tid, "parameters", "template"],
                format!(
                    "unknown placeholder {{{name}}}; list it in required_vars (each case gives it in its vars) \
                     or use an environment placeholder"
                ),
            );
        }
    }
    for r in required {
        if let Err(e) = check_safe_id(r) {
            ck.at(
                src,
                &["ebpf_tools", tid, "parameters", "required_vars"],
                format!("{r:?} {e}; a variable is a placeholder name"),
            );
        }
    }
    let Some(inline) = &t.cases else {
        missing(ck, "cases", "cases: [{id, name, vars}]");
        return None;
    };
    ck.non_empty(src, &["ebpf_tools", tid, "cases"], inline, "case");
    let cmd = command(path, exe, tmpl);
    let mut seen = HashSet::new();
    let mut cases = Vec::new();
    for (i, c) in inline.iter().enumerate() {
        let idx = format!("[{i}]");
        if !seen.insert(c.id) {
            ck.at(
                src,
                &["ebpf_tools", tid, "cases", &idx, "id"],
                format!("case {} is listed twice; case ids must be unique", c.id),
            );
        }
        for (k, v) in &c.vars {
            if let Scalar::Text(v) = v {
                if !v.starts_with("UNSET_") {
                    continue;
                }
                ck.warn(
                    src,
                    &["ebpf_tools", tid, "cases", &idx, "vars", k],
                    format!("case {} has no value for {k} yet ({v}): `ebpf-perf import` found none in the seed's files; set it before a real run", c.id),
                );
            }
        }
        for r in required {
            if !c.vars.contains_key(r) && !env_vars.contains(r.as_str()) {
                ck.at(
                    src,
                    &["ebpf_tools", tid, "cases", &idx],
                    format!(
                        "case {} does not give {r:?}, which parameters.required_vars lists; add it to its vars",
                        c.id
                    ),
                );
            }
        }
        let case = EbpfCase {
            id: c.id,
            name: c.name.clone(),
            command: cmd.clone(),
            duration: c.duration,
            target: c.target,
            parameters: c.vars.clone(),
            allow_no_bpf: c.allow_no_bpf,
            attach_timeout_s: c.attach_timeout_s,
            protocol: c.protocol,
        };
        // Names, durations and directory-name parameters, as for any case,
        // reported at this file's case entry.
        let mut inner = Checker::default();
        check_case(&mut inner, src, &case, &tool_envs);
        for p in inner.problems {
            if p.key.ends_with(".command") {
                continue; // the template's own checks above
            }
            let field = p.key.rsplit('.').next().unwrap_or_default().to_string();
            let field = if p.key.contains("parameters.") {
                "vars"
            } else {
                field.as_str()
            };
            let key: &str = match field {
                "name" | "duration" | "vars" => field,
                _ => "id",
            };
            ck.at(src, &["ebpf_tools", tid, "cases", &idx, key], p.message);
        }
        cases.push(Arc::new(case));
    }
    (ck.problems.len() == problems_before).then(|| (cases, scope.environments.clone(), types))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    #[rstest]
    #[case(
        "/opt/t",
        "drops.bt",
        "{iface} {n}",
        "bpftrace /opt/t/drops.bt {iface} {n}"
    )]
    #[case(
        "/opt/t/",
        "tcp top.py",
        "-i {interval}",
        "python3 '/opt/t/tcp top.py' -i {interval}"
    )]
    #[case("/opt/{x}", "run", "", "'/opt/{{x}}/run'")]
    fn builds_the_case_command(
        #[case] path: &str,
        #[case] exe: &str,
        #[case] t: &str,
        #[case] want: &str,
    ) {
        assert_eq!(super::command(path, exe, t), want);
    }
}
