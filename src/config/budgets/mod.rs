//! Budgets as the tools file sets them, scoped like k6 thresholds: a key is
//! a budget name, optionally with tags, `NAME{env:ENV}`, `NAME{test:TYPE}`
//! or `NAME{env:ENV,test:TYPE}`. The file's `budgets:` are every tool's
//! defaults, a tool's own `budgets:` come first for that tool, and within
//! either the most specific key that matches a trial wins.

use crate::domain::TestType;
use indexmap::IndexMap;

/// Where a budget applies: every trial, or those of one environment, one
/// test type, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub env: Option<String>,
    pub test: Option<TestType>,
}

impl Scope {
    fn matches(&self, env: &str, test: TestType) -> bool {
        self.env.as_deref().is_none_or(|e| e == env) && self.test.is_none_or(|t| t == test)
    }

    /// How many tags it has: the more, the more specific.
    fn tags(&self) -> usize {
        usize::from(self.env.is_some()) + usize::from(self.test.is_some())
    }
}

/// One budget key of a file: its name, scope and limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The key as written, for messages.
    pub key: String,
    pub name: String,
    pub scope: Scope,
    pub limit: f64,
    /// Set in the tool's own `budgets:` (else the file's defaults).
    pub own: bool,
}

/// A tool's budgets: the file's defaults and its own, as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Budgets {
    pub rules: Vec<Rule>,
}

/// Splits a budget key into its name and scope; an error says what is
/// wrong with the tags (the name is checked against the catalog elsewhere).
pub fn parse_key(key: &str) -> Result<(String, Scope), String> {
    let Some((name, tags)) = key.split_once('{') else {
        return Ok((key.trim().to_string(), Scope::default()));
    };
    let Some(tags) = tags.strip_suffix('}') else {
        return Err("has no closing `}`; expected e.g. NAME{env:vm,test:pps}".into());
    };
    let mut scope = Scope::default();
    for tag in tags.split(',') {
        let Some((k, v)) = tag.split_once(':') else {
            return Err(format!(
                "tag {:?} is not `key:value`; expected env:ENV or test:TYPE",
                tag.trim()
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "env" if scope.env.is_none() => scope.env = Some(v.to_string()),
            "test" if scope.test.is_none() => {
                scope.test = Some(TestType::parse(v).ok_or_else(|| {
                    format!("{v:?} is not a test type; expected one of: throughput, latency, pps")
                })?);
            }
            "env" | "test" => return Err(format!("tag `{k}` is given twice")),
            _ => {
                return Err(format!(
                    "tag `{k}` is not known; expected env:ENV or test:TYPE"
                ))
            }
        }
    }
    Ok((name.trim().to_string(), scope))
}

impl Budgets {
    /// Budgets without scopes (name, limit), as the file's defaults.
    pub fn plain<'a>(limits: impl IntoIterator<Item = (&'a str, f64)>) -> Budgets {
        Budgets {
            rules: limits
                .into_iter()
                .map(|(name, limit)| Rule {
                    key: name.to_string(),
                    name: name.to_string(),
                    scope: Scope::default(),
                    limit,
                    own: false,
                })
                .collect(),
        }
    }

    /// The limits that apply to a trial in `env` of test type `test`, by
    /// name, in the catalog's order: for each name, the tool's own key
    /// before the file's, and the one with the most tags.
    pub fn resolve(&self, env: &str, test: TestType) -> IndexMap<String, f64> {
        let mut best: IndexMap<&str, &Rule> = IndexMap::new();
        for r in self.rules.iter().filter(|r| r.scope.matches(env, test)) {
            let rank = |r: &Rule| (r.own, r.scope.tags());
            match best.get(r.name.as_str()) {
                Some(b) if rank(b) >= rank(r) => {}
                _ => {
                    best.insert(&r.name, r);
                }
            }
        }
        let mut out: Vec<(&str, f64)> = best.iter().map(|(n, r)| (*n, r.limit)).collect();
        out.sort_by_key(|(n, _)| crate::metrics::BUDGETS.iter().position(|b| b.name == *n));
        out.into_iter().map(|(n, l)| (n.to_string(), l)).collect()
    }

    /// Pairs of rules of one level and name that both apply to some trial
    /// with different limits, where no key with both tags decides: an
    /// `env` key and a `test` key, or the same scope written twice.
    pub fn conflicts(&self) -> Vec<(&Rule, &Rule)> {
        let mut out = Vec::new();
        for (i, a) in self.rules.iter().enumerate() {
            for b in &self.rules[i + 1..] {
                if a.own != b.own || a.name != b.name {
                    continue;
                }
                if a.scope == b.scope {
                    out.push((a, b));
                    continue;
                }
                // One rule with only an env, the other with only a test.
                if a.scope.tags() != 1 || b.scope.tags() != 1 {
                    continue;
                }
                let (Some(env), Some(test)) = (
                    a.scope.env.as_ref().xor(b.scope.env.as_ref()),
                    a.scope.test.xor(b.scope.test),
                ) else {
                    continue;
                };
                let decided = self.rules.iter().any(|r| {
                    r.own == a.own
                        && r.name == a.name
                        && r.scope.env.as_deref() == Some(env)
                        && r.scope.test == Some(test)
                });
                if a.limit != b.limit && !decided {
                    out.push((a, b));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
