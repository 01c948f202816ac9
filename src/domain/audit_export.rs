//! Audit events in the forms they leave the service in: a JSON object with every hashed
//! field (JSON lines export, `audit list`, the customer API), which verifies without
//! the database, and OCSF 1.5 events for a security team's tools.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::audit::{AuditDraft, AuditEvent, GENESIS_HASH, event_hash};
use super::ids::AuthorizationId;
use super::status::Status;
use super::time::format_utc;

/// The OCSF version the export follows.
pub const OCSF_VERSION: &str = "1.5.0";

/// Every field the hash covers, plus a readable time.
pub fn event_json(e: &AuditEvent) -> Value {
    let d = &e.draft;
    json!({
        "chain": d.domain_id,
        "seq": e.seq,
        "time": format_utc(e.at),
        "time_ms": e.at.as_millisecond(),
        "type": d.kind,
        "actor": { "id": d.actor_id, "name": d.actor_name },
        "authorization_id": d.authorization_id.map(|a| a.0),
        "from_status": d.from_status.map(Status::code),
        "to_status": d.to_status.map(Status::code),
        "reason": d.reason,
        "note": d.note,
        "prev_hash": hex::encode(e.prev_hash),
        "hash": hex::encode(e.hash),
    })
}

/// Reads back what [`event_json`] wrote.
pub fn event_from_json(v: &Value) -> Result<AuditEvent, String> {
    let text = |name: &str| -> Result<String, String> {
        v.pointer(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("`{}` is missing or not a string", &name[1..]))
    };
    let int = |name: &str| v.get(name).and_then(Value::as_i64);
    let status = |name: &str| -> Result<Option<Status>, String> {
        match v.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(code) => code
                .as_i64()
                .and_then(Status::from_code)
                .map(Some)
                .ok_or_else(|| format!("`{name}` is not a status code")),
        }
    };
    let hash = |name: &str| -> Result<[u8; 32], String> {
        hex::decode(text(name)?)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("`{}` is not 64 hex digits", &name[1..]))
    };
    let seq = int("seq").ok_or("`seq` is missing or not an integer")?;
    let at = int("time_ms")
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .ok_or("`time_ms` is missing or not a time")?;
    Ok(AuditEvent {
        seq,
        at,
        draft: AuditDraft {
            domain_id: text("/chain")?,
            authorization_id: int("authorization_id").map(AuthorizationId),
            actor_id: text("/actor/id")?,
            actor_name: text("/actor/name")?,
            kind: text("/type")?,
            from_status: status("from_status")?,
            to_status: status("to_status")?,
            reason: v.get("reason").and_then(Value::as_str).map(str::to_owned),
            note: text("/note")?,
        },
        prev_hash: hash("/prev_hash")?,
        hash: hash("/hash")?,
    })
}

/// Checks one whole chain, sorted by seq: from the genesis, numbering without gaps,
/// each link, each hash.
fn check_run(events: &[AuditEvent]) -> Result<(), (i64, &'static str)> {
    let Some(first) = events.first() else {
        return Ok(());
    };
    if first.seq != 1 {
        return Err((
            first.seq,
            "the events before it are missing (verify an export of whole chains: no --since, --type or --authorization)",
        ));
    }
    if first.prev_hash != GENESIS_HASH {
        return Err((1, "the first event does not start at the genesis hash"));
    }
    let mut prev = first.prev_hash;
    for (e, expected) in events.iter().zip(first.seq..) {
        if e.seq != expected {
            return Err((
                e.seq,
                "sequence number out of order (an event was removed or inserted)",
            ));
        }
        if e.prev_hash != prev {
            return Err((
                e.seq,
                "previous-hash link does not match the event before it",
            ));
        }
        if event_hash(&e.draft, e.seq, e.at, &e.prev_hash) != e.hash {
            return Err((
                e.seq,
                "event content does not match its hash (the event was altered)",
            ));
        }
        prev = e.hash;
    }
    Ok(())
}

