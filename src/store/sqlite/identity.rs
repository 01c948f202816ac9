//! Domains, users, groups, tokens and the keyring.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::first;
use crate::domain::principal::GroupView;
use crate::store::rows::{self, DOMAIN_COLUMNS, GROUP_COLUMNS, USER_COLUMNS};
use crate::store::{
    DomainRecord, GroupRecord, StoreResult, TokenHolder, TokenRecord, UserRecord, found,
};

pub fn create_domain(conn: &Connection, d: &DomainRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO domains (id, name, is_provider, created_at) VALUES (?,?,?,?)",
    )?
    .execute(params![
        d.id,
        d.name,
        d.is_provider,
        d.created_at.as_millisecond()
    ])?;
    Ok(())
}

pub fn domain_where(
    conn: &Connection,
    column: &str,
    value: &str,
) -> StoreResult<Option<DomainRecord>> {
    let sql = format!("SELECT {DOMAIN_COLUMNS} FROM domains WHERE {column} = ?");
    first(&mut *conn.prepare_cached(&sql)?, [value], |r| {
        rows::domain(r, 0)
    })
}

pub fn count_domains(conn: &Connection) -> StoreResult<u64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM domains", [], |r| r.get::<_, i64>(0))? as u64)
}

/// Disabling also deletes the user's tokens and temporary keys, so enabling again does
/// not revive them.
pub fn set_user_enabled(conn: &Connection, user_id: &str, enabled: bool) -> StoreResult<()> {
    let n = conn
        .prepare_cached("UPDATE users SET enabled = ? WHERE id = ?")?
        .execute(params![enabled, user_id])?;
    if n > 0 && !enabled {
        conn.prepare_cached("DELETE FROM tokens WHERE user_id = ?")?
            .execute([user_id])?;
        conn.prepare_cached(
            "DELETE FROM access_keys WHERE user_id = ? AND expires_at IS NOT NULL",
        )?
        .execute([user_id])?;
    }
    found(n as u64)
}

pub fn create_user(conn: &Connection, u: &UserRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO users (id, domain_id, name, password_hash, is_admin, is_engineer, is_provider_admin, \
         enabled, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
    )?
    .execute(params![
        u.id,
        u.domain_id,
        u.name,
        u.password_hash,
        u.is_admin,
        u.is_engineer,
        u.is_provider_admin,
        u.enabled,
        u.created_at.as_millisecond()
    ])?;
    Ok(())
}

pub fn user_by_name(
    conn: &Connection,
    domain_id: &str,
    name: &str,
) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.domain_id = ? AND u.name = ?");
    first(&mut *conn.prepare_cached(&sql)?, [domain_id, name], |r| {
        rows::user(r, 0)
    })
}

pub fn user_by_id(conn: &Connection, id: &str) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?");
    first(&mut *conn.prepare_cached(&sql)?, [id], |r| rows::user(r, 0))
}

pub fn create_group(conn: &Connection, g: &GroupRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO user_groups (id, domain_id, name, is_operator, created_at) VALUES (?,?,?,?,?)",
    )?
    .execute(params![
        g.id,
        g.domain_id,
        g.name,
        g.is_operator,
        g.created_at.as_millisecond()
    ])?;
    Ok(())
}

pub fn group_by_name(
    conn: &Connection,
    domain_id: &str,
    name: &str,
) -> StoreResult<Option<GroupRecord>> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE domain_id = ? AND name = ?");
    first(&mut *conn.prepare_cached(&sql)?, [domain_id, name], |r| {
        rows::group(r)
    })
}

pub fn add_group_member(conn: &Connection, group_id: &str, user_id: &str) -> StoreResult<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)")?
        .execute([group_id, user_id])?;
    Ok(())
}

pub fn group_view(
    conn: &Connection,
    domain_id: &str,
    group_id: &str,
    caller_id: &str,
) -> StoreResult<Option<GroupView>> {
    let is_operator: Option<bool> = conn
        .prepare_cached("SELECT is_operator FROM user_groups WHERE id = ? AND domain_id = ?")?
        .query_row([group_id, domain_id], |r| r.get(0))
        .optional()?;
    let Some(is_operator) = is_operator else {
        return Ok(None);
    };
    let member_ids: Vec<String> = conn
        .prepare_cached("SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id")?
        .query_map([group_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let caller_is_member = member_ids.iter().any(|m| m == caller_id);
    Ok(Some(GroupView {
        is_operator,
        caller_is_member,
        member_ids,
    }))
}

pub fn insert_token(conn: &Connection, t: &TokenRecord) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO tokens (hash, user_id, issued_at, expires_at) VALUES (?,?,?,?)",
    )?
    .execute(params![
        &t.hash[..],
        t.user_id,
        t.issued_at.as_millisecond(),
        t.expires_at.as_millisecond()
    ])?;
    Ok(())
}

pub fn user_by_token(
    conn: &Connection,
    hash: &[u8; 32],
    now: Timestamp,
) -> StoreResult<Option<TokenHolder>> {
    let mut stmt = conn.prepare_cached(&rows::token_holder_query())?;
    first(&mut stmt, params![&hash[..], now.as_millisecond()], |r| {
        rows::token_holder(r)
    })
}

pub fn credential_epoch(conn: &Connection) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached("SELECT value FROM credential_epoch WHERE id = 1")?
        .query_row([], |r| r.get(0))?)
}

pub fn wrapped_data_key(conn: &Connection, wrapped: &[u8], now: Timestamp) -> StoreResult<Vec<u8>> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO keyring (id, wrapped_key, created_at) VALUES (1, ?, ?)",
    )?
    .execute(params![wrapped, now.as_millisecond()])?;
    Ok(
        conn.query_row("SELECT wrapped_key FROM keyring WHERE id = 1", [], |r| {
            r.get(0)
        })?,
    )
}
