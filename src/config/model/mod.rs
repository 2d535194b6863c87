//! The configuration files as written by users: serde types that accept
//! exactly the documented keys, one module per file. Semantic checks live in
//! `validate`.

mod case;
mod env;
mod hooks;
mod perf;
mod ssh;
mod tools;

pub use case::*;
pub use env::*;
pub use hooks::*;
pub use perf::*;
pub use ssh::*;
pub use tools::*;
