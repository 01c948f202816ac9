//! File transfers through the SSH broker, end to end: OpenSSH's `sftp` and `scp` (SFTP
//! and legacy mode) as the engineer, `sshd` with its `sftp-server` as the host. Every
//! file that crossed is in ListTransportHistories with the SHA-256 of its bytes.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::broker::{audit_kinds, commands, confirm, eventually, raise, sessions, setup};
use crate::broker_host::{Broker, EngineerKey, openssh, output, ssh};

const TEN_MIB: usize = 10 << 20;

/// Bytes no compression or coincidence makes special (xorshift).
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `sftp` or `scp` to the broker as the engineer (they spell the port `-P`).
fn client(program: &str, broker: &Broker, key: &EngineerKey) -> Command {
    let mut cmd = openssh(program, broker, key);
    cmd.args(["-P", &broker.port.to_string()]);
    cmd
}

async fn transfers(w: &crate::helpers::World, id: &str, detail: i64, session: i64) -> Vec<Value> {
    let path = format!(
        "/v2/servicerequest/authorizations/{id}/authorization-details/{detail}/sessions/{session}/operation-file-logs?sort=1"
    );
    let r = w.call("GET", &path, Some(w.token("bob")), None).await;
    assert_eq!(r.status, 200, "{}", r.raw);
    r.body["file_ops_list"].as_array().unwrap().clone()
}

/// Every session of the detail once all are closed: (session, transfers, commands).
async fn closed_sessions(
    w: &crate::helpers::World,
    id: &str,
    detail: i64,
    count: usize,
) -> Vec<(Value, Vec<Value>, Vec<String>)> {
    eventually("every session closed", || async {
        let list = sessions(w, id, detail).await;
        list.len() == count && list.iter().all(|x| x["end_time"].is_string())
    })
    .await;
    let mut out = Vec::new();
    for session in sessions(w, id, detail).await {
        let sid = session["session_id"].as_i64().unwrap();
        let files = transfers(w, id, detail, sid).await;
        let ops = commands(w, id, detail, sid).await;
        out.push((session, files, ops));
    }
    out
}

fn assert_transfer(t: &Value, kind: &str, path_end: &str, size: usize, sha256: &str) {
    assert_eq!(t["operate_type"], kind, "{t}");
    assert_eq!(t["file_size_bytes"], size, "{t}");
    assert_eq!(t["file_size"], "10.0M", "{t}");
    assert_eq!(t["sha256"], sha256, "{t}");
    assert_eq!(t["oper_result"], "success", "{t}");
    let host_side = if kind == "upload" {
        "to_path"
    } else {
        "from_path"
    };
    let path = t[host_side].as_str().unwrap();
    assert!(path.ends_with(path_end), "{host_side} {path} of {t}");
    assert_eq!(t["file_name"].as_str(), path_end.rsplit('/').next(), "{t}");
}

#[tokio::test]
async fn sftp_puts_gets_and_changes_are_recorded_with_sha256() {
    let s = setup().await;
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let local = tempfile::tempdir().unwrap();
    let data = content(TEN_MIB, 11);
    let up = local.path().join("up.bin");
    let down = local.path().join("down.bin");
    std::fs::write(&up, &data).unwrap();
    let dir = format!("sa-sftp-{:016x}", rand::random::<u64>());
    let batch = local.path().join("batch");
    std::fs::write(
        &batch,
        format!(
            "mkdir {dir}\nput {} {dir}/up.bin\nget {dir}/up.bin {}\n\
             rename {dir}/up.bin {dir}/moved.bin\nchmod 600 {dir}/moved.bin\n\
             rm {dir}/moved.bin\nrmdir {dir}\n",
            up.display(),
            down.display()
        ),
    )
    .unwrap();
    let mut sftp = client("sftp", &s.broker, &s.key);
    sftp.arg("-b")
        .arg(&batch)
        .arg(format!("eng#{detail}@127.0.0.1"));
    let (code, out, err) = output(sftp).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        std::fs::read(&down).unwrap() == data,
        "the download differs"
    );

    let expected = sha256_hex(&data);
    let recorded = closed_sessions(&s.w, &id, detail, 1).await;
    let (session, files, ops) = &recorded[0];
    assert_eq!(files.len(), 2, "{files:?}");
    assert_transfer(
        &files[0],
        "upload",
        &format!("{dir}/up.bin"),
        TEN_MIB,
        &expected,
    );
    assert_transfer(
        &files[1],
        "download",
        &format!("{dir}/up.bin"),
        TEN_MIB,
        &expected,
    );
    assert_eq!(files[0]["from_path"], "", "the engineer's side is not seen");

    // The changes, in order, with absolute paths on the host.
    let changes: Vec<&String> = ops.iter().filter(|o| o.starts_with("sftp ")).collect();
    let expected_changes = [
        format!("sftp mkdir /{dir}"),
        format!("sftp rename /{dir}/up.bin /{dir}/moved.bin"),
        format!("sftp chmod 0600 /{dir}/moved.bin"),
        format!("sftp rm /{dir}/moved.bin"),
        format!("sftp rmdir /{dir}"),
    ];
    assert_eq!(changes.len(), expected_changes.len(), "{ops:?}");
    for (got, want) in changes.iter().zip(&expected_changes) {
        // `sftp` makes each path absolute: /home/ACCOUNT/DIR...
        let got = got.replace(&format!("/home/{}", crate::broker_host::ACCOUNT), "");
        assert_eq!(&got, want, "{ops:?}");
    }
    assert_eq!(session["close_reason"], "the engineer disconnected");
    // The audit chain vouches for the hashes too.
    let events = audit_kinds(&s.w).await;
    assert!(
        events
            .iter()
            .any(|(k, note)| k == "file_transfers_recorded" && note.contains(&expected)),
        "{events:?}"
    );
    assert!(
        events.iter().any(|(k, note)| k == "session_closed"
            && note.contains("reason=\"the engineer disconnected\"")),
        "{events:?}"
    );
}

