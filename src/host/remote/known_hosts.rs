//! OpenSSH `known_hosts` semantics: plain and hashed (`|1|salt|hash`) host
//! patterns, `[host]:port` for non-22 ports, `*`/`?` wildcards, negation,
//! `@revoked`. A key that differs from a known key of the same type is a
//! changed key and is always refused; the line that holds it is reported.

use base64::engine::general_purpose::STANDARD as B64;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64_NOPAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::path::Path;

/// What the known_hosts file says of a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A line of the same type holds this key.
    Known { line: usize },
    /// Lines of the same key type exist for the host, none with this key.
    /// `known`: the fingerprint of the key that line holds.
    Changed { line: usize, known: String },
    /// The key is listed as `@revoked`.
    Revoked { line: usize },
    /// Nothing for this host and key type.
    Unknown,
}

/// The name `known_hosts` uses for a host: `host` or `[host]:port`.
pub fn host_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Key type name carried in an SSH public key blob (`ssh-ed25519`, ...).
pub fn key_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4 + len)?).ok()
}

/// `SHA256:...` fingerprint, as `ssh-keygen -l` prints it.
pub fn fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", B64_NOPAD.encode(Sha256::digest(blob)))
}

fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn hashed_matches(entry: &str, name: &str) -> bool {
    let mut parts = entry.trim_start_matches("|1|").splitn(2, '|');
    let (Some(salt), Some(hash)) = (parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (B64.decode(salt), B64.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// Does a host-pattern field (comma-separated, `!` negates) match `name`?
fn hosts_match(field: &str, name: &str) -> bool {
    if field.starts_with("|1|") {
        return hashed_matches(field, name);
    }
    let mut hit = false;
    for pat in field.split(',') {
        if let Some(neg) = pat.strip_prefix('!') {
            if glob(neg, name) {
                return false;
            }
        } else if glob(pat, name) {
            hit = true;
        }
    }
    hit
}

/// A line of the file that names a key: its marker, host patterns, key type
/// and key. Lines with an unknown marker (a typo) name nothing: read as
/// plain lines they would trust their key for every host they match.
struct Entry<'a> {
    line: usize,
    marker: Option<&'a str>,
    hosts: &'a str,
    ktype: &'a str,
    key: Option<Vec<u8>>,
}

fn entries(text: &str) -> impl Iterator<Item = Entry<'_>> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let mut fields = line.split_whitespace();
        let mut first = fields.next()?;
        let marker = first.starts_with('@').then(|| {
            let m = first;
            first = fields.next().unwrap_or_default();
            m
        });
        if !matches!(marker, None | Some("@revoked") | Some("@cert-authority")) {
            return None;
        }
        let (ktype, kdata) = (fields.next()?, fields.next()?);
        Some(Entry {
            line: i + 1,
            marker,
            hosts: first,
            ktype,
            key: B64.decode(kdata).ok(),
        })
    })
}

/// The key types on record for `name` (plain lines only), in file order.
pub fn types_for<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for e in entries(text).filter(|e| e.marker.is_none() && hosts_match(e.hosts, name)) {
        if !out.contains(&e.ktype) {
            out.push(e.ktype);
        }
    }
    out
}

/// Checks `blob`, the key `name` (see [`host_name`]) offered, against `text`.
/// A revocation anywhere in the file wins over a line that trusts the key;
/// a host on record only with keys of other types has changed keys.
pub fn check(text: &str, name: &str, blob: &[u8]) -> Verdict {
    let Some(offered_type) = key_type(blob) else {
        return Verdict::Unknown;
    };
    let same = |e: &Entry<'_>| e.key.as_deref() == Some(blob);
    if let Some(e) = entries(text).find(|e| e.marker == Some("@revoked") && same(e)) {
        return Verdict::Revoked { line: e.line };
    }
    let mine: Vec<Entry<'_>> = entries(text)
        .filter(|e| e.marker.is_none() && hosts_match(e.hosts, name))
        .collect();
    if let Some(e) = mine.iter().find(|e| e.ktype == offered_type && same(e)) {
        return Verdict::Known { line: e.line };
    }
    // Another key of this type, or, failing that, keys of other types only.
    let other = mine
        .iter()
        .find(|e| e.ktype == offered_type)
        .or_else(|| mine.first());
    match other {
        Some(e) => Verdict::Changed {
            line: e.line,
            known: e
                .key
                .as_deref()
                .map_or_else(|| "(not base64)".to_string(), fingerprint),
        },
        None => Verdict::Unknown,
    }
}

