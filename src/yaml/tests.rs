use super::*;
use rstest::rstest;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Host {
    port: u16,
    #[serde(default)]
    user: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct File {
    hosts: BTreeMap<String, Host>,
    #[serde(default)]
    list: Vec<u32>,
}

#[rstest]
#[case::unknown_field(
    "hosts:\n  a:\n    port: 1\n    usr: x\n",
    "hosts.a.usr",
    4,
    "unknown field `usr`"
)]
#[case::missing_field("hosts:\n  a:\n    user: x\n", "hosts.a", 3, "missing field `port`")]
#[case::not_a_port(
    "hosts:\n  a:\n    port: abc\n",
    "hosts.a.port",
    3,
    "expected a whole number from 0 to 65535 (u16)"
)]
#[case::repeated_map_key(
    "hosts:\n  a:\n    port: 1\n  a:\n    port: 2\n",
    "hosts",
    4,
    "duplicate key `a`; each key may appear once in a map"
)]
#[case::repeated_field(
    "hosts:\n  a:\n    port: 1\n    port: 2\n",
    "hosts.a",
    4,
    "duplicate key `port`"
)]
#[case::list_item("hosts: {}\nlist: [1, x]\n", "list[1]", 2, "expected a whole number")]
#[case::empty("", "", 1, "the document is empty")]
fn errors_name_the_key_the_line_and_the_fault(
    #[case] text: &str,
    #[case] path: &str,
    #[case] line: usize,
    #[case] piece: &str,
) {
    let e = from_str::<File>(text).unwrap_err();
    assert_eq!(e.path, path, "{e}");
    assert_eq!(e.line, Some(line), "{e}");
    assert!(e.message.contains(piece), "{e}");
    assert!(e.to_string().contains(&format!("at line {line}")), "{e}");
}

/// Ten anchors, each ten aliases of the one before: 10^10 nodes if
/// expanded. It must stop at the budget, quickly and without a panic.
fn alias_bomb() -> String {
    let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    s
}

#[test]
fn an_alias_bomb_is_refused_as_too_large() {
    let e = from_str::<Value>(&alias_bomb()).unwrap_err();
    assert!(e.message.contains("too large or too complex"), "{e}");
}

#[test]
fn a_few_aliases_still_read() {
    let v: Value = from_str("a: &x {k: 1}\nb: *x\n").unwrap();
    assert_eq!(v["b"]["k"], 1);
}

#[test]
fn untyped_maps_refuse_a_repeated_key_too() {
    let e = from_str::<Value>("a: 1\nb: 2\na: 3\n").unwrap_err();
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("duplicate key `a`"), "{e}");
}

#[test]
fn untyped_maps_keep_the_document_order() {
    let v: Value = from_str("z: 1\na: 2\nm: 3\n").unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["z", "a", "m"]);
    assert_eq!(to_string(&v).unwrap(), "z: 1\na: 2\nm: 3\n");
}

#[test]
fn a_long_command_stays_on_one_line() {
    let run = format!("iperf3 -c {{server_ip}} {}", "-x ".repeat(60));
    let text = to_string(&serde_json::json!({ "run": run })).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[rstest]
#[case::braces(serde_json::json!({"run": "{tool_id} --x", "n": null}))]
#[case::colon(serde_json::json!({"a": ["x: y", "#not a comment", "- item"]}))]
#[case::multiline(serde_json::json!({"run": "set -e\nmkdir -p {result_dir}\n"}))]
#[case::numbers_as_strings(serde_json::json!({"port": "22", "yes": "yes", "octal": "0755"}))]
fn what_it_writes_reads_back_the_same(#[case] v: Value) {
    let text = to_string(&v).unwrap();
    assert_eq!(from_str::<Value>(&text).unwrap(), v, "{text}");
}