/// `scp` in its default (SFTP) mode and in legacy mode (`-O`, the rcp protocol over
/// exec): an upload and a download each.
#[tokio::test]
async fn scp_in_both_modes_records_transfers_with_sha256() {
    let s = setup().await;
    let (id, detail) = raise(&s.w).await;
    confirm(&s.w, &id, detail, &s.sshd, None).await;
    let local = tempfile::tempdir().unwrap();
    let data = content(TEN_MIB, 29);
    let expected = sha256_hex(&data);
    let up = local.path().join("up.bin");
    std::fs::write(&up, &data).unwrap();
    // scp refuses `#` in the user name of a remote source: the user goes in `-o`.
    let host = "127.0.0.1";
    let mut names = Vec::new();
    for legacy in [false, true] {
        let name = format!("sa-scp-{:016x}.bin", rand::random::<u64>());
        let down = local.path().join(format!("{name}.down"));
        let scp = |from: &str, to: &Path| {
            let mut c = client("scp", &s.broker, &s.key);
            c.arg("-o").arg(format!("User=eng:{detail}"));
            if legacy {
                c.arg("-O");
            }
            c.arg(from).arg(to);
            c
        };
        let (code, out, err) = output(scp(
            up.to_str().unwrap(),
            Path::new(&format!("{host}:{name}")),
        ))
        .await;
        assert_eq!(code, Some(0), "upload (legacy {legacy}): {out}{err}");
        let (code, out, err) = output(scp(&format!("{host}:{name}"), &down)).await;
        assert_eq!(code, Some(0), "download (legacy {legacy}): {out}{err}");
        assert!(
            std::fs::read(&down).unwrap() == data,
            "the download differs"
        );
        names.push(name);
    }
    let recorded = closed_sessions(&s.w, &id, detail, 4).await;
    for name in &names {
        for kind in ["upload", "download"] {
            let found: Vec<&Value> = recorded
                .iter()
                .flat_map(|(_, files, _)| files)
                .filter(|t| t["file_name"] == name.as_str() && t["operate_type"] == kind)
                .collect();
            assert_eq!(found.len(), 1, "{kind} {name}: {recorded:?}");
            assert_transfer(found[0], kind, name, TEN_MIB, &expected);
        }
    }
    // Legacy scp is also its command line.
    let ops: Vec<&String> = recorded.iter().flat_map(|(_, _, ops)| ops).collect();
    for flag in ["-t", "-f"] {
        assert!(
            ops.iter()
                .any(|o| o.starts_with("scp ") && o.contains(flag) && o.contains(&names[1])),
            "{ops:?}"
        );
    }
    let cleanup = {
        let mut c = ssh(&s.broker, &s.key, &format!("eng:{detail}"));
        c.arg(format!("rm -f {}", names.join(" ")));
        c
    };
    assert_eq!(output(cleanup).await.0, Some(0));
}
