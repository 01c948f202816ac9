//! Queries assembled at run time: text with numbered placeholders plus their values,
//! and the visibility condition every scoped query carries.

use tokio_postgres::types::ToSql;

use crate::domain::Scope;

type Param = Box<dyn ToSql + Sync + Send>;

#[derive(Default)]
pub struct Query {
    params: Vec<Param>,
}

impl Query {
    /// Adds a value and returns its placeholder (`$1`, `$2`, ...).
    pub fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }

    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }

    /// A condition on the `authorizations` table aliased `a` limiting it to `scope`.
    pub fn scope(&mut self, scope: &Scope) -> String {
        match scope {
            Scope::Customer {
                domain_id,
                submitters: None,
            } => format!("a.customer_id = {}", self.bind(domain_id.clone())),
            Scope::Customer {
                domain_id,
                submitters: Some(users),
            } => format!(
                "a.customer_id = {} AND a.x_customer_id = ANY({})",
                self.bind(domain_id.clone()),
                self.bind(users.clone())
            ),
            Scope::Provider { raised_by: None } => "TRUE".into(),
            Scope::Provider {
                raised_by: Some(engineer),
            } => format!("a.raised_by = {}", self.bind(engineer.clone())),
        }
    }
}

/// The scopes of several requests as arrays, one element per request, for statements
/// that check each row against its own request's scope (as [`Query::scope`] does for
/// one): `UNNESTED` is the table `u (id, domain_id, by_submitters, raised_by)` to join
/// on `authorizations a`, `CONDITION` the check, with the submitters of a scope that
/// limits them as pairs (request id, submitter) in `$5`, `$6`.
#[derive(Default)]
pub struct ScopeArrays<'s> {
    ids: Vec<i64>,
    domain_ids: Vec<Option<&'s str>>,
    by_submitters: Vec<bool>,
    raised_by: Vec<Option<&'s str>>,
    submitter_of: Vec<i64>,
    submitters: Vec<&'s str>,
}

impl<'s> ScopeArrays<'s> {
    pub const UNNESTED: &'static str = "UNNEST($1::bigint[], $2::text[], $3::bool[], $4::text[]) \
        AS u (id, domain_id, by_submitters, raised_by)";
    pub const CONDITION: &'static str = "(u.domain_id IS NULL OR a.customer_id = u.domain_id) \
        AND (u.raised_by IS NULL OR a.raised_by = u.raised_by) \
        AND (NOT u.by_submitters OR a.x_customer_id IN \
        (SELECT s.name FROM UNNEST($5::bigint[], $6::text[]) AS s (id, name) WHERE s.id = u.id))";

    /// Adds the request on authorization `id` seen in `scope`.
    pub fn push(&mut self, id: i64, scope: &'s Scope) {
        let (domain_id, users, raised_by) = match scope {
            Scope::Customer {
                domain_id,
                submitters,
            } => (Some(domain_id.as_str()), submitters.as_deref(), None),
            Scope::Provider { raised_by } => (None, None, raised_by.as_deref()),
        };
        self.ids.push(id);
        self.domain_ids.push(domain_id);
        self.by_submitters.push(users.is_some());
        self.raised_by.push(raised_by);
        for user in users.unwrap_or_default() {
            self.submitter_of.push(id);
            self.submitters.push(user);
        }
    }

    pub fn params(&self) -> [&(dyn ToSql + Sync); 6] {
        [
            &self.ids,
            &self.domain_ids,
            &self.by_submitters,
            &self.raised_by,
            &self.submitter_of,
            &self.submitters,
        ]
    }
}
