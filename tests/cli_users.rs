//! `otklik users list|passwd`: the password comes from standard input, the policy is enforced,
//! and the account shows as able to sign in.

use std::io::Write as _;
use std::process::Stdio;

use crate::support::{otklik, root, run, text};

fn passwd(dir: &std::path::Path, login: &str, password: &str) -> std::process::Output {
    let mut child = otklik(dir)
        .args(["users", "passwd", login])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write");
    child.wait_with_output().expect("wait")
}

#[test]
fn passwd_from_stdin_with_policy_and_list_shows_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let demo = root().join("demo");
    let out = run(otklik(dir.path()).args(["import", "--dir"]).arg(&demo));
    assert!(out.status.success(), "{}", text(&out));

    let out = passwd(dir.path(), "lebedeva.ks", "short");
    assert!(!out.status.success(), "a short password is refused");
    assert!(text(&out).contains("password refused"), "{}", text(&out));

    let out = passwd(dir.path(), "nobody.here", "a long enough password");
    assert!(!out.status.success());
    assert!(text(&out).contains("nobody.here"), "{}", text(&out));

    let out = passwd(dir.path(), "lebedeva.ks", "a long enough password");
    assert!(out.status.success(), "{}", text(&out));

    let out = run(otklik(dir.path()).args(["users", "list"]));
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = listing
        .lines()
        .find(|l| l.starts_with("lebedeva.ks "))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(line.ends_with(" password"), "{line}");
    let other = listing
        .lines()
        .find(|l| l.starts_with("fedorov.ip "))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(other.ends_with("no password"), "{other}");
}
