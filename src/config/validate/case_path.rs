//! Where a tool's case file is. Seed 001 §3.4 names it from its
//! repository's root (`test/workflow/case/performance-test-cases.json`,
//! with the configuration in `test/automate-performance-test/config/`).

use super::{Checker, Source};
use std::path::{Path, PathBuf};

/// `file` as written when it is absolute or lies in the configuration
/// directory `dir`. Otherwise, inside a git repository, the first directory
/// from `dir` up to the repository's root that holds it, as seed 001 means
/// it; that is said as a warning at `key`, so `validate` shows which file
/// was read. When none holds it, `dir`'s (whose read error names it).
pub(super) fn resolve(
    ck: &mut Checker,
    src: &Source,
    key: &[&str],
    dir: &Path,
    file: &str,
) -> PathBuf {
    let direct = dir.join(file);
    if Path::new(file).is_absolute() || direct.exists() {
        return direct;
    }
    let Some(found) = from_repository(dir, file) else {
        return direct;
    };
    ck.warn(
        src,
        key,
        format!(
            "{file} is not in the configuration directory; read {} (found above it, in its \
             repository, as seed 001 names case files from the repository's root)",
            found.display()
        ),
    );
    found
}

/// `file` under `dir` or a directory above it, up to the repository's
/// root (the first holding `.git`); `None` outside a repository.
fn from_repository(dir: &Path, file: &str) -> Option<PathBuf> {
    let dir = dir.canonicalize().ok()?;
    let root = dir.ancestors().find(|a| a.join(".git").exists())?;
    dir.ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(root))
        .map(|a| a.join(file))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let cases = d.path().join("test/workflow/case");
        std::fs::create_dir_all(&cases).unwrap();
        std::fs::write(cases.join("performance-test-cases.json"), "[]").unwrap();
        std::fs::create_dir_all(d.path().join("test/automate-performance-test/config")).unwrap();
        d
    }

    fn resolve_in(dir: &Path, file: &str) -> (PathBuf, Vec<String>) {
        let mut ck = Checker::default();
        let src = Source {
            shown: dir.join("ebpf-tools-config.yaml"),
            text: String::new(),
        };
        let p = resolve(&mut ck, &src, &["ebpf_tools", "tool_001"], dir, file);
        (p, ck.warnings.into_iter().map(|w| w.message).collect())
    }

    const SEED_FILE: &str = "test/workflow/case/performance-test-cases.json";

    #[test]
    fn the_seeds_repository_relative_path_resolves_from_the_root() {
        let d = tree();
        std::fs::create_dir(d.path().join(".git")).unwrap();
        let cfg = d.path().join("test/automate-performance-test/config");
        let (p, w) = resolve_in(&cfg, SEED_FILE);
        let want = d.path().canonicalize().unwrap().join(SEED_FILE);
        assert_eq!(p, want);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains(&format!("read {}", want.display())), "{w:?}");
    }

    #[test]
    fn a_file_in_the_configuration_directory_is_read_there_silently() {
        let d = tree();
        std::fs::create_dir(d.path().join(".git")).unwrap();
        let cfg = d.path().join("test/automate-performance-test/config");
        std::fs::create_dir_all(cfg.join("test/workflow/case")).unwrap();
        std::fs::write(cfg.join(SEED_FILE), "[]").unwrap();
        assert_eq!(resolve_in(&cfg, SEED_FILE), (cfg.join(SEED_FILE), vec![]));
    }

    #[test]
    fn outside_a_repository_nothing_above_is_read() {
        let d = tree();
        let cfg = d.path().join("test/automate-performance-test/config");
        assert_eq!(resolve_in(&cfg, SEED_FILE), (cfg.join(SEED_FILE), vec![]));
    }
}