/// What verifying an exported file found.
#[derive(Debug, PartialEq, Eq)]
pub struct ExportCheck {
    pub chains: usize,
    pub events: usize,
}

/// Verifies exported events (JSON lines, any order): per chain, that it starts at the
/// genesis, each event's hash and its link to the one before. (Events cut from a
/// chain's end are beyond what a file alone can show: the database keeps each chain's
/// head for that.)
pub fn verify_export(lines: &str) -> Result<ExportCheck, String> {
    let mut chains: BTreeMap<String, Vec<AuditEvent>> = BTreeMap::new();
    let mut events = 0;
    for (i, line) in lines
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
        let event = event_from_json(&value).map_err(|e| format!("line {}: {e}", i + 1))?;
        chains
            .entry(event.draft.domain_id.clone())
            .or_default()
            .push(event);
        events += 1;
    }
    for (chain, list) in &mut chains {
        list.sort_by_key(|e| e.seq);
        check_run(list)
            .map_err(|(seq, problem)| format!("chain {chain}: event {seq}: {problem}"))?;
    }
    Ok(ExportCheck {
        chains: chains.len(),
        events,
    })
}

/// The OCSF class and activity an event kind maps to.
fn ocsf_class(kind: &str) -> (u32, u32) {
    match kind {
        // Account Change: the accounts themselves.
        "user.created" | "engineer.created" => (3001, 1),
        "user.enabled" => (3001, 2),
        "user.password_changed" => (3001, 4),
        "user.disabled" => (3001, 5),
        "user.deleted" => (3001, 6),
        "user.updated" => (3001, 99),
        // Group Management.
        "group.member_added" => (3006, 3),
        "group.member_removed" => (3006, 4),
        "group.deleted" => (3006, 5),
        "group.created" => (3006, 6),
        // Authentication: a host login tried by CheckHosts; an access session ending.
        "host_check" => (3002, 1),
        "session_closed" => (3002, 2),
        // Authorize Session: an engineer's session on a granted authorization.
        "session_opened" => (3003, 1),
        // API Activity: the workflow and everything else administrative.
        "raise"
        | "domain.created"
        | "access_key.created"
        | "ssh_key.added"
        | "webhook.created"
        | "broker.host_key_created" => (6003, 1),
        "access_key.deleted" | "ssh_key.removed" | "webhook.deleted" => (6003, 4),
        _ => (6003, 3),
    }
}

fn ocsf_user(id: &str, name: &str) -> Value {
    json!({ "uid": id, "name": name })
}

/// `before` or else `after` of an administrative event's note.
fn changed(note: &Value, field: &str) -> Value {
    for side in ["after", "before"] {
        let v = &note[side][field];
        if !v.is_null() {
            return v.clone();
        }
    }
    Value::Null
}

