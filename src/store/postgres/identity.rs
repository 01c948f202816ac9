//! Domains, users, groups, tokens and the keyring.

use deadpool_postgres::{GenericClient, Transaction};
use jiff::Timestamp;

use super::PgResult;
use crate::domain::principal::GroupView;
use crate::store::rows::{self, GROUP_COLUMNS, USER_COLUMNS};
use crate::store::{
    DomainRecord, GroupRecord, StoreResult, TokenHolder, TokenRecord, UserRecord, found,
};

pub async fn create_domain(c: &impl GenericClient, d: &DomainRecord) -> StoreResult<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO domains (id, name, is_provider, created_at) VALUES ($1, $2, $3, $4)",
        )
        .await?;
    c.execute(
        &stmt,
        &[
            &d.id,
            &d.name,
            &d.is_provider,
            &d.created_at.as_millisecond(),
        ],
    )
    .await?;
    Ok(())
}

/// `column` is one of this module's callers' constants, never input.
pub async fn domain_where(
    c: &impl GenericClient,
    column: &str,
    value: &str,
) -> StoreResult<Option<DomainRecord>> {
    let sql = format!("SELECT id, name, is_provider, created_at FROM domains WHERE {column} = $1");
    let stmt = c.prepare_cached(&sql).await?;
    let row = c.query_opt(&stmt, &[&value]).await?;
    row.map(|r| rows::domain(&r, 0)).transpose()
}

pub async fn count_domains(c: &impl GenericClient) -> StoreResult<u64> {
    let n: i64 = c
        .query_one("SELECT COUNT(*) FROM domains", &[])
        .await?
        .try_get(0)?;
    Ok(n as u64)
}

pub async fn set_user_enabled(
    c: &impl GenericClient,
    user_id: &str,
    enabled: bool,
) -> StoreResult<()> {
    // One statement, so the tokens and temporary keys go with the disabling or not at
    // all; enabling again does not revive them.
    let n: i64 = c
        .query_one(
            "WITH changed AS (UPDATE users SET enabled = $1 WHERE id = $2 RETURNING id), \
             tokens_gone AS (DELETE FROM tokens WHERE NOT $1 \
                 AND user_id IN (SELECT id FROM changed)), \
             keys_gone AS (DELETE FROM access_keys WHERE NOT $1 AND expires_at IS NOT NULL \
                 AND user_id IN (SELECT id FROM changed)) \
             SELECT count(*) FROM changed",
            &[&enabled, &user_id],
        )
        .await?
        .get(0);
    found(n as u64)
}

pub async fn create_user(c: &impl GenericClient, u: &UserRecord) -> StoreResult<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO users (id, domain_id, name, password_hash, is_admin, is_engineer, \
             is_provider_admin, enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    c.execute(
        &stmt,
        &[
            &u.id,
            &u.domain_id,
            &u.name,
            &u.password_hash,
            &u.is_admin,
            &u.is_engineer,
            &u.is_provider_admin,
            &u.enabled,
            &u.created_at.as_millisecond(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn user_by_name(
    c: &impl GenericClient,
    domain_id: &str,
    name: &str,
) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.domain_id = $1 AND u.name = $2");
    let stmt = c.prepare_cached(&sql).await?;
    let row = c.query_opt(&stmt, &[&domain_id, &name]).await?;
    row.map(|r| rows::user(&r, 0)).transpose()
}

pub async fn user_by_id(c: &impl GenericClient, id: &str) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    let stmt = c.prepare_cached(&sql).await?;
    let row = c.query_opt(&stmt, &[&id]).await?;
    row.map(|r| rows::user(&r, 0)).transpose()
}

pub async fn create_group(c: &impl GenericClient, g: &GroupRecord) -> StoreResult<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO user_groups (id, domain_id, name, is_operator, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    c.execute(
        &stmt,
        &[
            &g.id,
            &g.domain_id,
            &g.name,
            &g.is_operator,
            &g.created_at.as_millisecond(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn group_by_name(
    c: &impl GenericClient,
    domain_id: &str,
    name: &str,
) -> StoreResult<Option<GroupRecord>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {GROUP_COLUMNS} FROM user_groups WHERE domain_id = $1 AND name = $2"
        ))
        .await?;
    let Some(r) = c.query_opt(&stmt, &[&domain_id, &name]).await? else {
        return Ok(None);
    };
    Ok(Some(rows::group(&r)?))
}

pub async fn add_group_member(
    c: &impl GenericClient,
    group_id: &str,
    user_id: &str,
) -> StoreResult<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .await?;
    c.execute(&stmt, &[&group_id, &user_id]).await?;
    Ok(())
}

pub async fn group_view(
    c: &impl GenericClient,
    domain_id: &str,
    group_id: &str,
    caller_id: &str,
) -> StoreResult<Option<GroupView>> {
    let stmt = c
        .prepare_cached("SELECT is_operator FROM user_groups WHERE id = $1 AND domain_id = $2")
        .await?;
    let Some(row) = c.query_opt(&stmt, &[&group_id, &domain_id]).await? else {
        return Ok(None);
    };
    let is_operator: bool = row.try_get(0)?;
    let stmt = c
        .prepare_cached(
            "SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id COLLATE \"C\"",
        )
        .await?;
    let member_ids = c
        .query(&stmt, &[&group_id])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<PgResult<Vec<String>>>()?;
    let caller_is_member = member_ids.iter().any(|m| m == caller_id);
    Ok(Some(GroupView {
        is_operator,
        caller_is_member,
        member_ids,
    }))
}

pub async fn insert_token(c: &impl GenericClient, t: &TokenRecord) -> StoreResult<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO tokens (hash, user_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .await?;
    c.execute(
        &stmt,
        &[
            &&t.hash[..],
            &t.user_id,
            &t.issued_at.as_millisecond(),
            &t.expires_at.as_millisecond(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn user_by_token(
    c: &impl GenericClient,
    hash: &[u8; 32],
    now: Timestamp,
) -> StoreResult<Option<TokenHolder>> {
    let stmt = c.prepare_cached(&rows::token_holder_query()).await?;
    c.query_opt(&stmt, &[&&hash[..], &now.as_millisecond()])
        .await?
        .map(|r| rows::token_holder(&r))
        .transpose()
}

pub async fn credential_epoch(c: &impl GenericClient) -> StoreResult<i64> {
    let stmt = c
        .prepare_cached("SELECT value FROM credential_epoch WHERE id = 1")
        .await?;
    Ok(c.query_one(&stmt, &[]).await?.try_get(0)?)
}

pub async fn wrapped_data_key(
    tx: &Transaction<'_>,
    wrapped: &[u8],
    now: Timestamp,
) -> StoreResult<Vec<u8>> {
    tx.execute(
        "INSERT INTO keyring (id, wrapped_key, created_at) VALUES (1, $1, $2) ON CONFLICT DO NOTHING",
        &[&wrapped, &now.as_millisecond()],
    )
    .await?;
    Ok(tx
        .query_one("SELECT wrapped_key FROM keyring WHERE id = 1", &[])
        .await?
        .try_get(0)?)
}
