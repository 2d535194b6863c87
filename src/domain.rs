//! The domain's vocabulary: the transport protocols, the three performance
//! test types and the variants a test spec expands into. Everything else
//! (names, paths, the matrix, results) is built from these.

/// Transport protocol of a performance test variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// The performance test types, in matrix order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TestType {
    Throughput,
    Latency,
    Pps,
}

impl TestType {
    pub const ALL: [TestType; 3] = [TestType::Throughput, TestType::Latency, TestType::Pps];

    pub fn as_str(self) -> &'static str {
        match self {
            TestType::Throughput => "throughput",
            TestType::Latency => "latency",
            TestType::Pps => "pps",
        }
    }

    pub fn parse(s: &str) -> Option<TestType> {
        TestType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for TestType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One expanded performance test: what a trial measures, and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Variant {
    Single {
        protocol: Protocol,
        target_bw: String,
    },
    Multi {
        streams: u32,
        protocol: Protocol,
    },
    Latency {
        protocol: Protocol,
    },
    Pps {
        streams: u32,
        protocol: Protocol,
    },
}

impl Variant {
    pub fn test_type(&self) -> TestType {
        match self {
            Variant::Single { .. } | Variant::Multi { .. } => TestType::Throughput,
            Variant::Latency { .. } => TestType::Latency,
            Variant::Pps { .. } => TestType::Pps,
        }
    }

    pub fn protocol(&self) -> Protocol {
        match self {
            Variant::Single { protocol, .. }
            | Variant::Multi { protocol, .. }
            | Variant::Latency { protocol }
            | Variant::Pps { protocol, .. } => *protocol,
        }
    }

    /// Number of parallel client/server pairs.
    pub fn streams(&self) -> u32 {
        match self {
            Variant::Single { .. } | Variant::Latency { .. } => 1,
            Variant::Multi { streams, .. } | Variant::Pps { streams, .. } => *streams,
        }
    }

    /// `single_tcp_1G`, `multi_4_tcp`, `tcp_rr`, `multi_8_udp`.
    pub fn name(&self) -> String {
        match self {
            Variant::Single {
                protocol,
                target_bw,
            } => format!("single_{}_{}", protocol.as_str(), target_bw),
            Variant::Multi { streams, protocol } | Variant::Pps { streams, protocol } => {
                format!("multi_{}_{}", streams, protocol.as_str())
            }
            Variant::Latency { protocol } => format!("{}_rr", protocol.as_str()),
        }
    }
}