/// One event as an OCSF 1.5 event of the class that fits its kind. The chain position
/// and hashes are kept under `unmapped`, so the OCSF copy can be matched to the chain.
pub fn ocsf_event(e: &AuditEvent) -> Value {
    let d = &e.draft;
    let (class_uid, activity_id) = ocsf_class(&d.kind);
    let actor = ocsf_user(&d.actor_id, &d.actor_name);
    let note: Value = serde_json::from_str(&d.note).unwrap_or(Value::Null);
    let authorization = d.authorization_id.map(|a| format!("authorization:{}", a.0));
    let mut event = json!({
        "class_uid": class_uid,
        "category_uid": class_uid / 1000,
        "activity_id": activity_id,
        "type_uid": u64::from(class_uid) * 100 + u64::from(activity_id),
        "severity_id": 1,
        "time": e.at.as_millisecond(),
        "message": d.kind,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": format!("{}:{}", d.domain_id, e.seq),
            "product": { "name": "support-access", "vendor_name": "support-access" },
        },
        "unmapped": {
            "chain": d.domain_id, "seq": e.seq, "hash": hex::encode(e.hash),
            "prev_hash": hex::encode(e.prev_hash), "authorization_id": d.authorization_id.map(|a| a.0),
            "reason": d.reason, "note": d.note,
        },
    });
    let fields = event.as_object_mut().expect("an object");
    let mut put = |k: &str, v: Value| {
        fields.insert(k.into(), v);
    };
    match class_uid {
        3001 => {
            put("actor", json!({ "user": actor }));
            put(
                "user",
                ocsf_user_or_unknown(changed(&note, "id"), changed(&note, "name")),
            );
        }
        3006 => {
            put("actor", json!({ "user": actor }));
            let (group_id, group_name) = match changed(&note, "group_id") {
                Value::Null => (changed(&note, "id"), changed(&note, "name")),
                id => (id, changed(&note, "group")),
            };
            put("group", json!({ "uid": group_id, "name": group_name }));
            if d.kind.starts_with("group.member") {
                put(
                    "user",
                    ocsf_user_or_unknown(changed(&note, "user_id"), changed(&note, "user")),
                );
            }
        }
        3002 => {
            put("user", actor);
            put("service", json!({ "name": "ssh" }));
        }
        3003 => {
            put("user", actor);
            put(
                "privileges",
                json!([authorization.unwrap_or_else(|| d.kind.clone())]),
            );
        }
        _ => {
            put("actor", json!({ "user": actor }));
            put("api", json!({ "operation": d.kind }));
            // Client addresses are not recorded; the endpoint is the service itself.
            put("src_endpoint", json!({ "svc_name": "support-access" }));
        }
    }
    event
}

fn ocsf_user_or_unknown(id: Value, name: Value) -> Value {
    match (id, name) {
        (Value::Null, Value::Null) => json!({ "name": "unknown" }),
        (id, name) => {
            let mut user = serde_json::Map::new();
            if !id.is_null() {
                user.insert("uid".into(), id);
            }
            if !name.is_null() {
                user.insert("name".into(), name);
            }
            Value::Object(user)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Actor, GENESIS_HASH, SYSTEM_CHAIN};

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|seq| {
                let after = json!({ "id": format!("u{seq}"), "name": "bob" });
                let e = AuditDraft::admin(
                    SYSTEM_CHAIN,
                    &Actor::cli("root"),
                    "user.created",
                    None,
                    Some(after),
                )
                .seal(seq, Timestamp::from_second(seq).unwrap(), prev);
                prev = e.hash;
                e
            })
            .collect()
    }

    fn export(events: &[AuditEvent]) -> String {
        events
            .iter()
            .map(|e| format!("{}\n", event_json(e)))
            .collect()
    }

    #[test]
    fn an_export_round_trips_and_verifies() {
        let events = chain(4);
        for e in &events {
            assert_eq!(&event_from_json(&event_json(e)).unwrap(), e);
        }
        assert_eq!(
            verify_export(&export(&events)),
            Ok(ExportCheck {
                chains: 1,
                events: 4
            })
        );
        // A chain whose first events are missing does not.
        assert!(
            verify_export(&export(&events[2..]))
                .unwrap_err()
                .contains("missing")
        );
    }

    #[test]
    fn a_tampered_export_fails() {
        let events = chain(4);
        let altered = export(&events).replace("bob", "eve");
        assert!(verify_export(&altered).unwrap_err().contains("altered"));
        let mut gap = events.clone();
        gap.remove(1);
        assert!(
            verify_export(&export(&gap))
                .unwrap_err()
                .contains("out of order")
        );
        assert!(verify_export("{not json").is_err());
    }

    #[test]
    fn kinds_map_to_ocsf_classes() {
        let e = &chain(1)[0];
        let o = ocsf_event(e);
        assert_eq!(
            (o["class_uid"].as_u64(), o["type_uid"].as_u64()),
            (Some(3001), Some(300101))
        );
        assert_eq!(o["user"]["uid"], "u1");
        assert_eq!(o["actor"]["user"]["uid"], "cli:root");
        assert_eq!(ocsf_class("session_opened"), (3003, 1));
        assert_eq!(ocsf_class("confirm"), (6003, 3));
    }
}
