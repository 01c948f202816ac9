//! Domains, users, groups, tokens and the keyring.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::from_ms;
use crate::domain::principal::GroupView;
use crate::store::{
    DomainRecord, GroupRecord, StoreResult, TokenHolder, TokenRecord, UserRecord, found,
};

pub(super) const USER_COLUMNS: &str = "u.id, u.domain_id, u.name, u.password_hash, u.is_admin, u.is_engineer, \
    u.is_provider_admin, u.enabled, u.created_at, u.email";
/// How many columns `USER_COLUMNS` selects.
pub(super) const USER_COLUMN_COUNT: usize = 10;

/// A user from the row's columns starting at `at` (in `USER_COLUMNS` order).
pub(super) fn user_from_row(r: &Row, at: usize) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(at)?,
        domain_id: r.get(at + 1)?,
        name: r.get(at + 2)?,
        password_hash: r.get(at + 3)?,
        is_admin: r.get(at + 4)?,
        is_engineer: r.get(at + 5)?,
        is_provider_admin: r.get(at + 6)?,
        enabled: r.get(at + 7)?,
        created_at: from_ms(r.get(at + 8)?),
        email: r.get(at + 9)?,
    })
}

pub(super) fn domain_from_row(r: &Row, at: usize) -> rusqlite::Result<DomainRecord> {
    Ok(DomainRecord {
        id: r.get(at)?,
        name: r.get(at + 1)?,
        is_provider: r.get(at + 2)?,
        created_at: from_ms(r.get(at + 3)?),
    })
}

/// A group from `id, domain_id, name, is_operator, created_at`.
pub(super) fn group_from_row(r: &Row) -> rusqlite::Result<GroupRecord> {
    Ok(GroupRecord {
        id: r.get(0)?,
        domain_id: r.get(1)?,
        name: r.get(2)?,
        is_operator: r.get(3)?,
        created_at: from_ms(r.get(4)?),
    })
}

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
    let sql = format!("SELECT id, name, is_provider, created_at FROM domains WHERE {column} = ?");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([value], |r| domain_from_row(r, 0))
        .optional()?)
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
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([domain_id, name], |r| user_from_row(r, 0))
        .optional()?)
}

pub fn user_by_id(conn: &Connection, id: &str) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], |r| user_from_row(r, 0))
        .optional()?)
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
    Ok(conn
        .prepare_cached("SELECT id, domain_id, name, is_operator, created_at FROM user_groups WHERE domain_id = ? AND name = ?")?
        .query_row([domain_id, name], group_from_row)
        .optional()?)
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
    let sql = format!(
        "SELECT {USER_COLUMNS}, d.id, d.name, d.is_provider, d.created_at, t.expires_at FROM tokens t \
         JOIN users u ON u.id = t.user_id JOIN domains d ON d.id = u.domain_id \
         WHERE t.hash = ? AND t.expires_at > ? AND u.enabled = 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![&hash[..], now.as_millisecond()], |r| {
            Ok(TokenHolder {
                user: user_from_row(r, 0)?,
                domain: domain_from_row(r, USER_COLUMN_COUNT)?,
                expires_at: from_ms(r.get(USER_COLUMN_COUNT + 4)?),
            })
        })
        .optional()?)
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
