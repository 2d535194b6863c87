//! Host operations: everything the product does to a host, in one place.
//! [`remote`] runs commands and moves files over SSH (the one way to run a
//! remote command; processes are started and stopped through it by the
//! scripts of [`crate::shell::process`]); [`proc`] reads this machine's
//! `/proc`; [`lab`] provisions the built-in lab of network namespaces;
//! [`probe`] checks that a host can run what it is asked to; [`fetch`]
//! copies result trees home, writing them through [`confined`]. The shell text sent is built in
//! [`crate::shell`].

pub mod confined;
pub mod fetch;
pub mod lab;
pub mod probe;
pub mod proc;
pub mod remote;
