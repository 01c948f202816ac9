//! Administrative changes, each with its audit event in the same transaction, and the
//! listings the admin CLI shows.

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::all;
use super::identity;
use super::{access_keys, audit, broker, webhooks};
use crate::domain::audit::AuditDraft;
use crate::store::rows::{self, DOMAIN_COLUMNS, GROUP_COLUMNS, USER_COLUMNS, language_tag};
use crate::store::{AdminChange, DomainRecord, GroupRecord, StoreResult, UserRecord, found};

/// Runs inside the writer's transaction, so the change and its event commit together.
pub fn apply(
    conn: &Connection,
    change: &AdminChange,
    event: AuditDraft,
    at: Timestamp,
) -> StoreResult<()> {
    let execute = |sql: &str, values: &[&dyn rusqlite::ToSql]| -> StoreResult<u64> {
        Ok(conn.prepare_cached(sql)?.execute(values)? as u64)
    };
    match change {
        AdminChange::CreateDomain(d) => identity::create_domain(conn, d)?,
        AdminChange::CreateUser(u) => identity::create_user(conn, u)?,
        AdminChange::UpdateUser {
            user_id,
            is_admin,
            email,
            language,
        } => found(execute(
            "UPDATE users SET is_admin = ?, email = ?, language = ? WHERE id = ?",
            params![is_admin, email, language.map(language_tag), user_id],
        )?)?,
        AdminChange::SetPassword {
            user_id,
            password_hash,
        } => found(execute(
            "UPDATE users SET password_hash = ? WHERE id = ?",
            params![password_hash, user_id],
        )?)?,
        AdminChange::SetUserEnabled { user_id, enabled } => {
            identity::set_user_enabled(conn, user_id, *enabled)?;
        }
        AdminChange::DeleteUser { user_id } => {
            for table in ["tokens", "access_keys", "group_members"] {
                execute(
                    &format!("DELETE FROM {table} WHERE user_id = ?"),
                    params![user_id],
                )?;
            }
            found(execute("DELETE FROM users WHERE id = ?", params![user_id])?)?;
        }
        AdminChange::CreateGroup(g) => identity::create_group(conn, g)?,
        AdminChange::AddGroupMember { group_id, user_id } => {
            identity::add_group_member(conn, group_id, user_id)?;
        }
        AdminChange::RemoveGroupMember { group_id, user_id } => found(execute(
            "DELETE FROM group_members WHERE group_id = ? AND user_id = ?",
            params![group_id, user_id],
        )?)?,
        AdminChange::DeleteGroup { group_id } => {
            execute(
                "DELETE FROM group_members WHERE group_id = ?",
                params![group_id],
            )?;
            found(execute(
                "DELETE FROM user_groups WHERE id = ?",
                params![group_id],
            )?)?;
        }
        AdminChange::InsertAccessKey(k) => access_keys::insert(conn, k)?,
        AdminChange::SetAccessKeyEnabled {
            access_key,
            enabled,
        } => access_keys::set_enabled(conn, access_key, *enabled)?,
        AdminChange::DeleteAccessKey { access_key } => access_keys::delete(conn, access_key)?,
        AdminChange::InsertSshKey(k) => broker::insert_key(conn, k)?,
        AdminChange::DeleteSshKey {
            user_id,
            fingerprint,
        } => broker::delete_key(conn, user_id, fingerprint)?,
        AdminChange::CreateWebhook(w) => webhooks::create(conn, w)?,
        AdminChange::DeleteWebhook { owner, id } => webhooks::delete(conn, owner, id)?,
        AdminChange::RotateWebhookSecret {
            owner,
            id,
            secret_sealed,
            overlap_until,
        } => webhooks::rotate(conn, *overlap_until, secret_sealed, owner, id)?,
        AdminChange::CreateBrokerHostKey { sealed, created_at } => {
            broker::insert_host_key(conn, sealed, *created_at)?;
        }
    }
    audit::append(conn, event, at)
}

pub fn list_domains(conn: &Connection) -> StoreResult<Vec<DomainRecord>> {
    let sql = format!("SELECT {DOMAIN_COLUMNS} FROM domains ORDER BY name");
    all(&mut *conn.prepare_cached(&sql)?, [], |r| rows::domain(r, 0))
}

pub fn list_users(conn: &Connection, domain_id: &str) -> StoreResult<Vec<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.domain_id = ? ORDER BY u.name");
    all(&mut *conn.prepare_cached(&sql)?, [domain_id], |r| {
        rows::user(r, 0)
    })
}

pub fn list_groups(conn: &Connection, domain_id: &str) -> StoreResult<Vec<GroupRecord>> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE domain_id = ? ORDER BY name");
    all(&mut *conn.prepare_cached(&sql)?, [domain_id], |r| {
        rows::group(r)
    })
}

pub fn operator_groups_of(
    conn: &Connection,
    domain_id: &str,
    user_id: &str,
) -> StoreResult<Vec<GroupRecord>> {
    all(
        &mut *conn.prepare_cached(rows::OPERATOR_GROUPS_OF)?,
        [domain_id, user_id],
        |r| rows::group(r),
    )
}

pub fn group_member_names(conn: &Connection, group_id: &str) -> StoreResult<Vec<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT u.name FROM group_members m JOIN users u ON u.id = m.user_id \
             WHERE m.group_id = ? ORDER BY u.name",
        )?
        .query_map([group_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}
