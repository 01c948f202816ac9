//! `serve --demo`: seeds a small, realistic installation into an empty database and
//! prints how to try it.

use std::net::SocketAddr;
use std::sync::Arc;

use jiff::SignedDuration;

use super::CliError;
use crate::clock::Clock;
use crate::domain::audit::Actor;
use crate::domain::authorization::{DetailInput, RaiseInput};
use crate::domain::confirm::{ConfirmInput, GrantInput};
use crate::domain::principal::CredentialKind;
use crate::domain::secret::Secret;
use crate::domain::session::{FileTransferInput, OperationInput};
use crate::domain::{Action, Authorization, Principal};
use crate::service::App;
use crate::service::SessionPath;
use crate::store::{DomainRecord, UserRecord};

/// Demo credentials are fixed so the README walkthrough can use them.
pub const CUSTOMER_DOMAIN: &str = "acme";
pub const USERS: [(&str, &str, bool); 3] = [
    ("alice", "alice-demo-pass", true),
    ("bob", "bob-demo-pass", false),
    ("carol", "carol-demo-pass", false),
];
pub const ENGINEER: (&str, &str) = ("engineer", "engineer-demo-pass");

fn principal(app_user: &UserRecord, domain: &crate::store::DomainRecord) -> Principal {
    app_user.principal(domain, CredentialKind::Password)
}

fn request(customer: &UserRecord, incident: &str, summary: &str, host: Option<&str>) -> RaiseInput {
    let detail = match host {
        Some(h) => DetailInput {
            detail_type: Some(1),
            instance_id: Some(format!("ecs-{}", incident.to_lowercase())),
            instance_name: Some(format!("{h} (demo)")),
            region_id: Some("cn-south-1".into()),
            host: Some(h.into()),
            port: Some(22),
        },
        None => DetailInput {
            detail_type: Some(0),
            instance_id: Some("console".into()),
            instance_name: Some("Cloud console".into()),
            region_id: Some("cn-south-1".into()),
            ..Default::default()
        },
    };
    RaiseInput {
        customer_id: Some(customer.domain_id.clone()),
        x_customer_id: Some(customer.id.clone()),
        incident_id: Some(incident.into()),
        simple_description: Some(summary.into()),
        auth_describe: Some(format!("To investigate: {summary}")),
        resource_type_id: Some(if host.is_some() { "1" } else { "2" }.into()),
        visit_type_id: Some(if host.is_some() { "1" } else { "4" }.into()),
        content_type_id: Some("1".into()),
        content_of_auth_letter: Some("I will only use this access for the ticket above.".into()),
        details: Some(vec![detail]),
        ..Default::default()
    }
}

/// Seeds on an empty database; on a seeded one, only explains.
pub async fn seed_and_explain(app: &Arc<App>, address: SocketAddr) -> Result<(), CliError> {
    let ids = if app.is_empty().await? {
        Some(seed(app).await?)
    } else {
        println!("The database already has data: demo data was not seeded again.");
        None
    };
    let domains = app.list_domains().await?;
    explain(address, ids.as_ref(), &domains);
    Ok(())
}

struct Seeded {
    pending: Authorization,
    authorized: Authorization,
}

async fn seed(app: &Arc<App>) -> Result<Seeded, CliError> {
    let admin = app.admin(Actor::system());
    let engineer = admin.create_engineer(ENGINEER.0, ENGINEER.1, false).await?;
    let provider = app
        .domain_named(crate::service::identity::PROVIDER_DOMAIN)
        .await?;
    let domain = admin.create_domain(CUSTOMER_DOMAIN).await?;
    let mut users = Vec::new();
    for (name, password, is_admin) in USERS {
        users.push(
            admin
                .create_user(CUSTOMER_DOMAIN, name, password, is_admin)
                .await?,
        );
    }
    admin.create_group(CUSTOMER_DOMAIN, "ops", true).await?;
    for user in ["bob", "carol"] {
        admin.add_group_member(CUSTOMER_DOMAIN, "ops", user).await?;
    }
    let (alice, bob, carol) = (&users[0], &users[1], &users[2]);
    let eng = principal(&engineer, &provider);
    let alice_p = principal(alice, &domain);

    let pending = app
        .raise(
            &eng,
            request(
                bob,
                "CS2026112801",
                "Database replica lagging",
                Some("10.0.0.12"),
            ),
            0,
        )
        .await?;
    app.raise(
        &eng,
        request(
            carol,
            "CS2026112802",
            "Billing console shows an error",
            None,
        ),
        0,
    )
    .await?;

    let authorized = app
        .raise(
            &eng,
            request(
                bob,
                "CS2026112803",
                "Disk full on web server",
                Some("10.0.0.21"),
            ),
            0,
        )
        .await?;
    let grant = ConfirmInput {
        auth_detail_list: vec![GrantInput {
            auth_detail_id: Some(authorized.details[0].id.0),
            port: Some(22),
            account: Some("support".into()),
            password: Some(Secret::new("demo-host-password".into())),
        }],
        ..Default::default()
    };
    app.confirm(&alice_p, None, Some(authorized.id), grant)
        .await?;
    record_session(app, &eng, &authorized).await?;

    let rejected = app
        .raise(
            &eng,
            request(
                carol,
                "CS2026112804",
                "Slow API responses",
                Some("10.0.0.30"),
            ),
            0,
        )
        .await?;
    let reason = Some("Please use the read replica instead.".to_string());
    app.reject_or_cancel(&alice_p, None, Some(rejected.id), Action::Reject, reason)
        .await?;

    let recalled = app
        .raise(
            &eng,
            request(bob, "CS2026112805", "Certificate renewal", None),
            0,
        )
        .await?;
    app.recall(
        &eng,
        Some(recalled.id),
        Some("Solved without access.".into()),
    )
    .await?;

    // Raised four days ago by a clock in the past; the sweep expires it.
    let past = app.with_clock(Clock::manual(
        app.clock.now() - SignedDuration::from_hours(96),
    ));
    past.raise(
        &eng,
        request(carol, "CS2026112406", "Old request nobody answered", None),
        0,
    )
    .await?;
    app.sweep_once().await?;
    Ok(Seeded {
        pending,
        authorized,
    })
}

