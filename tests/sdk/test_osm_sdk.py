"""The official Huawei Cloud Python SDK, unmodified, against support-access."""

import datetime
import socket
import time

import pytest
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkcore.signer import signer as sdk_signer
from huaweicloudsdkosm.v2 import OsmClient
from huaweicloudsdkosm.v2.model import (
    AgreeTenantAuthorizationV2Req, CheckHostsRequest, ConfirmAuthorizationsRequest, ListAuthorizationsRequest,
    ListHistoryOperateLogsRequest, ListHistorySessionsRequest, ListTransportHistoriesRequest,
    OperateAuthorizationV2Req, ShowAuthorizationDetailRequest, ShowLoginTypeRequest, TenantAgreeAuthDetailV2,
    UpdateAuthorizationsRequest, VerifyHostV2Req,
)

# Every character the SDK must encode, in filter values and ids.
ODD = "CS 2026+1/x&y=z~é中"

# The one 401 message for a wrong, expired or skewed signature (details go to the log).
CREDENTIALS_REFUSED = (
    "Incorrect IAM authentication information: the access key, signature or security token is not valid"
)


def client(world, key, domain_id=True, token=None):
    creds = GlobalCredentials(key["access_key"], key["secret_key"], world.acme_id if domain_id else None)
    if token:
        creds = creds.with_security_token(token)
    return OsmClient.new_builder().with_credentials(creds).with_endpoints([world.endpoint]).build()


def refused_soon(call, within=3.0):
    """The ClientRequestException `call` raises once a change made by another process
    (the CLI, plain SQL) has reached the server's credential cache: within a poll
    (250 ms), so a few seconds is ample."""
    deadline = time.monotonic() + within
    while True:
        try:
            call()
        except ClientRequestException as e:
            return e
        if time.monotonic() > deadline:
            pytest.fail(f"still accepted {within} s after the change")
        time.sleep(0.05)


def raise_request(world, incident_id=ODD, description="disk full & slow / needs care", host="10.0.0.7"):
    body = {
        "customer_id": world.acme_id, "x_customer_id": world.user_ids["bob"], "incident_id": incident_id,
        "simple_description": description, "auth_describe": "clean up logs", "resource_type_id": "1",
        "visit_type_id": "1", "content_type_id": "1",
        "details": [{"type": 1, "instance_id": "ecs-1", "instance_name": "db-1", "region_id": "cn-south-1",
                     "host": host, "port": 22}],
    }
    _, auth = world.http("POST", "/provider/v1/authorizations", body, world.eng_token)
    return auth["id"], auth["details"][0]["id"]


@pytest.fixture(scope="module")
def bob_key(world):
    return world.cli("admin", "access-key", "create", "--domain", "acme", "--user", "bob")


