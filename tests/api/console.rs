//! The web console over HTTP, on both stores: sign-in, the session cookie and its
//! timeouts, CSRF, visibility, sign-out, the login lockout and the security headers.
//! (The pages in a real browser are tested by `tests/console`.)

use jiff::SignedDuration;
use support_access::domain::Status;

use super::helpers::{World, password_of};

/// A browser without a cookie jar: cookies are carried by hand, redirects not followed.
struct Browser<'a> {
    world: &'a World,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
    headers: reqwest::header::HeaderMap,
}

impl<'a> Browser<'a> {
    fn new(world: &'a World) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            world,
            client,
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let res = req
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        for set in res.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        let headers = res.headers().clone();
        Page {
            status: res.status().as_u16(),
            location: headers
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned()),
            body: res.text().await.unwrap(),
            headers,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.client.get(format!("{}{path}", self.world.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self
            .client
            .post(format!("{}{path}", self.world.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap());
        self.send(req).await
    }

    async fn sign_in(&mut self, domain: &str, user: &str, password: &str) -> Page {
        let login = self.get("/console/login").await;
        let csrf = csrf_of(&login.body);
        self.post(
            "/console/login",
            &[
                ("csrf", &csrf),
                ("domain", domain),
                ("user", user),
                ("password", password),
            ],
        )
        .await
    }
}

/// The first form's CSRF token on a page.
fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn sign_in_csrf_visibility_and_sign_out() {
    let w = World::new().await;
    let (mine, _) = w.raise("bob").await;
    let (theirs, _) = w.raise("gina").await;
    let mut b = Browser::new(&w);

    let wrong = b.sign_in("acme", "alice", "not-her-password").await;
    assert_eq!(wrong.status, 401);
    assert!(b.cookie("sa_session").is_none());

    let signed_in = b.sign_in("acme", "alice", &password_of("alice")).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let set = signed_in.headers["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let list = b.get("/console/requests").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains(&format!("/console/requests/{mine}")));
    assert!(!list.body.contains(&theirs));

    let other = b.get(&format!("/console/requests/{theirs}")).await;
    assert_eq!(other.status, 404);
    let detail = b.get(&format!("/console/requests/{mine}")).await;
    assert_eq!(detail.status, 200);
    assert!(detail.body.contains("I promise."), "the letter is shown");

    // No token, a token of another session: refused, nothing changes.
    let reject = format!("/console/requests/{mine}/reject");
    let forged = b.post(&reject, &[("reason", "forged")]).await;
    assert_eq!(forged.status, 403);
    let wrong_token = b
        .post(&reject, &[("csrf", &"0".repeat(64)), ("reason", "forged")])
        .await;
    assert_eq!(wrong_token.status, 403);
    assert_eq!(w.status(&mine).await, Status::Pending);

    let csrf = csrf_of(&detail.body);
    let rejected = b
        .post(&reject, &[("csrf", &csrf), ("reason", "not now")])
        .await;
    assert_eq!(rejected.status, 303);
    assert_eq!(w.status(&mine).await, Status::Rejected);
    // Another tenant's id: not found, even with a valid token.
    let theirs_reject = b
        .post(
            &format!("/console/requests/{theirs}/reject"),
            &[("csrf", &csrf), ("reason", "not mine")],
        )
        .await;
    assert_eq!(theirs_reject.status, 404);
    assert_eq!(w.status(&theirs).await, Status::Pending);

    let old = b.cookie("sa_session").unwrap();
    let out = b.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    b.cookies.push(("sa_session".into(), old));
    let after = b.get("/console/requests").await;
    assert_eq!(after.status, 303);
    assert!(after.location.unwrap().starts_with("/console/login"));
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_absolute_end() {
    let w = World::new().await;
    let clock = &w.app.clock;
    let mut b = Browser::new(&w);
    assert_eq!(
        b.sign_in("acme", "bob", &password_of("bob")).await.status,
        303
    );
    clock.advance(SignedDuration::from_mins(29));
    assert_eq!(b.get("/console/requests").await.status, 200);
    clock.advance(SignedDuration::from_mins(31));
    assert_eq!(b.get("/console/requests").await.status, 303, "idle");

    assert_eq!(
        b.sign_in("acme", "bob", &password_of("bob")).await.status,
        303
    );
    // Used every 25 minutes it stays alive, but not past 12 hours.
    let mut alive = SignedDuration::ZERO;
    while alive < SignedDuration::from_hours(12) {
        assert_eq!(b.get("/console/requests").await.status, 200, "at {alive}");
        clock.advance(SignedDuration::from_mins(25));
        alive += SignedDuration::from_mins(25);
    }
    assert_eq!(b.get("/console/requests").await.status, 303, "absolute");
}

#[tokio::test]
async fn a_disabled_user_is_signed_out() {
    let w = World::new().await;
    let mut b = Browser::new(&w);
    b.sign_in("acme", "carol", &password_of("carol")).await;
    assert_eq!(b.get("/console/requests").await.status, 200);
    w.admin()
        .set_user_enabled("acme", "carol", false)
        .await
        .unwrap();
    assert_eq!(b.get("/console/requests").await.status, 303);
}

#[tokio::test]
async fn repeated_failed_sign_ins_lock_the_user_out_for_a_while() {
    let w = World::new().await;
    let mut b = Browser::new(&w);
    // The API's login throttle: a few free failures, then each one makes the user wait.
    for _ in 0..6 {
        assert_eq!(
            b.sign_in("acme", "dave", "wrong-password").await.status,
            401
        );
    }
    let locked = b.sign_in("acme", "dave", &password_of("dave")).await;
    assert_eq!(locked.status, 429);
    // Another user is not affected.
    assert_eq!(
        b.sign_in("acme", "bob", &password_of("bob")).await.status,
        303
    );
    w.app.clock.advance(SignedDuration::from_mins(30));
    assert_eq!(
        b.sign_in("acme", "dave", &password_of("dave")).await.status,
        303
    );
}

#[tokio::test]
async fn pages_forbid_framing_inline_script_and_referrers_and_assets_are_cached() {
    let w = World::new().await;
    let mut b = Browser::new(&w);
    let root = b.get("/").await;
    assert_eq!(root.location.as_deref(), Some("/console/"));
    let login = b.get("/console/login").await;
    let h = &login.headers;
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert!(!login.body.contains("<script>"), "no inline script");

    let script = login
        .body
        .split('"')
        .find(|s| s.starts_with("/console/static/console.") && s.ends_with(".js"))
        .unwrap()
        .to_owned();
    let asset = b.get(&script).await;
    assert_eq!(asset.status, 200);
    assert!(
        asset.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(b.get("/console/static/console.0000.js").await.status, 404);
}

/// The tab of `status` on a list page shows `n`.
fn tab_count(page: &Page, status: &str) -> u64 {
    let needle = format!(">{status} <span class=\"count\">");
    let at = page
        .body
        .find(&needle)
        .unwrap_or_else(|| panic!("no {status} tab"));
    let rest = &page.body[at + needle.len()..];
    rest[..rest.find('<').unwrap()].parse().unwrap()
}

#[tokio::test]
async fn status_counts_follow_the_scope_and_the_filters() {
    let w = World::new().await;
    let (first, _) = w.raise("bob").await;
    w.raise("bob").await;
    w.raise("carol").await;
    w.raise("gina").await;
    let r = w
        .act(
            "bob",
            &first,
            "reject",
            serde_json::json!({"reject_reason": "no"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.raw);

    let mut alice = Browser::new(&w);
    alice.sign_in("acme", "alice", &password_of("alice")).await;
    let all = alice.get("/console/requests").await;
    assert_eq!(
        (tab_count(&all, "pending"), tab_count(&all, "rejected")),
        (2, 1)
    );
    let carols = alice.get("/console/requests?submitter=carol").await;
    assert_eq!(
        (
            tab_count(&carols, "pending"),
            tab_count(&carols, "rejected")
        ),
        (1, 0)
    );

    let mut bob = Browser::new(&w);
    bob.sign_in("acme", "bob", &password_of("bob")).await;
    let own = bob.get("/console/requests").await;
    assert_eq!(
        (tab_count(&own, "pending"), tab_count(&own, "rejected")),
        (1, 1)
    );
    let ops = w.ids["ops"].clone();
    let group = bob.get(&format!("/console/requests?group={ops}")).await;
    assert_eq!(
        tab_count(&group, "pending"),
        2,
        "bob and carol's, through ops"
    );
}

/// An engineer's public key (the private half was thrown away).
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIALr04DS/b/6jxo1sPkXXtllOBKf1n1G9TSPOAEvOYbq ops-laptop";
const FINGERPRINT: &str = "SHA256:CwjrahfGvqNOtW2kI6E+EV+fR3zYiN5ZKMWWVeOUpk4";

async fn api_key_count(w: &World) -> usize {
    w.call("GET", "/provider/v1/ssh-keys", Some(w.token("eng")), None)
        .await
        .body["ssh_keys"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn engineers_add_and_remove_their_ssh_keys() {
    let w = World::new().await;
    let mut b = Browser::new(&w);
    let signed_in = b.sign_in("provider", "eng", &password_of("eng")).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let page = b.get("/console/keys").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No SSH keys yet"), "{}", page.body);
    assert!(page.body.contains(r#"href="/console/keys""#), "in the menu");
    let csrf = csrf_of(&page.body);

    // Without the CSRF token: refused, nothing added.
    let forged = b.post("/console/keys", &[("public_key", KEY)]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(api_key_count(&w).await, 0);

    let added = b
        .post("/console/keys", &[("csrf", &csrf), ("public_key", KEY)])
        .await;
    assert_eq!(
        (added.status, added.location.as_deref()),
        (303, Some("/console/keys"))
    );
    let page = b.get("/console/keys").await;
    assert!(page.body.contains(FINGERPRINT), "{}", page.body);
    assert!(page.body.contains("ops-laptop"));
    assert_eq!(api_key_count(&w).await, 1, "the API sees the same key");

    // The same key again, and a broken paste: said in words, the paste kept.
    let again = b
        .post("/console/keys", &[("csrf", &csrf), ("public_key", KEY)])
        .await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("registered already"), "{}", again.body);
    let broken = b
        .post(
            "/console/keys",
            &[("csrf", &csrf), ("public_key", "ssh-ed25519 AAAA")],
        )
        .await;
    assert_eq!(broken.status, 400);
    assert!(
        broken.body.contains("ssh-ed25519 AAAA</textarea>"),
        "{}",
        broken.body
    );
    assert_eq!(api_key_count(&w).await, 1);

    // Removing needs the token too; another engineer cannot remove it.
    let remove = [("csrf", csrf.as_str()), ("fingerprint", FINGERPRINT)];
    assert_eq!(
        b.post("/console/keys/remove", &remove[1..]).await.status,
        403
    );
    let mut other = Browser::new(&w);
    other
        .sign_in("provider", "eng2", &password_of("eng2"))
        .await;
    let their_csrf = csrf_of(&other.get("/console/keys").await.body);
    let theirs = other
        .post(
            "/console/keys/remove",
            &[("csrf", &their_csrf), ("fingerprint", FINGERPRINT)],
        )
        .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(api_key_count(&w).await, 1);
    let removed = b.post("/console/keys/remove", &remove).await;
    assert_eq!(removed.status, 303);
    assert_eq!(api_key_count(&w).await, 0);

    // In Chinese, and audited as the engineer's own changes.
    b.get("/console/lang/zh-cn?next=/console/keys").await;
    let zh = b.get("/console/keys").await;
    assert!(zh.body.contains("我的 SSH 密钥"), "{}", zh.body);
    let chains = w.app.audit_chains().await.unwrap();
    let by_eng: Vec<&str> = chains
        .iter()
        .flat_map(|c| &c.events)
        .filter(|e| e.draft.actor_id == w.ids["eng"] && e.draft.kind.starts_with("ssh_key."))
        .map(|e| e.draft.kind.as_str())
        .collect();
    assert_eq!(by_eng, ["ssh_key.added", "ssh_key.removed"]);
}

#[tokio::test]
async fn the_group_switch_lists_the_users_operator_groups() {
    let w = World::new().await;
    let mut b = Browser::new(&w);
    b.sign_in("acme", "bob", &password_of("bob")).await;
    let list = b.get("/console/requests").await;
    assert_eq!(list.status, 200);
    // bob is in `ops` (operator) and `plain` (not): only `ops` is offered.
    let select = &list.body[list.body.find(r#"<select id="f-group""#).expect("a select")..];
    let select = &select[..select.find("</select>").unwrap()];
    assert!(
        select.contains(&format!(r#"<option value="{}">ops</option>"#, w.ids["ops"])),
        "{select}"
    );
    assert!(!select.contains(&w.ids["plain"]), "{select}");
    assert!(!select.contains(&w.ids["globex-ops"]), "{select}");
    // Choosing it keeps it chosen, and widens the list to the group's tickets.
    let (carols, _) = w.raise("carol").await;
    let own = b.get("/console/requests").await;
    assert!(!own.body.contains(&carols));
    let as_ops = b
        .get(&format!("/console/requests?group={}", w.ids["ops"]))
        .await;
    assert_eq!(as_ops.status, 200);
    assert!(as_ops.body.contains(&carols));
    assert!(
        as_ops.body.contains(&format!(
            r#"<option value="{}" selected>ops</option>"#,
            w.ids["ops"]
        )),
        "{}",
        as_ops.body
    );
    // dave is in no operator group: no switch to show.
    let mut dave = Browser::new(&w);
    dave.sign_in("acme", "dave", &password_of("dave")).await;
    assert!(!dave.get("/console/requests").await.body.contains("f-group"));
}
