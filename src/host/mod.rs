//! Host operations: everything the product does to a host, in one place.
//! [`shell`] builds the shell snippets sent to hosts and is the only place
//! that quotes; [`proc`] reads `/proc`; [`process`] starts and stops
//! processes by PID (the one way to do either); [`remote`] runs commands
//! and moves files over SSH (the one way to run a remote command); [`lab`]
//! provisions the built-in lab of network namespaces; [`probe`] checks that
//! a host can run what it is asked to; [`fetch`] copies result trees home.

pub mod fetch;
pub mod lab;
pub mod probe;
pub mod proc;
pub mod process;
pub mod remote;
