//! Who is calling, and what they may see (docs/API.md, Common rules).

/// How the caller authenticated; ShowLoginType reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A token from the password method, or a permanent access key.
    Password,
    /// A temporary access key with a security token.
    Assumed,
    Federated,
}

impl CredentialKind {
    pub fn login_type(self) -> &'static str {
        match self {
            CredentialKind::Password => "",
            CredentialKind::Assumed => "ASSUMED",
            CredentialKind::Federated => "FEDERATION",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Customer,
    Engineer { provider_admin: bool },
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub user_name: String,
    pub domain_id: String,
    pub domain_name: String,
    pub is_domain_admin: bool,
    pub kind: PrincipalKind,
    pub credential: CredentialKind,
}

/// A group named by `group_id`, as seen from the caller's domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub is_operator: bool,
    pub caller_is_member: bool,
    pub member_ids: Vec<String>,
}

/// The rows a caller may see. Every store query is filtered by one of these, so a
/// forgotten check in a handler cannot leak another tenant's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Authorizations of `domain_id`; with `submitters`, only those raised on their tickets.
    Customer {
        domain_id: String,
        submitters: Option<Vec<String>>,
    },
    /// Authorizations raised by `raised_by`, or all of them for a provider admin.
    Provider { raised_by: Option<String> },
}

/// The `group_id` a customer request names, resolved in the caller's domain.
#[derive(Debug, Clone, Copy)]
pub enum GroupChoice<'g> {
    /// No `group_id` was given.
    None,
    /// A `group_id` was given but names no group of the caller's domain.
    Unknown,
    Group(&'g GroupView),
}

/// The caller may not use this `group_id`, or this API (HTTP 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    GroupNotUsable,
    NotAnEngineer,
    NotAProviderAdmin,
    NotADomainAdmin,
}

impl Principal {
    pub fn is_engineer(&self) -> bool {
        matches!(self.kind, PrincipalKind::Engineer { .. })
    }

    /// What this caller sees on the customer API, through the `group_id` it named.
    pub fn customer_scope(&self, group: GroupChoice<'_>) -> Result<Scope, Forbidden> {
        let own = || Scope::Customer {
            domain_id: self.domain_id.clone(),
            submitters: if self.is_domain_admin {
                None
            } else {
                Some(vec![self.user_id.clone()])
            },
        };
        let group = match group {
            GroupChoice::None => return Ok(own()),
            GroupChoice::Unknown => return Err(Forbidden::GroupNotUsable),
            GroupChoice::Group(group) => group,
        };
        if self.is_domain_admin {
            return Ok(own());
        }
        if !(group.is_operator && group.caller_is_member) {
            return Err(Forbidden::GroupNotUsable);
        }
        let mut submitters = group.member_ids.clone();
        if !submitters.contains(&self.user_id) {
            submitters.push(self.user_id.clone());
        }
        Ok(Scope::Customer {
            domain_id: self.domain_id.clone(),
            submitters: Some(submitters),
        })
    }

    /// Customer domain administrators only (e.g. their domain's audit trail): the
    /// domain whose data they may read.
    pub fn require_domain_admin(&self) -> Result<&str, Forbidden> {
        match self.kind {
            PrincipalKind::Customer if self.is_domain_admin => Ok(&self.domain_id),
            _ => Err(Forbidden::NotADomainAdmin),
        }
    }

    /// Provider administrators only: actions that override a customer-facing safeguard.
    pub fn require_provider_admin(&self) -> Result<(), Forbidden> {
        match self.kind {
            PrincipalKind::Customer => Err(Forbidden::NotAnEngineer),
            PrincipalKind::Engineer {
                provider_admin: true,
            } => Ok(()),
            PrincipalKind::Engineer {
                provider_admin: false,
            } => Err(Forbidden::NotAProviderAdmin),
        }
    }

    /// What this caller sees on the provider API: engineers only.
    pub fn provider_scope(&self) -> Result<Scope, Forbidden> {
        match self.kind {
            PrincipalKind::Customer => Err(Forbidden::NotAnEngineer),
            PrincipalKind::Engineer {
                provider_admin: true,
            } => Ok(Scope::Provider { raised_by: None }),
            PrincipalKind::Engineer {
                provider_admin: false,
            } => Ok(Scope::Provider {
                raised_by: Some(self.user_id.clone()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, admin: bool) -> Principal {
        Principal {
            user_id: id.into(),
            user_name: id.into(),
            domain_id: "d1".into(),
            domain_name: "acme".into(),
            is_domain_admin: admin,
            kind: PrincipalKind::Customer,
            credential: CredentialKind::Password,
        }
    }

    fn group(operator: bool, member: bool) -> GroupView {
        GroupView {
            is_operator: operator,
            caller_is_member: member,
            member_ids: vec!["u2".into(), "u3".into()],
        }
    }

    #[test]
    fn ordinary_users_see_their_own() {
        assert_eq!(
            user("u1", false).customer_scope(GroupChoice::None),
            Ok(Scope::Customer {
                domain_id: "d1".into(),
                submitters: Some(vec!["u1".into()])
            })
        );
    }

    #[test]
    fn admins_see_the_domain() {
        let scope = Scope::Customer {
            domain_id: "d1".into(),
            submitters: None,
        };
        assert_eq!(
            user("a", true).customer_scope(GroupChoice::None),
            Ok(scope.clone())
        );
        assert_eq!(
            user("a", true).customer_scope(GroupChoice::Group(&group(false, false))),
            Ok(scope)
        );
    }

    #[test]
    fn operator_group_members_see_each_other() {
        let scope = user("u2", false)
            .customer_scope(GroupChoice::Group(&group(true, true)))
            .unwrap();
        assert_eq!(
            scope,
            Scope::Customer {
                domain_id: "d1".into(),
                submitters: Some(vec!["u2".into(), "u3".into()])
            }
        );
    }

    #[test]
    fn unusable_groups_are_forbidden() {
        let u = user("u1", false);
        assert_eq!(
            u.customer_scope(GroupChoice::Group(&group(true, false))),
            Err(Forbidden::GroupNotUsable)
        );
        assert_eq!(
            u.customer_scope(GroupChoice::Group(&group(false, true))),
            Err(Forbidden::GroupNotUsable)
        );
        assert_eq!(
            u.customer_scope(GroupChoice::Unknown),
            Err(Forbidden::GroupNotUsable)
        );
        assert_eq!(
            user("a", true).customer_scope(GroupChoice::Unknown),
            Err(Forbidden::GroupNotUsable)
        );
    }

    #[test]
    fn provider_scope_is_for_engineers() {
        assert_eq!(
            user("u1", false).provider_scope(),
            Err(Forbidden::NotAnEngineer)
        );
        let mut e = user("e1", false);
        e.kind = PrincipalKind::Engineer {
            provider_admin: false,
        };
        assert_eq!(
            e.provider_scope(),
            Ok(Scope::Provider {
                raised_by: Some("e1".into())
            })
        );
        assert_eq!(
            e.require_provider_admin(),
            Err(Forbidden::NotAProviderAdmin)
        );
        e.kind = PrincipalKind::Engineer {
            provider_admin: true,
        };
        assert_eq!(e.provider_scope(), Ok(Scope::Provider { raised_by: None }));
        assert_eq!(e.require_provider_admin(), Ok(()));
        assert_eq!(
            user("u1", true).require_provider_admin(),
            Err(Forbidden::NotAnEngineer)
        );
    }
}