def test_list_show_confirm_and_history(world, bob_key):
    osm = client(world, bob_key)
    auth_id, detail_id = raise_request(world)

    listed = osm.list_authorizations(ListAuthorizationsRequest(
        incident_id=ODD, simple_description="& slow /", sub_customer_name="bob", status=0, offset=0, limit=10))
    assert listed.count == 1
    item = listed.incident_auth_list[0]
    assert (item.id, item.status, item.incident_id, item.xcustomer_name) == (auth_id, 0, ODD, "bob")
    assert isinstance(item.create_time, datetime.datetime)

    shown = osm.show_authorization_detail(ShowAuthorizationDetailRequest(authorization_id=auth_id, x_language="en-us"))
    assert shown.status_code == 200
    assert (shown.id, shown.visit_type_name, shown.content_type_name) == (auth_id, "SSH", "Password")
    detail = shown.incident_auth_detail_list[0]
    assert (detail.id, detail.type, detail.port, detail.instance_name) == (detail_id, 1, 22, "db-1")

    now_ms = int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000)
    body = AgreeTenantAuthorizationV2Req(
        auth_detail_list=[TenantAgreeAuthDetailV2(auth_detail_id=detail_id, port=22, account="root", password="密码-p@ss")],
        auth_effective_time=now_ms, auth_expire_time=now_ms + 3_600_000)
    confirmed = osm.confirm_authorizations(ConfirmAuthorizationsRequest(authorization_id=auth_id, body=body))
    assert confirmed.status_code == 200
    shown = osm.show_authorization_detail(ShowAuthorizationDetailRequest(authorization_id=auth_id))
    assert shown.status == 1
    assert isinstance(shown.auth_expire_time, datetime.datetime)
    assert shown.incident_auth_detail_list[0].account == "root"

    # The engineer records a session; the customer reads it back through the SDK.
    sessions = f"/provider/v1/authorizations/{auth_id}/details/{detail_id}/sessions"
    _, opened = world.http("POST", sessions, None, world.eng_token)
    sid = opened["session_id"]
    # Recorded times must fall inside the session: a minute ago, to the second.
    started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(minutes=1)
    at = lambda secs: (started + datetime.timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%SZ")
    shown_at = lambda secs: (started + datetime.timedelta(seconds=secs)).strftime("%Y-%m-%d %H:%M:%S")
    ops = {"operations": [{"oper": "df -h", "operate_time": at(0)},
                          {"oper": "uptime", "operate_time": at(5)}]}
    world.http("POST", f"{sessions}/{sid}/operations", ops, world.eng_token)
    files = {"file_transfers": [{"operate_type": "upload", "file_name": "fix.sh", "from_path": "/tmp/fix.sh",
                                 "to_path": "/root/fix.sh", "file_size_bytes": 2048, "duration_ms": 1500,
                                 "oper_result": "success", "operate_time": at(60)}]}
    world.http("POST", f"{sessions}/{sid}/file-transfers", files, world.eng_token)
    world.http("POST", f"{sessions}/{sid}/close", None, world.eng_token)

    hist = osm.list_history_sessions(ListHistorySessionsRequest(
        authorization_id=auth_id, authorization_detail_id=detail_id, offset=0, limit=10))
    assert hist.total_count == 1 and hist.session_list[0].session_id == sid
    assert len(hist.session_list[0].duration) == 8
    logs = osm.list_history_operate_logs(ListHistoryOperateLogsRequest(
        authorization_id=auth_id, authorization_detail_id=detail_id, session_id=sid, sort=1, x_time_zone="UTC"))
    assert [(o.oper, o.operate_time) for o in logs.ops_list] == [
        ("df -h", shown_at(0)), ("uptime", shown_at(5))]
    transfers = osm.list_transport_histories(ListTransportHistoriesRequest(
        authorization_id=auth_id, authorization_detail_id=detail_id, session_id=sid))
    t = transfers.file_ops_list[0]
    assert (transfers.total_count, t.file_name, t.file_size, t.duration, t.oper_result) == (
        1, "fix.sh", "2.0K", "00:00:01", "success")

    # Cancel ends it.
    osm.update_authorizations(UpdateAuthorizationsRequest(
        authorization_id=auth_id, action_id="cancel", body=OperateAuthorizationV2Req()))
    assert osm.show_authorization_detail(ShowAuthorizationDetailRequest(authorization_id=auth_id)).status == 5


def test_reject_and_login_type(world, bob_key):
    osm = client(world, bob_key)
    auth_id, _ = raise_request(world, incident_id="CS-REJECT")
    osm.update_authorizations(UpdateAuthorizationsRequest(
        authorization_id=auth_id, action_id="reject", body=OperateAuthorizationV2Req(reject_reason="不需要 / not needed")))
    shown = osm.show_authorization_detail(ShowAuthorizationDetailRequest(authorization_id=auth_id))
    assert (shown.status, shown.reject_reason) == (2, "不需要 / not needed")
    assert osm.show_login_type(ShowLoginTypeRequest()).login_type == ""


def test_check_hosts_reports_the_outcome_in_the_body(world, bob_key):
    osm = client(world, bob_key)
    _, detail_id = raise_request(world, incident_id="CS-CHECK", host="127.0.0.1")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    body = VerifyHostV2Req(port=closed_port, account="root", password="p")
    checked = osm.check_hosts(CheckHostsRequest(authorization_detail_id=detail_id, body=body, x_language="en-us"))
    assert checked.status_code == 200
    assert checked.error_code == "OSM.01010010" and checked.error_msg


def test_errors_surface_as_client_request_exceptions(world, bob_key):
    osm = client(world, bob_key)
    with pytest.raises(ClientRequestException) as e:
        osm.show_authorization_detail(ShowAuthorizationDetailRequest(authorization_id="Auth 1/2+3&a=b~é"))
    assert (e.value.status_code, e.value.error_code) == (404, "OSM.01010101")
    assert e.value.request_id and e.value.error_msg
    with pytest.raises(ClientRequestException) as e:
        osm.list_authorizations(ListAuthorizationsRequest(limit=0))
    assert (e.value.status_code, e.value.error_code) == (400, "OSM.01010001")
    assert "limit" in e.value.error_msg
    with pytest.raises(ClientRequestException) as e:
        osm.update_authorizations(UpdateAuthorizationsRequest(authorization_id="1", action_id="approve",
                                                              body=OperateAuthorizationV2Req()))
    assert (e.value.status_code, e.value.error_code) == (400, "OSM.01010001")


def test_domain_discovery_without_a_domain_id(world, bob_key):
    creds = GlobalCredentials(bob_key["access_key"], bob_key["secret_key"]).with_iam_endpoint(world.endpoint)
    osm = OsmClient.new_builder().with_credentials(creds).with_region(Region("local-1", world.endpoint)).build()
    assert osm.list_authorizations(ListAuthorizationsRequest()).status_code == 200
    assert creds.domain_id == world.acme_id


def test_temporary_credentials_are_assumed_until_they_expire(world):
    temp = world.cli("admin", "access-key", "create-temporary", "--domain", "acme", "--user", "bob", "--duration", "1h")
    osm = client(world, temp, token=temp["security_token"])
    assert osm.show_login_type(ShowLoginTypeRequest()).login_type == "ASSUMED"
    world.expire_access_key(temp["access_key"])
    e = refused_soon(lambda: osm.show_login_type(ShowLoginTypeRequest()))
    # One message for every credential failure; the reason (expired) is in the log only.
    assert (e.status_code, e.error_code, e.error_msg) == (401, "APIGW.0301", CREDENTIALS_REFUSED)


def test_wrong_disabled_and_skewed_credentials_are_refused(world, monkeypatch):
    key = world.cli("admin", "access-key", "create", "--domain", "acme", "--user", "alice")
    wrong = dict(key, secret_key="x" * 40)
    with pytest.raises(ClientRequestException) as e:
        client(world, wrong).list_authorizations(ListAuthorizationsRequest())
    assert (e.value.status_code, e.value.error_code, e.value.error_msg) == (401, "APIGW.0301", CREDENTIALS_REFUSED)

    class Skewed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
    monkeypatch.setattr(sdk_signer, "datetime", Skewed)
    with pytest.raises(ClientRequestException) as e:
        client(world, key).list_authorizations(ListAuthorizationsRequest())
    # The same message for a skewed X-Sdk-Date: no server time in the answer.
    assert (e.value.status_code, e.value.error_msg) == (401, CREDENTIALS_REFUSED)
    monkeypatch.undo()

    assert client(world, key).list_authorizations(ListAuthorizationsRequest()).status_code == 200
    world.cli("admin", "access-key", "disable", "--access-key", key["access_key"])
    e = refused_soon(lambda: client(world, key).list_authorizations(ListAuthorizationsRequest()))
    assert e.status_code == 401 and "disabled" in e.error_msg
