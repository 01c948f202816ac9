"""Webhook deliveries as a receiver sees them, verified with the Standard Webhooks
reference library."""

import time


def by_authorization(deliveries):
    """Each authorization's event types in the order first received."""
    seen, order = set(), {}
    for d in deliveries:
        if d["id"] in seen:
            continue
        seen.add(d["id"])
        data = d["payload"]["data"]
        order.setdefault(data["authorization_id"], []).append(d["payload"]["type"])
    return order


def test_every_delivery_is_signed_thin_and_in_order(world, receiver):
    world.subscribe(receiver)
    raised = [world.raise_request()[0] for _ in range(5)]
    for auth_id in raised[:3]:
        world.reject(auth_id)
    for auth_id in raised[3:]:
        world.recall(auth_id)
    deliveries = receiver.wait_for(lambda ds: len({d["id"] for d in ds}) >= 10)
    assert all(d["verified"] for d in deliveries), "every signature verifies"
    expected = {a: ["authorization.raised", "authorization.rejected"] for a in raised[:3]}
    expected.update({a: ["authorization.raised", "authorization.recalled"] for a in raised[3:]})
    assert by_authorization(deliveries) == expected
    data = deliveries[-1]["payload"]["data"]
    assert set(data) == {"authorization_id", "customer_id", "incident_id", "status",
                         "actor_id", "detail_ids"}
    assert data["customer_id"] == world.acme_id and data["incident_id"] == "CS-HOOK-1"
    # The subscription's deliveries are listed for its owner.
    hooks = world.s.http("GET", "/customer/v1/webhooks", None, world.alice)[1]
    assert len(hooks) == 1 and "secret" not in hooks[0]
    status, listed = world.s.http("GET", f"/customer/v1/webhooks/{hooks[0]['id']}/deliveries",
                                  None, world.alice)
    assert status == 200 and {d["state"] for d in listed} == {"delivered"}


def test_a_retry_after_a_500_keeps_the_webhook_id_and_the_order(world, receiver):
    world.subscribe(receiver)
    receiver.fail_first.add("authorization.raised")
    auth_id, _ = world.raise_request()
    world.reject(auth_id)
    deliveries = receiver.wait_for(
        lambda ds: any(d["payload"]["type"] == "authorization.rejected" for d in ds), within=30)
    raised = [d for d in deliveries if d["payload"]["type"] == "authorization.raised"]
    assert len(raised) == 2 and raised[0]["id"] == raised[1]["id"], "same webhook-id on retry"
    # The rejection waited for the raise to be delivered.
    types = [d["payload"]["type"] for d in deliveries]
    assert types == ["authorization.raised", "authorization.raised", "authorization.rejected"]
    assert all(d["verified"] for d in deliveries)


def test_a_rotated_secret_signs_alongside_the_old_one(world, receiver):
    hook = world.subscribe(receiver)
    old = hook["secret"]
    status, rotated = world.s.http("POST", f"/customer/v1/webhooks/{hook['id']}/rotate-secret",
                                   {}, world.alice)
    assert status == 200 and rotated["secret"] != old
    receiver.secrets.append(rotated["secret"])
    world.raise_request()
    [d] = receiver.wait_for(lambda ds: len(ds) >= 1)
    assert len(d["signatures"].split(" ")) == 2
    assert d["verified"] == [old, rotated["secret"]], "both the old and the new secret verify"


def test_only_domain_admins_subscribe_and_bad_input_is_refused(world, receiver):
    bob = world.s.login("acme", "bob", "bob-password-1")
    status, body = world.s.http("POST", "/customer/v1/webhooks", {"url": receiver.url}, bob)
    assert status == 403 and body["error_code"]
    for bad in [{"url": "ftp://x/"}, {"url": receiver.url, "events": ["authorization.nope"]},
                {"url": receiver.url, "events": []}]:
        status, body = world.s.http("POST", "/customer/v1/webhooks", bad, world.alice)
        assert status == 400 and body["error_code"], bad
    status, _ = world.s.http("GET", "/customer/v1/webhooks", None, world.alice)
    assert status == 200


def test_a_kill_9_loses_no_event(world, receiver):
    world.subscribe(receiver)
    raised = [world.raise_request()[0] for _ in range(250)]
    for auth_id in raised:
        world.reject(auth_id)
    world.s.kill9()
    # 500 transitions written; whatever was in flight is delivered after the restart.
    world.s.start()
    outbox = world.s.outbox_ids()
    assert len(outbox) == 500
    receiver.wait_for(lambda ds: {d["id"] for d in ds} >= outbox, within=120)
    assert receiver.ids() == outbox
    assert all(d["verified"] for d in receiver.deliveries)


def test_the_cli_subscribes_lists_and_redelivers(world, receiver):
    s = world.s
    hook = s.cli("admin", "webhook", "create", "--domain", "acme", "--url", receiver.url,
                 "--events", "authorization.*")
    assert hook["secret"].startswith("whsec_")
    receiver.secrets.append(hook["secret"])
    listed = s.cli("admin", "webhook", "list", "--domain", "acme")
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    world.raise_request()
    [first] = receiver.wait_for(lambda ds: len(ds) >= 1)
    deliveries = s.cli("admin", "webhook", "deliveries", "--domain", "acme", "--id", hook["id"])
    assert [(d["event_id"], d["state"]) for d in deliveries] == [(first["id"], "delivered")]
    s.cli("admin", "webhook", "redeliver", "--event-id", first["id"])
    again = receiver.wait_for(lambda ds: len(ds) >= 2)
    assert again[1]["id"] == first["id"] and again[1]["verified"]
    rotated = s.cli("admin", "webhook", "rotate-secret", "--domain", "acme", "--id", hook["id"])
    assert rotated["secret"] != hook["secret"]
    s.cli("admin", "webhook", "delete", "--domain", "acme", "--id", hook["id"])
    assert s.cli("admin", "webhook", "list", "--domain", "acme") == []
