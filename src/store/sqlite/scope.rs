//! The scope filter that every customer- or provider-facing query carries.

use rusqlite::types::Value;

use crate::domain::Scope;

/// A SQL condition on the `authorizations` table aliased `a`, with its parameters.
pub fn condition(scope: &Scope) -> (String, Vec<Value>) {
    match scope {
        Scope::Customer {
            domain_id,
            submitters: None,
        } => (
            "a.customer_id = ?".into(),
            vec![Value::Text(domain_id.clone())],
        ),
        Scope::Customer {
            domain_id,
            submitters: Some(users),
        } => {
            let marks = vec!["?"; users.len().max(1)].join(",");
            let mut params = vec![Value::Text(domain_id.clone())];
            if users.is_empty() {
                params.push(Value::Null);
            }
            params.extend(users.iter().cloned().map(Value::Text));
            (
                format!("a.customer_id = ? AND a.x_customer_id IN ({marks})"),
                params,
            )
        }
        Scope::Provider { raised_by: None } => ("1 = 1".into(), vec![]),
        Scope::Provider {
            raised_by: Some(engineer),
        } => (
            "a.raised_by = ?".into(),
            vec![Value::Text(engineer.clone())],
        ),
    }
}
