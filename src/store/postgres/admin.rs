//! Administrative changes, each with its audit event in the same transaction, and the
//! listings the admin CLI shows.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;
use tokio_postgres::types::ToSql;

use super::identity;
use super::{access_keys, audit, broker, webhooks};
use crate::domain::audit::AuditDraft;
use crate::store::rows::{self, DOMAIN_COLUMNS, GROUP_COLUMNS, USER_COLUMNS, language_tag};
use crate::store::{AdminChange, DomainRecord, GroupRecord, StoreResult, UserRecord, found};

async fn execute(
    tx: &Transaction<'_>,
    sql: &str,
    values: &[&(dyn ToSql + Sync)],
) -> StoreResult<u64> {
    let stmt = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&stmt, values).await?)
}

pub async fn apply(
    tx: &Transaction<'_>,
    change: &AdminChange,
    event: AuditDraft,
    at: Timestamp,
) -> StoreResult<()> {
    match change {
        AdminChange::CreateDomain(d) => identity::create_domain(tx, d).await?,
        AdminChange::CreateUser(u) => identity::create_user(tx, u).await?,
        AdminChange::UpdateUser {
            user_id,
            is_admin,
            email,
            language,
        } => found(
            execute(
                tx,
                "UPDATE users SET is_admin = $1, email = $2, language = $3 WHERE id = $4",
                &[is_admin, email, &language.map(language_tag), user_id],
            )
            .await?,
        )?,
        AdminChange::SetPassword {
            user_id,
            password_hash,
        } => found(
            execute(
                tx,
                "UPDATE users SET password_hash = $1 WHERE id = $2",
                &[password_hash, user_id],
            )
            .await?,
        )?,
        AdminChange::SetUserEnabled { user_id, enabled } => {
            identity::set_user_enabled(tx, user_id, *enabled).await?;
        }
        AdminChange::DeleteUser { user_id } => {
            for table in ["tokens", "access_keys", "group_members"] {
                let sql = format!("DELETE FROM {table} WHERE user_id = $1");
                execute(tx, &sql, &[user_id]).await?;
            }
            found(execute(tx, "DELETE FROM users WHERE id = $1", &[user_id]).await?)?;
        }
        AdminChange::CreateGroup(g) => identity::create_group(tx, g).await?,
        AdminChange::AddGroupMember { group_id, user_id } => {
            identity::add_group_member(tx, group_id, user_id).await?;
        }
        AdminChange::RemoveGroupMember { group_id, user_id } => found(
            execute(
                tx,
                "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2",
                &[group_id, user_id],
            )
            .await?,
        )?,
        AdminChange::DeleteGroup { group_id } => {
            execute(
                tx,
                "DELETE FROM group_members WHERE group_id = $1",
                &[group_id],
            )
            .await?;
            found(execute(tx, "DELETE FROM user_groups WHERE id = $1", &[group_id]).await?)?;
        }
        AdminChange::InsertAccessKey(k) => access_keys::insert(tx, k).await?,
        AdminChange::SetAccessKeyEnabled {
            access_key,
            enabled,
        } => access_keys::set_enabled(tx, access_key, *enabled).await?,
        AdminChange::DeleteAccessKey { access_key } => access_keys::delete(tx, access_key).await?,
        AdminChange::InsertSshKey(k) => broker::insert_key(tx, k).await?,
        AdminChange::DeleteSshKey {
            user_id,
            fingerprint,
        } => broker::delete_key(tx, user_id, fingerprint).await?,
        AdminChange::CreateWebhook(w) => webhooks::create(tx, w).await?,
        AdminChange::DeleteWebhook { owner, id } => webhooks::delete(tx, owner, id).await?,
        AdminChange::RotateWebhookSecret {
            owner,
            id,
            secret_sealed,
            overlap_until,
        } => webhooks::rotate(tx, owner, id, secret_sealed, *overlap_until).await?,
        AdminChange::CreateBrokerHostKey { sealed, created_at } => {
            broker::insert_host_key(tx, sealed, *created_at).await?;
        }
    }
    audit::append(tx, event, at).await
}

pub async fn list_domains(c: &impl GenericClient) -> StoreResult<Vec<DomainRecord>> {
    let rows = c
        .query(
            &format!("SELECT {DOMAIN_COLUMNS} FROM domains ORDER BY name"),
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| rows::domain(r, 0))
        .collect::<StoreResult<_>>()
}

pub async fn list_users(c: &impl GenericClient, domain_id: &str) -> StoreResult<Vec<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.domain_id = $1 ORDER BY u.name");
    let rows = c.query(&sql, &[&domain_id]).await?;
    rows.iter()
        .map(|r| rows::user(r, 0))
        .collect::<StoreResult<_>>()
}

pub async fn list_groups(c: &impl GenericClient, domain_id: &str) -> StoreResult<Vec<GroupRecord>> {
    let rows = c
        .query(
            &format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE domain_id = $1 ORDER BY name"),
            &[&domain_id],
        )
        .await?;
    rows.iter().map(rows::group).collect()
}

pub async fn operator_groups_of(
    c: &impl GenericClient,
    domain_id: &str,
    user_id: &str,
) -> StoreResult<Vec<GroupRecord>> {
    let rows = c
        .query(rows::OPERATOR_GROUPS_OF, &[&domain_id, &user_id])
        .await?;
    rows.iter().map(rows::group).collect()
}

pub async fn group_member_names(
    c: &impl GenericClient,
    group_id: &str,
) -> StoreResult<Vec<String>> {
    let rows = c
        .query(
            "SELECT u.name FROM group_members m JOIN users u ON u.id = m.user_id \
             WHERE m.group_id = $1 ORDER BY u.name",
            &[&group_id],
        )
        .await?;
    let mut names = Vec::with_capacity(rows.len());
    for r in rows {
        names.push(r.try_get(0)?);
    }
    Ok(names)
}
