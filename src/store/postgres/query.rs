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