async fn record_session(app: &App, eng: &Principal, auth: &Authorization) -> Result<(), CliError> {
    let detail = auth.details[0].id;
    let session = app.open_session(eng, Some(auth.id), Some(detail)).await?;
    let path = SessionPath {
        authorization_id: Some(auth.id),
        detail_id: Some(detail),
        session_id: Some(session),
    };
    let now = app.clock.now();
    let at = |secs: i64| Some((now + SignedDuration::from_secs(secs)).to_string());
    let ops: Vec<OperationInput> = [
        "df -h",
        "du -sh /var/log/*",
        "journalctl --vacuum-size=500M",
    ]
    .iter()
    .zip(1..)
    .map(|(cmd, i)| OperationInput {
        oper: Some((*cmd).into()),
        operate_time: at(i * 20),
    })
    .collect();
    app.append_operations(eng, path, &ops).await?;
    let transfer = FileTransferInput {
        operate_type: Some("download".into()),
        file_name: Some("syslog.1.gz".into()),
        from_path: Some("/var/log/syslog.1.gz".into()),
        to_path: Some("/tmp/syslog.1.gz".into()),
        file_size_bytes: Some(3_481_600),
        duration_ms: Some(2_000),
        oper_result: Some("success".into()),
        operate_time: at(90),
    };
    app.append_file_transfers(eng, path, &[transfer]).await?;
    app.close_session(eng, path).await?;
    Ok(())
}

fn explain(address: SocketAddr, seeded: Option<&Seeded>, domains: &[DomainRecord]) {
    let (alice, alice_pw, _) = USERS[0];
    println!("Demo installation");
    for d in domains {
        // The SDK's GlobalCredentials take the domain id.
        println!("  domain {:<12} id {}", format!("`{}`", d.name), d.id);
    }
    println!(
        "  provider engineer:  {} / {}  (domain `provider`)",
        ENGINEER.0, ENGINEER.1
    );
    for (name, password, admin) in USERS {
        let role = if admin {
            "domain admin"
        } else {
            "user, member of operator group `ops`"
        };
        println!("  customer {name:<9} {name} / {password}  (domain `{CUSTOMER_DOMAIN}`, {role})");
    }
    let Some(s) = seeded else { return };
    println!();
    println!("Try it (paste into a shell; needs curl and jq):");
    println!(
        r#"
SA=http://{address}
login() {{ curl -s -o /dev/null -D - "$SA/v3/auth/tokens" -H 'Content-Type: application/json' \
  -d "{{\"auth\":{{\"identity\":{{\"methods\":[\"password\"],\"password\":{{\"user\":{{\"name\":\"$1\",\"password\":\"$2\",\"domain\":{{\"name\":\"$3\"}}}}}}}},\"scope\":{{\"domain\":{{\"name\":\"$3\"}}}}}}}}" \
  | tr -d '\r' | awk 'tolower($1)=="x-subject-token:" {{print $2}}'; }}
TOKEN=$(login {alice} {alice_pw} {CUSTOMER_DOMAIN})
curl -s "$SA/v2/servicerequest/authorizations?limit=10" -H "X-Auth-Token: $TOKEN" -H 'X-Language: en-us' | jq .
curl -s -X PUT "$SA/v2/servicerequest/authorizations/{pending}/action?action_id=reject" \
  -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' -d '{{"reject_reason": "Not needed"}}'; echo
curl -s -X PUT "$SA/v2/servicerequest/authorizations/{authorized}/action?action_id=cancel" \
  -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' -d '{{}}'; echo
"#,
        pending = s.pending.id,
        authorized = s.authorized.id,
    );
}
