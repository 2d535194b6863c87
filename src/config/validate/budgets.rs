//! The budgets of the tools file: every key a known budget with a valid
//! scope (see [`crate::config::budgets`]), every limit a number, and no two
//! keys of one level that disagree on the same trials.

use super::{locate, Checker, Source};
use crate::config::budgets::{parse_key, Budgets, Rule};
use indexmap::IndexMap;

/// The valid keys of one `budgets:` map at `at` (`own`: a tool's); each
/// problem is reported with its key.
pub(super) fn check(
    ck: &mut Checker,
    src: &Source,
    at: &[&str],
    budgets: &IndexMap<String, f64>,
    envs: &[&str],
    own: bool,
) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (key, &limit) in budgets {
        let mut path = at.to_vec();
        path.push(key);
        let (name, scope) = match parse_key(key) {
            Ok(x) => x,
            Err(e) => {
                ck.at(src, &path, e);
                continue;
            }
        };
        let Some(budget) = crate::metrics::budget(&name) else {
            ck.at(
                src,
                &path,
                format!(
                    "{name:?} is not a budget; expected one of: {}",
                    crate::metrics::BUDGETS
                        .iter()
                        .map(|b| b.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            continue;
        };
        if !limit.is_finite() {
            ck.at(
                src,
                &path,
                format!("{limit} is not a limit; expected a number"),
            );
            continue;
        }
        if let Some(e) = scope.env.as_deref().filter(|e| !envs.contains(e)) {
            ck.at(
                src,
                &path,
                format!(
                    "environment {e:?} is not in the environments file; expected one of: {}",
                    envs.join(", ")
                ),
            );
            continue;
        }
        let only = budget
            .bound
            .metric()
            .and_then(crate::metrics::get)
            .and_then(|m| m.headline_of);
        if let (Some(only), Some(t)) = (only, scope.test) {
            if only != t {
                ck.at(
                    src,
                    &path,
                    format!("{name} is judged in {only} tests only; it never applies to {t} tests"),
                );
                continue;
            }
        }
        rules.push(Rule {
            key: key.clone(),
            name,
            scope,
            limit,
            own,
        });
    }
    let level = Budgets {
        rules: rules.clone(),
    };
    for (a, b) in level.conflicts() {
        let mut pa = at.to_vec();
        pa.push(&a.key);
        let mut pb = at.to_vec();
        pb.push(&b.key);
        let line =
            locate::line_of(&src.text, &pa).map_or(String::new(), |l| format!(" (line {l})"));
        let message = if a.scope == b.scope {
            format!("sets the same budget as `{}`{line}; keep one", a.key)
        } else {
            let env = a.scope.env.as_ref().or(b.scope.env.as_ref());
            let test = a.scope.test.or(b.scope.test);
            let (env, test) = (
                env.map_or("", String::as_str),
                test.map_or("", |t| t.as_str()),
            );
            format!(
                "and `{}`{line} both apply to {test} tests on {env}, with limits {} and {}; \
                 add `{}{{env:{env},test:{test}}}` to say which",
                a.key, b.limit, a.limit, a.name
            )
        };
        ck.at(src, &pb, message);
    }
    rules
}
