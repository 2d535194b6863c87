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
    #[serde(default)]
    pub vars: IndexMap<String, Scalar>,
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
