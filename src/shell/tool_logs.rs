//! The tool's logs per trial (seed 001's `tool_output_{ts}.log` and
//! `tool_error_{ts}.log`): the sizes of the case-long logs when a trial
//! starts, and at its end a copy of what was written since.

use super::quote;

/// The file (in the directory `$d`) where [`log_offsets`] keeps sizes.
const OFFSETS: &str = ".tool_log_offsets";

/// Shell lines (run where `$d` is a trial's directory) that keep the
/// current sizes of the tool's `stdout` and `stderr` logs, for
/// [`slice_logs`] at the trial's end.
pub fn log_offsets(stdout: &str, stderr: &str) -> String {
    format!(
        "stat -c %s -- {} {} > \"$d\"/{OFFSETS} 2>/dev/null || rm -f -- \"$d\"/{OFFSETS}\n",
        quote(stdout),
        quote(stderr)
    )
}

/// Copies what the tool wrote to `stdout` and `stderr` since
/// [`log_offsets`] into `dir/tool_output_{ts}.log` and
/// `dir/tool_error_{ts}.log` (seed 001's per-trial files); nothing when the
/// sizes were not kept.
pub fn slice_logs(dir: &str, stdout: &str, stderr: &str, ts: &str) -> String {
    format!(
        "d={d}; if {{ read -r o && read -r e; }} < \"$d\"/{OFFSETS} 2>/dev/null; then\n\
         tail -c +$((o+1)) -- {out} > \"$d\"/tool_output_{ts}.log 2>/dev/null\n\
         tail -c +$((e+1)) -- {err} > \"$d\"/tool_error_{ts}.log 2>/dev/null\n\
         fi; rm -f -- \"$d\"/{OFFSETS}",
        d = quote(dir),
        out = quote(stdout),
        err = quote(stderr),
        ts = quote(ts),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sh(script: &str) -> std::process::Output {
        Command::new("sh").arg("-c").arg(script).output().unwrap()
    }

    #[test]
    fn a_trial_gets_what_the_tool_wrote_during_it() {
        let d = tempfile::tempdir().unwrap();
        let (out, err) = (d.path().join("out.log"), d.path().join("err.log"));
        std::fs::write(&out, "before\n").unwrap();
        std::fs::write(&err, "").unwrap();
        let (o, e) = (out.to_str().unwrap(), err.to_str().unwrap());
        let dir = d.path().join("trial");
        std::fs::create_dir(&dir).unwrap();
        let keep = format!("d={}\n{}", quote(dir.to_str().unwrap()), log_offsets(o, e));
        assert!(sh(&keep).status.success());
        std::fs::write(&out, "before\nduring 1\nduring 2\n").unwrap();
        std::fs::write(&err, "warning\n").unwrap();
        assert!(sh(&slice_logs(dir.to_str().unwrap(), o, e, "T"))
            .status
            .success());
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
        assert_eq!(read("tool_output_T.log"), "during 1\nduring 2\n");
        assert_eq!(read("tool_error_T.log"), "warning\n");
        assert!(!dir.join(".tool_log_offsets").exists());
        // Without kept sizes nothing is copied (and nothing fails).
        assert!(sh(&slice_logs(dir.to_str().unwrap(), o, e, "U"))
            .status
            .success());
        assert!(!dir.join("tool_output_U.log").exists());
    }
}
