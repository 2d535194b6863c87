//! `test-env-config.yaml`: the environments, their server and client hosts, and pools; also [`Scalar`], a value kept as written.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvFile {
    pub test_environments: IndexMap<String, TestEnv>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestEnv {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub server: EnvHost,
    pub client: EnvHost,
    /// More server/client pairs of the same shape, for shards that run at the
    /// same time (`--pool N`); pool 1 is `server` and `client` themselves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<Pool>,
    /// Where the server, the clients and the eBPF program may run (CPU
    /// lists as `taskset -c` takes them), on every pool's hosts.
    #[serde(default, skip_serializing_if = "Cpus::is_empty")]
    pub cpus: Cpus,
    #[serde(default)]
    pub vars: IndexMap<String, Scalar>,
}

/// CPU placement per role: a CPU list (`0`, `2-3`, `0,2`) or none (the
/// scheduler's choice).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cpus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
}

impl Cpus {
    pub fn is_empty(&self) -> bool {
        self.server.is_none() && self.client.is_none() && self.tool.is_none()
    }

    /// The roles with their lists, for checks.
    pub fn roles(&self) -> [(&'static str, Option<&str>); 3] {
        [
            ("server", self.server.as_deref()),
            ("client", self.client.as_deref()),
            ("tool", self.tool.as_deref()),
        ]
    }
}

/// Whether `s` is a CPU list `taskset -c` takes: numbers and ranges
/// (`a-b`, a ≤ b), comma-separated.
pub fn is_cpu_list(s: &str) -> bool {
    !s.is_empty()
        && s.split(',').all(|part| {
            let mut it = part.splitn(2, '-');
            let lo = it.next().and_then(|n| n.parse::<u32>().ok());
            match (lo, it.next()) {
                (Some(_), None) => !part.starts_with('+'),
                (Some(a), Some(b)) => {
                    b.parse::<u32>().is_ok_and(|b| a <= b) && !part.starts_with('+')
                }
                _ => false,
            }
        })
}

/// One more server/client pair of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub server: EnvHost,
    pub client: EnvHost,
}

impl TestEnv {
    /// Its pools in order: pool 1 (`server`/`client`), then `pools`.
    pub fn pairs(&self) -> Vec<(&EnvHost, &EnvHost)> {
        std::iter::once((&self.server, &self.client))
            .chain(self.pools.iter().map(|p| (&p.server, &p.client)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvHost {
    pub ssh_ref: String,
    pub test_ip: String,
    pub interface: String,
}

/// A YAML/JSON scalar kept as text (numbers and booleans as written).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Int(i64),
    Bool(bool),
    Float(FloatText),
}

/// A float kept as the text serde gives back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FloatText(pub String);

impl<'de> Deserialize<'de> for FloatText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(|f| FloatText(f.to_string()))
    }
}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Float(f) => f.0.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    #[rstest]
    #[case("0", true)]
    #[case("2-3", true)]
    #[case("0,2,4-7", true)]
    #[case("3-3", true)]
    #[case("", false)]
    #[case("3-1", false)]
    #[case("a", false)]
    #[case("0,", false)]
    #[case("-1", false)]
    #[case("+1", false)]
    #[case("1-", false)]
    #[case("0 1", false)]
    fn cpu_lists_are_what_taskset_takes(#[case] list: &str, #[case] ok: bool) {
        assert_eq!(super::is_cpu_list(list), ok, "{list:?}");
    }
}
