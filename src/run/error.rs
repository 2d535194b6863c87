//! Why a step failed, in the terms JUnit and people need: the step, the host,
//! the command, its exit code and the tail of its stderr, and the kind of
//! its cause, kept typed so that callers decide by kind, never by message.

use crate::host::remote::RemoteError;
use std::fmt;

/// A failed step; boxed so that `Result<_, StepError>` stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError(Box<StepErrorData>);

/// What kind of thing made a step fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A remote command ran past its timeout and was ended.
    Timeout,
    /// A command exited non-zero.
    Exited,
    /// The host could not be reached, or the connection was lost.
    Unreachable,
    /// Ctrl-C or SIGTERM stopped the run.
    Interrupted,
    /// Anything else: a parse error, a bad placeholder, a missing file...
    Other,
}

impl Cause {
    /// The kind of a remote error.
    pub fn of(e: &RemoteError) -> Cause {
        match e {
            RemoteError::Timeout { .. } => Cause::Timeout,
            RemoteError::Failed { .. } => Cause::Exited,
            e if e.is_unreachable() => Cause::Unreachable,
            _ => Cause::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepErrorData {
    pub step: String,
    pub cause: Cause,
    pub host: Option<String>,
    pub command: Option<String>,
    pub exit_code: Option<i32>,
    pub stderr_tail: String,
    pub message: String,
}

impl StepError {
    pub fn new(step: impl Into<String>, message: impl Into<String>) -> StepError {
        StepError(Box::new(StepErrorData {
            step: step.into(),
            cause: Cause::Other,
            host: None,
            command: None,
            exit_code: None,
            stderr_tail: String::new(),
            message: message.into(),
        }))
    }

    /// A step that the user stopped.
    pub fn interrupted(step: impl Into<String>) -> StepError {
        let mut e = StepError::new(step, "interrupted (Ctrl-C)");
        e.cause = Cause::Interrupted;
        e
    }

    /// A command of the step that exited with `code`.
    pub fn exited(
        step: impl Into<String>,
        message: impl Into<String>,
        code: Option<i32>,
    ) -> StepError {
        let mut e = StepError::new(step, message);
        e.cause = Cause::Exited;
        e.exit_code = code;
        e
    }

    pub fn on(mut self, host: &str) -> StepError {
        self.host = Some(host.to_string());
        self
    }

    pub fn remote(step: impl Into<String>, e: &RemoteError) -> StepError {
        let mut s = StepError::new(step, e.to_string());
        s.cause = Cause::of(e);
        if let RemoteError::Failed {
            host,
            command,
            code,
            stderr_tail,
        } = e
        {
            s.host = Some(host.clone());
            s.command = Some(command.clone());
            s.exit_code = Some(*code);
            s.stderr_tail = stderr_tail.clone();
            s.message = format!("exited with {code}");
        }
        s
    }

    /// Multi-line detail for JUnit's failure body, with what the host
    /// printed made visible (see [`crate::untrusted`]).
    pub fn detail(&self) -> String {
        crate::untrusted::visible(&self.detail_raw()).into_owned()
    }

    fn detail_raw(&self) -> String {
        let mut s = format!("step: {}\n", self.step);
        if let Some(h) = &self.host {
            s += &format!("host: {h}\n");
        }
        if let Some(c) = &self.command {
            s += &format!("command: {c}\n");
        }
        if let Some(c) = self.exit_code {
            s += &format!("exit code: {c}\n");
        }
        if !self.stderr_tail.is_empty() {
            s += &format!("stderr (tail):\n{}\n", self.stderr_tail);
        }
        s + &format!("error: {}\n", self.message)
    }
}

impl std::ops::Deref for StepError {
    type Target = StepErrorData;
    fn deref(&self) -> &StepErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for StepError {
    fn deref_mut(&mut self) -> &mut StepErrorData {
        &mut self.0
    }
}

impl fmt::Display for StepError {
    /// One line for people; what the host printed has its control
    /// characters made visible (see [`crate::untrusted`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.step.clone();
        if let Some(h) = &self.host {
            s += &format!(" on {h}");
        }
        s += &format!(": {}", self.message);
        if !self.stderr_tail.is_empty() {
            s += &format!(
                "; stderr: {}",
                crate::host::remote::tail(&self.stderr_tail, 300)
            );
        }
        f.write_str(&crate::untrusted::visible(&s))
    }
}

impl std::error::Error for StepError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_comes_from_the_error_kind_not_from_its_words() {
        let timeout = RemoteError::Timeout {
            host: "h".into(),
            command: "sleep 9".into(),
            secs: 1.0,
        };
        assert_eq!(StepError::remote("run", &timeout).cause, Cause::Timeout);
        // A command that printed "timed out" and exited 1 did not time out.
        let failed = RemoteError::Failed {
            host: "h".into(),
            command: "hook".into(),
            code: 1,
            stderr_tail: "connection timed out".into(),
        };
        let e = StepError::remote("hook", &failed);
        assert_eq!((e.cause, e.exit_code), (Cause::Exited, Some(1)));
        let lost = RemoteError::ConnectionLost {
            host: "h".into(),
            command: "x".into(),
            detail: "timed out".into(),
        };
        assert_eq!(StepError::remote("x", &lost).cause, Cause::Unreachable);
        assert_eq!(StepError::interrupted("run").cause, Cause::Interrupted);
    }
}
