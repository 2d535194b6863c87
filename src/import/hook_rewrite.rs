//! What a copied seed command needs to run safely and mean what it meant:
//! placeholders inside quotes pass through the environment, and files that
//! only a left-out task wrote are noticed.

/// The environment variable that carries placeholder `name`'s value.
pub fn var(name: &str) -> String {
    format!("EBPF_PERF_{}", name.to_ascii_uppercase())
}

/// `cmd` with every placeholder that stands inside quotes read from the
/// environment instead: `export EBPF_PERF_TOOL_ID={tool_id}` first (the
/// value is quoted there, one word), then `"… ${{EBPF_PERF_TOOL_ID}} …"`
/// (the template's spelling of `${…}`) in its place. A shell never reads an expanded value as code, so a `"` or
/// `'` in the value cannot end the quotes. Exported, the value also reaches
/// an inner `bash -c '…'`. `None` when no placeholder stands inside quotes.
pub fn through_env(cmd: &str) -> Option<(String, Vec<String>)> {
    let names: Vec<String> = crate::template::quoted_placeholders(cmd)
        .into_iter()
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return None;
    }
    let exports: Vec<String> = names
        .iter()
        .map(|n| format!("{}={{{n}}}", var(n)))
        .collect();
    // `${{…}}` is the template's way to write `${…}`.
    let body = crate::template::replace_quoted(cmd, |n| format!("${{{{{}}}}}", var(n)));
    Some((format!("export {}\n{body}", exports.join(" ")), names))
}

/// The files a command names that carry `{timestamp}` (one task's files in
/// the seed's layout): those it writes (after `>` or `>>`) and those it
/// reads or tests (any other mention).
pub fn timestamp_files(cmd: &str) -> (Vec<String>, Vec<String>) {
    let (mut writes, mut reads) = (Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    let mut word = String::new();
    let mut redirect = false;
    let mut flush = |word: &mut String, redirect: &mut bool| {
        if word.contains("{timestamp}") && seen.insert((*redirect, word.clone())) {
            let to = if *redirect { &mut writes } else { &mut reads };
            to.push(word.clone());
        }
        if !word.is_empty() {
            *redirect = false;
        }
        word.clear();
    };
    for c in cmd.chars() {
        match c {
            '>' => {
                flush(&mut word, &mut redirect);
                redirect = true;
            }
            // Quotes and blanks may stand between `>` and its file.
            '"' | '\'' | ' ' | '\t' => flush(&mut word, &mut redirect),
            c if c.is_whitespace() || ";|&()<=`$".contains(c) => {
                flush(&mut word, &mut redirect);
                redirect = false;
            }
            c => word.push(c),
        }
    }
    flush(&mut word, &mut redirect);
    let written: std::collections::HashSet<&String> = writes.iter().collect();
    reads.retain(|r| !written.contains(r));
    (writes, reads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn quoted_placeholders_pass_through_the_environment() {
        let (cmd, names) =
            through_env("echo \"Tool {tool_id} in {environment}\" > {workdir}/t_{timestamp}.log")
                .unwrap();
        assert_eq!(names, ["tool_id", "environment"]);
        assert_eq!(
            cmd,
            "export EBPF_PERF_TOOL_ID={tool_id} EBPF_PERF_ENVIRONMENT={environment}\n\
             echo \"Tool ${{EBPF_PERF_TOOL_ID}} in ${{EBPF_PERF_ENVIRONMENT}}\" > {workdir}/t_{timestamp}.log"
        );
        assert!(crate::template::quoted_placeholders(&cmd).is_empty());
        // A value with quotes and code in it is printed, not run, by bash.
        let (cmd, _) = through_env("echo \"id={v}.\"; bash -c 'echo \"in={v}\"'").unwrap();
        let hostile = "a\"; echo RAN; '\"$(echo RAN)";
        let script = crate::template::render(&cmd, |_| Some(hostile.into())).unwrap();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("id={hostile}.\nin={hostile}\n")
        );
        assert_eq!(through_env("mkdir -p {workdir}/{a,b}"), None);
    }

    #[rstest]
    #[case("echo x > {p}/a_{timestamp}.log", &["{p}/a_{timestamp}.log"], &[])]
    #[case("echo x >> \"{p}/a_{timestamp}.log\" 2>&1", &["{p}/a_{timestamp}.log"], &[])]
    #[case("P=$(cat {p}/pid_{timestamp}.txt)", &[], &["{p}/pid_{timestamp}.txt"])]
    #[case("LOG=\"{p}/out_{timestamp}.log\"", &[], &["{p}/out_{timestamp}.log"])]
    #[case("[ -f {p}/x_{timestamp} ] && cat {p}/x_{timestamp} > {p}/y_{timestamp}", &["{p}/y_{timestamp}"], &["{p}/x_{timestamp}"])]
    #[case("du -sh {p}/* > {p}/size.log", &[], &[])]
    fn files_written_and_read(#[case] cmd: &str, #[case] w: &[&str], #[case] r: &[&str]) {
        let (writes, reads) = timestamp_files(cmd);
        assert_eq!((writes.len(), reads.len()), (w.len(), r.len()), "{cmd}");
        assert!(
            writes
                .iter()
                .zip(w)
                .chain(reads.iter().zip(r))
                .all(|(a, b)| a == b),
            "{cmd}"
        );
    }
}