/// Adds a line for `name` and `blob` to the file (creating it, mode 600),
/// unless the file, read again under an exclusive lock, has something to
/// say about them by now: then that verdict is returned and nothing is
/// written. So two first contacts at once add one line, and a key another
/// run added meanwhile is judged as known or changed. `Unknown`: added,
/// the whole line in one write.
pub fn add(path: &Path, name: &str, blob: &[u8]) -> std::io::Result<Verdict> {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let ktype = key_type(blob).unwrap_or("ssh-unknown");
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    // SAFETY: flock on a descriptor this function owns; released on close.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    match check(&text, name, blob) {
        Verdict::Unknown => {}
        said => return Ok(said),
    }
    let line = format!("{name} {ktype} {}\n", B64.encode(blob));
    f.write_all(line.as_bytes())?;
    Ok(Verdict::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn blob(kind: &str, body: &[u8]) -> Vec<u8> {
        let mut v = (kind.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind.as_bytes());
        v.extend_from_slice(body);
        v
    }

    fn hashed(name: &str, salt: &[u8]) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(salt).unwrap();
        mac.update(name.as_bytes());
        format!(
            "|1|{}|{}",
            B64.encode(salt),
            B64.encode(mac.finalize().into_bytes())
        )
    }

    #[rstest]
    #[case("198.18.0.11", 22, "198.18.0.11")]
    #[case("198.18.0.11", 2222, "[198.18.0.11]:2222")]
    fn names(#[case] h: &str, #[case] p: u16, #[case] want: &str) {
        assert_eq!(host_name(h, p), want);
    }

    #[test]
    fn plain_hashed_ports_wildcards_negation_revoked() {
        let k = blob("ssh-ed25519", b"key-a");
        let other = blob("ssh-ed25519", b"key-b");
        let rsa = blob("ssh-rsa", b"key-r");
        let e = |b: &[u8]| B64.encode(b);
        let text = format!(
            "# comment\n\
             a.lab,198.18.0.11 ssh-ed25519 {}\n\
             {} ssh-ed25519 {}\n\
             [198.18.0.12]:2222 ssh-ed25519 {}\n\
             *.wild,!bad.wild ssh-ed25519 {}\n\
             @revoked * ssh-ed25519 {}\n\
             rsaonly ssh-rsa {}\n",
            e(&k),
            hashed("hashed.lab", b"salt-1234567890123456"),
            e(&k),
            e(&k),
            e(&k),
            e(&blob("ssh-ed25519", b"stolen")),
            e(&rsa)
        );
        for (host, line) in [("198.18.0.11", 2), ("hashed.lab", 3)] {
            assert_eq!(check(&text, host, &k), Verdict::Known { line });
            let known = fingerprint(&k);
            assert_eq!(check(&text, host, &other), Verdict::Changed { line, known });
        }
        assert_eq!(
            check(&text, "[198.18.0.12]:2222", &k),
            Verdict::Known { line: 4 }
        );
        assert_eq!(check(&text, "198.18.0.12", &k), Verdict::Unknown);
        assert_eq!(check(&text, "x.wild", &k), Verdict::Known { line: 5 });
        assert_eq!(check(&text, "bad.wild", &k), Verdict::Unknown);
        assert_eq!(
            check(&text, "anything", &blob("ssh-ed25519", b"stolen")),
            Verdict::Revoked { line: 6 }
        );
        // A host on record with keys of other types only: offered another
        // type, its keys changed (a man in the middle offering only ECDSA
        // against a recorded ed25519 must not be taken for a new host).
        assert!(matches!(
            check(&text, "rsaonly", &k),
            Verdict::Changed { line: 7, .. }
        ));
        assert_eq!(types_for(&text, "rsaonly"), ["ssh-rsa"]);
    }

    #[test]
    fn a_revocation_anywhere_wins_and_an_unknown_marker_trusts_nothing() {
        let k = blob("ssh-ed25519", b"key-a");
        let e = B64.encode(&k);
        let trusted_then_revoked = format!("h ssh-ed25519 {e}\n@revoked * ssh-ed25519 {e}\n");
        assert_eq!(
            check(&trusted_then_revoked, "h", &k),
            Verdict::Revoked { line: 2 }
        );
        let typo = format!("@revokd * ssh-ed25519 {e}\n");
        assert_eq!(check(&typo, "anyhost", &k), Verdict::Unknown);
        assert!(types_for(&typo, "anyhost").is_empty());
    }

    #[test]
    fn adds_are_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kh");
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for j in 0..50 {
                        let k = blob("ssh-ed25519", format!("key-{i}-{j}").as_bytes());
                        let v = add(&path, &format!("h{i}-{j}"), &k).unwrap();
                        assert_eq!(v, Verdict::Unknown);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 400);
        assert!(text.lines().all(|l| l.split_whitespace().count() == 3));
    }

    /// Issue 31: two first contacts that both found the host unknown add
    /// one line; a different key added meanwhile is a change, not a second
    /// trusted key. (Before, the check came before the lock: 8 lines.)
    #[test]
    fn a_key_added_meanwhile_is_judged_not_added_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kh");
        let k = blob("ssh-ed25519", b"the-key");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, k) = (path.clone(), k.clone());
                std::thread::spawn(move || add(&path, "[h]:2222", &k).unwrap())
            })
            .collect();
        let verdicts: Vec<Verdict> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        assert_eq!(
            verdicts.iter().filter(|v| **v == Verdict::Unknown).count(),
            1
        );
        assert!(verdicts
            .iter()
            .all(|v| matches!(v, Verdict::Unknown | Verdict::Known { line: 1 })));
        let other = blob("ssh-ed25519", b"another-key");
        assert!(matches!(
            add(&path, "[h]:2222", &other).unwrap(),
            Verdict::Changed { line: 1, .. }
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    }

    #[test]
    fn fingerprint_matches_ssh_keygen_format() {
        let f = fingerprint(&blob("ssh-ed25519", b"x"));
        assert!(f.starts_with("SHA256:") && !f.ends_with('='), "{f}");
    }
}
