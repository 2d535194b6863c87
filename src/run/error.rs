//! Why a step failed, in the terms JUnit and people need: the step, the host,
//! the command, its exit code and the tail of its stderr.

use crate::host::remote::RemoteError;
use std::fmt;

/// A failed step; boxed so that `Result<_, StepError>` stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError(Box<StepErrorData>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepErrorData {
    pub step: String,
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
            host: None,
            command: None,
            exit_code: None,
            stderr_tail: String::new(),
            message: message.into(),
        }))
    }

    pub fn on(mut self, host: &str) -> StepError {
        self.host = Some(host.to_string());
        self
    }

    pub fn remote(step: impl Into<String>, e: &RemoteError) -> StepError {
        let mut s = StepError::new(step, e.to_string());
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

    /// Multi-line detail for JUnit's failure body.
    pub fn detail(&self) -> String {
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.step)?;
        if let Some(h) = &self.host {
            write!(f, " on {h}")?;
        }
        write!(f, ": {}", self.message)?;
        if !self.stderr_tail.is_empty() {
            write!(
                f,
                "; stderr: {}",
                crate::host::remote::tail(&self.stderr_tail, 300)
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for StepError {}
