"""Tests of the MIM CM emulator: a real subprocess, real HTTP/1.1, TLS and NTLM (requests + requests-ntlm)."""

# pylint: disable=redefined-outer-name

import base64
import datetime
import hashlib
import http.client
import json
import os
import random
import re
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import requests
import spnego
import urllib3
from cryptography import x509
from requests_ntlm import HttpNtlmAuth
from spnego.channel_bindings import GssChannelBindings

from mim_cm_emulator import auth
from mim_cm_emulator.launcher import EMULATOR_COMMAND, USERS_FILE, EmulatorProcess, read_users

HERE = Path(__file__).resolve().parent

USERS = read_users()
ADMIN = USERS["cmadmin"]
READER = USERS["cmreader"]
ADMIN_GUID = "a0000000-0000-4000-8000-000000000001"
READER_GUID = "a0000000-0000-4000-8000-000000000002"

EXAMPLE = "a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099"
UNKNOWN = "deadbeef-0000-4000-8000-000000000000"
# One seeded request per status number (some seeded in upper case).
BY_STATUS = {
    16: "5eed0016-0000-4000-8000-000000000001",
    3: "5eed0003-0000-4000-8000-000000000001",
    18: "5EED0018-0000-4000-8000-000000000002",
    8: "5eed0008-0000-4000-8000-000000000001",
    17: "5eed0017-0000-4000-8000-000000000001",
    4: "5EED0004-0000-4000-8000-000000000001",
    9: "5eed0009-0000-4000-8000-000000000001",
}
SEEDED_COUNT = 12

FIELDS = [
    "Uuid", "RequestType", "Status", "Flags", "DataCollection", "DataCollectionFlags", "OriginatorUserUuid",
    "TargetUserUuid", "Submitted", "Completed", "NewProfileUuid", "OldProfileUuid", "NewSmartcardUuid",
    "OldSmartcardUuid", "Priority", "Comment", "ProfileTemplateUuid", "SecurityDescriptor", "IsSmartcard",
    "IsEnrollmentAgent", "IsDataCollectionComplete",
]
# The PUT table of docs/docsite/rst/architecture.rst: (current status, requested status) -> new status; every other pair is refused.
ALLOWED = {
    (3, "Completed"): 8, (18, "Completed"): 8,
    (16, "Canceled"): 17, (3, "Canceled"): 17, (18, "Canceled"): 17,
    (3, "Abandoned"): 9, (18, "Abandoned"): 9,
}
GUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CORRELATION = re.compile(rf"^An error has occurred\. .+ Correlation ID: ({GUID})$")
COMPLETED_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEMPLATE = "0f1e2d3c-4b5a-4697-8877-665544332211"


class Emulator(EmulatorProcess):
    """One emulator subprocess with its own state directory, and the calls the tests make to it."""

    def __init__(self, workdir, *args, env=None):
        super().__init__(workdir / "state", *args, env=env)
        self.start()
        self.state = self.state_dir
        self.proc = self.process
        self.api = self.url + "/api/v1.0/"
        self.root = self.url[:-len("/CertificateManagement")]
        self.port = int(self.root.rsplit(":", 1)[1])
        self.verify = self.ca_path if self.url.startswith("https:") else True

    def session(self, user=ADMIN):
        session = requests.Session()
        session.auth = HttpNtlmAuth(*user)
        return session

    def call(self, method, path, user=ADMIN, session=None, **kwargs):
        """One API call; pass verify= on every call (REQUESTS_CA_BUNDLE would override Session.verify)."""
        session = session or self.session(user)
        kwargs.setdefault("timeout", 10)
        return session.request(method, self.api + path, verify=self.verify, **kwargs)

    def admin(self, method, path):
        return requests.request(method, f"{self.root}/_emulator/{path}", verify=self.verify, timeout=10)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    emulator = Emulator(tmp_path_factory.mktemp("emulator"))
    yield emulator
    assert emulator.stop() == 0


@pytest.fixture
def emu(shared):
    """The default emulator, reset to its seed."""
    assert shared.admin("POST", "reset").status_code == 204
    return shared


@pytest.fixture
def start(tmp_path):
    """Start an emulator with extra switches; stopped (and checked for a clean exit) afterwards."""
    started = []

    def _start(*args, env=None):
        emulator = Emulator(tmp_path / f"emulator{len(started)}", *args, env=env)
        started.append(emulator)
        return emulator

    yield _start
    for emulator in started:
        assert emulator.stop() == 0


# ---- start-up, auth ---------------------------------------------------------------------------

def test_startup_writes_url_ca_and_pid(shared):
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+/CertificateManagement", shared.url)
    assert (shared.state / "url").read_text(encoding="utf-8").strip() == shared.url
    assert int((shared.state / "emulator.pid").read_text(encoding="utf-8")) == shared.proc.pid
    assert (shared.state / "ca.pem").read_text(encoding="utf-8").startswith("-----BEGIN CERTIFICATE-----")


def test_sigterm_stops_cleanly_and_removes_pid_file(start):
    emulator = start("--plain-http")
    assert emulator.stop() == 0
    assert not (emulator.state / "emulator.pid").exists()
    assert "stopping (SIGTERM)" in emulator.stderr()


def test_unauthenticated_request_gets_401_with_both_schemes(emu):
    response = requests.get(emu.api + f"requests/{EXAMPLE}", verify=emu.verify, timeout=10)
    assert response.status_code == 401
    assert response.raw.headers.getlist("WWW-Authenticate") == ["Negotiate", "NTLM"]
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"401" in response.content


def test_wrong_password_ends_in_401(emu):
    response = emu.call("GET", f"requests/{EXAMPLE}", user=(ADMIN[0], "wrong-password"))
    assert response.status_code == 401
    assert [r.status_code for r in response.history] == [401, 401]
    assert "NTLM authentication failed" in emu.stderr()


def test_unknown_user_ends_in_401(emu):
    assert emu.call("GET", f"requests/{EXAMPLE}", user=("CONTOSO\\nobody", "x")).status_code == 401


# ---- GET ---------------------------------------------------------------------------------------

def test_documented_example_read(emu):
    response = emu.call("GET", f"requests/{EXAMPLE}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.content)
    request = response.json()
    assert list(request) == FIELDS
    assert request["Uuid"] == EXAMPLE
    assert (request["Status"], request["RequestType"], request["Flags"], request["DataCollectionFlags"]) == (3, 1, 2, 32)
    assert (request["Priority"], request["Comment"], request["Submitted"]) == (0, "", "2015-07-07T23:36:21.93Z")
    assert request["Completed"] == "0001-01-01T00:00:00"
    assert (request["IsSmartcard"], request["IsEnrollmentAgent"], request["IsDataCollectionComplete"]) == (True, False, False)
    assert all(request[key] != "00000000-0000-0000-0000-000000000000" for key in ("NewProfileUuid", "NewSmartcardUuid", "ProfileTemplateUuid"))
    assert all(set(item) == {"Name", "Value"} for item in request["DataCollection"])
    assert request["SecurityDescriptor"].startswith("O:") and request["SecurityDescriptor"].endswith("\u0000")
    assert "\\u0000" in response.text


def test_guid_matching_is_case_insensitive_and_keeps_seeded_case(emu):
    upper = emu.call("GET", f"requests/{EXAMPLE.upper()}")
    assert upper.status_code == 200 and upper.json()["Uuid"] == EXAMPLE
    lower = emu.call("GET", "requests/5eed0016-0000-4000-8000-000000000002")
    assert lower.status_code == 200 and lower.json()["Uuid"] == "5EED0016-0000-4000-8000-000000000002"


def test_routes_are_case_insensitive(emu):
    session = emu.session()
    url = f"{emu.root}/certificatemanagement/API/V1.0/Requests/{EXAMPLE}"
    response = session.get(url, verify=emu.verify, timeout=10)
    assert response.status_code == 200 and response.json()["Uuid"] == EXAMPLE
    search = session.get(f"{emu.root}/CERTIFICATEMANAGEMENT/api/v1.0/REQUESTS", params={"STATUS": "approved"}, verify=emu.verify, timeout=10)
    assert search.status_code == 200 and {r["Status"] for r in search.json()} == {3}


def test_unknown_guid_is_204_by_default(emu):
    response = emu.call("GET", f"requests/{UNKNOWN}")
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize("mode", ["404", "403"])
def test_unknown_guid_modes(start, mode):
    emulator = start("--unknown-request", mode)
    response = emulator.call("GET", f"requests/{UNKNOWN}")
    assert response.status_code == int(mode)
    assert UNKNOWN in response.json()["Message"]
    assert emulator.call("GET", f"requests/{EXAMPLE}").status_code == 200


def test_other_api_paths_are_404_and_wrong_methods_405(emu):
    session = emu.session()
    for path in ("profiles", "requests/x/y", "../v2.0/requests"):
        response = emu.call("GET", path, session=session)
        assert response.status_code == 404
        assert response.json()["Message"].startswith("No HTTP resource was found that matches the request URI")
    assert emu.call("DELETE", f"requests/{EXAMPLE}", session=session).status_code == 405
    assert emu.call("PUT", "requests", session=session, json={"status": "Completed"}).status_code == 405
    assert emu.call("GET", "requests/not-a-guid", session=session).status_code == 400


# ---- search ------------------------------------------------------------------------------------

def test_search_without_filters_returns_everything(emu):
    response = emu.call("GET", "requests")
    assert response.status_code == 200
    found = response.json()
    assert len(found) == SEEDED_COUNT and list(found[0]) == FIELDS


def test_search_by_status(emu):
    session = emu.session()
    for name, number, count in (("Pending", 16, 3), ("pEnDiNg", 16, 3), ("Approved", 3, 3), ("Executing", 18, 2), ("Completed", 8, 1),
                                ("Canceled", 17, 1), ("Denied", 4, 1), ("Failed", 9, 1)):
        found = emu.call("GET", "requests", session=session, params={"status": name}).json()
        assert len(found) == count and {r["Status"] for r in found} == {number}, name
    none = emu.call("GET", "requests", session=session, params={"status": "None"})
    assert none.status_code == 204 and none.content == b""


def test_search_targetuser_current(emu):
    mine = emu.call("GET", "requests", params={"targetuser": "current"}).json()
    assert len(mine) == 5 and {r["TargetUserUuid"].lower() for r in mine} == {ADMIN_GUID}
    theirs = emu.call("GET", "requests", user=READER, params={"targetuser": "Current"}).json()
    assert len(theirs) == 3 and {r["TargetUserUuid"].lower() for r in theirs} == {READER_GUID}
    both = emu.call("GET", "requests", params={"targetuser": "current", "status": "Pending"}).json()
    assert [r["Uuid"] for r in both] == [BY_STATUS[16]]


def test_search_rejects_bad_filters(emu):
    session = emu.session()
    bad_status = emu.call("GET", "requests", session=session, params={"status": "Abandoned"})
    assert bad_status.status_code == 400 and "Abandoned" in bad_status.json()["Message"]
    bad_target = emu.call("GET", "requests", session=session, params={"targetuser": ADMIN_GUID})
    assert bad_target.status_code == 400 and "current" in bad_target.json()["Message"]


def test_alternative_modes_empty_array_and_put_204(start):
    emulator = start("--empty-search", "array", "--put-response", "204")
    empty = emulator.call("GET", "requests", params={"status": "None"})
    assert empty.status_code == 200 and empty.json() == []
    put = emulator.call("PUT", f"requests/{EXAMPLE}", json={"status": "Completed"})
    assert put.status_code == 204 and put.content == b""
    assert emulator.stored_request(EXAMPLE)["Status"] == 8


# ---- PUT ---------------------------------------------------------------------------------------

def test_documented_example_completed(emu):
    session = emu.session()
    before = emu.call("GET", f"requests/{EXAMPLE}", session=session).json()
    response = emu.call("PUT", f"requests/{EXAMPLE}", session=session, json={"status": "Completed"})
    assert response.status_code == 200
    after = response.json()
    assert list(after) == FIELDS
    assert after["Status"] == 8
    assert COMPLETED_TIME.match(after["Completed"])
    assert {k: v for k, v in after.items() if k not in ("Status", "Completed")} == {k: v for k, v in before.items() if k not in ("Status", "Completed")}
    assert emu.call("GET", f"requests/{EXAMPLE}", session=session).json() == after


@pytest.mark.parametrize("target", ["Completed", "Canceled", "Abandoned"])
@pytest.mark.parametrize("current", sorted(BY_STATUS))
def test_every_transition(emu, current, target):
    guid = BY_STATUS[current]
    before = emu.stored_request(guid)
    assert before["Status"] == current
    response = emu.call("PUT", f"requests/{guid}", json={"status": target})
    after = emu.stored_request(guid)
    if (current, target) in ALLOWED:
        assert response.status_code == 200
        assert response.json() == after
        assert after["Status"] == ALLOWED[(current, target)]
        if target == "Completed":
            assert COMPLETED_TIME.match(after["Completed"])
        else:
            assert after["Completed"] == before["Completed"]
    else:
        assert response.status_code == 500
        match = CORRELATION.match(response.json()["Message"])
        assert match, response.text
        assert match.group(1) in emu.stderr()
        assert after == before


def test_transition_switch_replaces_the_inferred_from_statuses(start):
    # The inferred cells switched to their alternatives: Pending may be completed, only Approved may be canceled.
    emulator = start("--transition", "Completed=Pending,Approved,Executing", "--transition", "canceled=approved")
    completed = emulator.call("PUT", f"requests/{BY_STATUS[16]}", json={"status": "Completed"})
    assert completed.status_code == 200 and emulator.stored_request(BY_STATUS[16])["Status"] == 8
    refused = emulator.call("PUT", f"requests/{BY_STATUS[18]}", json={"status": "Canceled"})
    assert refused.status_code == 500 and CORRELATION.match(refused.json()["Message"])
    assert "Executing (18)" in refused.json()["Message"] and emulator.stored_request(BY_STATUS[18])["Status"] == 18
    abandoned = emulator.call("PUT", f"requests/{BY_STATUS[18]}", json={"status": "Abandoned"})
    assert abandoned.status_code == 200 and abandoned.json()["Status"] == 9, "targets not switched keep the default"
    assert "transition: PUT Completed from Pending, Approved, Executing" in emulator.stderr()


def test_an_empty_transition_refuses_every_change_to_that_target(start):
    emulator = start("--transition", "Completed=")
    response = emulator.call("PUT", f"requests/{EXAMPLE}", json={"status": "Completed"})
    assert response.status_code == 500 and emulator.stored_request(EXAMPLE)["Status"] == 3


def test_put_unknown_guid_is_500(emu):
    response = emu.call("PUT", f"requests/{UNKNOWN}", json={"status": "Canceled"})
    assert response.status_code == 500 and CORRELATION.match(response.json()["Message"])


def test_put_key_and_value_are_case_insensitive(emu):
    response = emu.call("PUT", f"requests/{BY_STATUS[16].upper()}", json={"STATUS": "canceled"})
    assert response.status_code == 200 and response.json()["Status"] == 17


def test_put_bad_bodies_are_400(emu):
    session = emu.session()
    url = f"requests/{EXAMPLE}"
    for body in (b"not json", b"[]", b"{}", b'{"status": "Approved"}', b'{"status": 8}'):
        response = emu.call("PUT", url, session=session, data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, body
        assert response.json()["Message"]
    assert emu.stored_request(EXAMPLE)["Status"] == 3


def test_read_only_user_reads_but_gets_403_on_put_and_post(emu):
    session = emu.session(READER)
    assert emu.call("GET", f"requests/{EXAMPLE}", session=session).status_code == 200
    put = emu.call("PUT", f"requests/{EXAMPLE}", session=session, json={"status": "Completed"})
    assert put.status_code == 403 and "CONTOSO\\cmreader" in put.json()["Message"]
    post = emu.call("POST", "requests", session=session, json={"profiletemplateuuid": TEMPLATE, "type": "Enroll"})
    assert post.status_code == 403
    assert emu.stored_request(EXAMPLE)["Status"] == 3
    assert len(emu.admin("GET", "requests").json()) == SEEDED_COUNT


def test_read_only_user_switch_replaces_the_seed_list(start):
    emulator = start("--read-only-user", "contoso\\CMADMIN")
    assert emulator.call("PUT", f"requests/{EXAMPLE}", json={"status": "Completed"}).status_code == 403
    assert emulator.call("PUT", f"requests/{EXAMPLE}", user=READER, json={"status": "Completed"}).status_code == 200


# ---- POST --------------------------------------------------------------------------------------

def test_post_creates_a_pending_request(emu):
    session = emu.session()
    body = {"profiletemplateuuid": TEMPLATE, "datacollection": [{"Reason": "test"}, {"Badge": None}],
            "type": "Enroll", "comment": "created by a test", "priority": 7}
    response = emu.call("POST", "requests", session=session, json=body)
    assert response.status_code == 201
    location = response.json()
    match = re.fullmatch(rf"api/v1\.0/requests/({GUID})", location)
    assert match and response.text == json.dumps(location)
    assert response.headers["Location"] == f"{emu.url}/{location}"
    created = emu.call("GET", f"requests/{match.group(1)}", session=session).json()
    assert list(created) == FIELDS
    assert (created["Status"], created["RequestType"], created["Priority"], created["Comment"]) == (16, 1, 7, "created by a test")
    assert created["OriginatorUserUuid"] == ADMIN_GUID and created["TargetUserUuid"] == ADMIN_GUID
    assert created["ProfileTemplateUuid"] == TEMPLATE and created["Completed"] == "0001-01-01T00:00:00"
    assert created["DataCollection"] == [{"Name": "Reason", "Value": "test"}, {"Name": "Badge", "Value": None}]
    assert len(emu.call("GET", "requests", session=session).json()) == SEEDED_COUNT + 1


def test_post_accepts_datacollection_as_a_string_and_a_target(emu):
    body = {"ProfileTemplateUuid": TEMPLATE, "DataCollection": '[{"Reason":"unblock"}]', "Target": READER_GUID, "Type": "unblock"}
    response = emu.call("POST", "requests", json=body)
    assert response.status_code == 201
    created = emu.stored_request(response.json().rsplit("/", 1)[1])
    assert (created["RequestType"], created["TargetUserUuid"], created["OriginatorUserUuid"]) == (5, READER_GUID, ADMIN_GUID)
    assert created["DataCollection"] == [{"Name": "Reason", "Value": "unblock"}]


def test_post_rejects_bad_bodies(emu):
    session = emu.session()
    for body in ({"profiletemplateuuid": TEMPLATE, "type": "Explode"}, {"type": "Enroll"},
                 {"profiletemplateuuid": TEMPLATE, "type": "Enroll", "smartcard": "not a guid"},
                 {"profiletemplateuuid": TEMPLATE, "type": "Enroll", "priority": 256},
                 {"profiletemplateuuid": TEMPLATE, "type": "Enroll", "datacollection": "not json"}):
        assert emu.call("POST", "requests", session=session, json=body).status_code == 400, body


def test_request_types_documented_takes_only_enroll_and_unblock(start):
    """The emulator's own numbers for the undocumented types are switchable: --request-types documented refuses them."""
    emulator = start("--plain-http", "--request-types", "documented")
    session = emulator.session()
    for type_name in ("Renew", "Retire"):
        response = emulator.call("POST", "requests", session=session, json={"profiletemplateuuid": TEMPLATE, "type": type_name})
        assert response.status_code == 400 and "type must be one of Enroll, Unblock" in response.json()["Message"]
    assert emulator.call("POST", "requests", session=session, json={"profiletemplateuuid": TEMPLATE, "type": "Unblock"}).status_code == 201


# ---- submissions: profile templates, workflow policies, POST rules, the portal's part -----------

WIFI = "7e3a0000-0000-4000-8000-000000000001"  # Enroll needs no approval
VPN = "7e3a0000-0000-4000-8000-000000000002"  # Enroll: one approval, Reason required; Renew disabled
BADGE = "7e3a0000-0000-4000-8000-000000000003"  # smart card; Enroll disabled
TEMPLATES = {TEMPLATE: "User Certificate", WIFI: "Wifi", VPN: "VPN User", BADGE: "Legacy Badge"}
VPN_ENROLL = {"ApprovalsNeeded": 1, "CollectComments": True, "Enabled": True, "SelfServiceEnabled": True, "EnrollAgentRequired": False,
              "PolicyDataCollection": [{"Name": "Reason", "Required": True}, {"Name": "Manager", "Required": False}]}


def submit(emulator, template, type_name="Enroll", user=ADMIN, **fields):
    return emulator.call("POST", "requests", user=user, json=dict(fields, profiletemplateuuid=template, type=type_name))


def created_id(response):
    assert response.status_code == 201, response.text
    return re.fullmatch(rf"api/v1\.0/requests/({GUID})", response.json()).group(1)


def test_profile_templates_are_listed_and_read_by_any_user(emu):
    session = emu.session(READER)
    listed = emu.call("GET", "profiletemplates", session=session)
    assert listed.status_code == 200
    assert {template["Uuid"]: template["Name"] for template in listed.json()} == TEMPLATES
    assert all(list(template)[:3] == ["Uuid", "Name", "IsSmartcard"] and "policies" not in template and "_comment" not in template
               for template in listed.json())
    assert emu.call("GET", "profiletemplates", session=session, params={"targetuser": "current"}).json() == listed.json()
    assert emu.call("GET", "profiletemplates", session=session, params={"targetuser": "someone"}).status_code == 400
    one = emu.call("GET", f"ProfileTemplates/{BADGE.upper()}", session=session)
    assert one.status_code == 200 and (one.json()["Name"], one.json()["IsSmartcard"]) == ("Legacy Badge", True)
    assert emu.call("GET", f"profiletemplates/{UNKNOWN}", session=session).status_code == 204
    assert emu.call("GET", "profiletemplates/not-a-guid", session=session).status_code == 400
    assert emu.call("POST", "profiletemplates", session=session, json={}).status_code == 405
    assert emu.call("GET", f"profiletemplates/{VPN}/policies", session=session).status_code == 404


def test_workflow_policy_answers_the_same_on_both_paths(emu):
    session = logged_in(emu)
    examples = emu.call("GET", f"profiletemplates/{VPN}/policies/Enroll", session=session)
    reference = emu.call("GET", f"profiletemplates/{VPN.upper()}/policy/workflow/enroll", session=session)
    assert examples.status_code == reference.status_code == 200 and examples.content == reference.content
    assert list(examples.json()) == list(VPN_ENROLL) and examples.json() == VPN_ENROLL
    assert emu.call("GET", f"profiletemplates/{VPN}/policies/Renew", session=session).json()["Enabled"] is False
    no_policy = emu.call("GET", f"profiletemplates/{WIFI}/policies/Revoke", session=session).json()
    assert no_policy == dict(VPN_ENROLL, ApprovalsNeeded=0, CollectComments=False, Enabled=False, PolicyDataCollection=[])
    assert emu.call("GET", f"profiletemplates/{VPN}/policies/Explode", session=session).status_code == 400
    assert emu.call("GET", f"profiletemplates/{UNKNOWN}/policies/Enroll", session=session).status_code == 204


def test_a_new_request_is_pending_or_approved_as_its_policy_needs_approvals(emu):
    before = len(emu.exchanges())
    approved = created_id(submit(emu, WIFI))
    pending = created_id(submit(emu, VPN, datacollection=[{"Reason": "new hire"}], comment="VPN for a new hire"))
    assert emu.stored_request(approved)["Status"] == 3 and emu.stored_request(pending)["Status"] == 16
    assert emu.stored_request(pending)["DataCollection"] == [{"Name": "Reason", "Value": "new hire"}]
    assert emu.applied_posts(since=before) == 2
    assert [(e["status"], e["applied"]) for e in emu.api_calls()[-2:]] == [(201, True), (201, True)]


def test_a_post_takes_datacollection_as_a_string_and_priority_as_a_string(emu):
    request_id = created_id(submit(emu, VPN, datacollection='[{"Reason": "rotation"}, {"Manager": "CONTOSO\\\\boss"}]', priority="4"))
    stored = emu.stored_request(request_id)
    assert stored["Priority"] == 4 and stored["DataCollection"] == [{"Name": "Reason", "Value": "rotation"}, {"Name": "Manager", "Value": "CONTOSO\\boss"}]


@pytest.mark.parametrize("template, type_name, fields, reason", [
    (UNKNOWN, "Enroll", {}, f"The profile template {UNKNOWN} could not be found."),
    (BADGE, "Enroll", {}, "The Enroll workflow policy of the profile template 'Legacy Badge' is disabled."),
    (VPN, "Renew", {}, "The Renew workflow policy of the profile template 'VPN User' is disabled."),
    (WIFI, "Revoke", {}, "The Revoke workflow policy of the profile template 'Wifi' is disabled."),  # no policy at all
    (VPN, "Enroll", {"datacollection": [{"Manager": "x"}]}, "item(s) Reason required by the Enroll workflow policy"),
    (VPN, "Enroll", {"datacollection": [{"reason": "  "}]}, "item(s) Reason required by the Enroll workflow policy"),
], ids=["unknown-template", "disabled-template-policy", "disabled-type-policy", "no-policy", "missing-item", "blank-item"])
def test_a_post_the_policy_refuses_is_a_500_with_a_correlation_id_and_creates_nothing(emu, template, type_name, fields, reason):
    before = len(emu.exchanges())
    response = submit(emu, template, type_name, **fields)
    assert response.status_code == 500
    match = CORRELATION.match(response.json()["Message"])
    assert match and reason in response.json()["Message"] and match.group(1) in emu.stderr()
    assert len(emu.admin("GET", "requests").json()) == SEEDED_COUNT
    assert emu.applied_posts(since=before) == 0 and (last_call(emu)["status"], last_call(emu)["applied"]) == (500, False)


def test_a_read_only_user_gets_403_before_any_policy_check(emu):
    assert submit(emu, UNKNOWN, user=READER).status_code == 403
    assert submit(emu, WIFI, user=READER).status_code == 403
    assert len(emu.admin("GET", "requests").json()) == SEEDED_COUNT


def test_undocumented_types_get_the_emulators_own_numbers_and_smartcards_are_kept(emu):
    retire = emu.stored_request(created_id(submit(emu, WIFI, "Retire")))
    assert (retire["RequestType"], retire["Status"], retire["IsSmartcard"]) == (108, 3, False)
    card = "c0000000-0000-4000-8000-00000000000c"
    unblock = emu.stored_request(created_id(submit(emu, BADGE, "Unblock", smartcard=card.upper())))
    assert (unblock["RequestType"], unblock["Status"], unblock["IsSmartcard"], unblock["OldSmartcardUuid"]) == (5, 3, True, card.upper())


def test_the_portal_approves_denies_and_executes_through_the_admin_door(emu):
    first, second = (created_id(submit(emu, VPN, datacollection=[{"Reason": "r"}])) for _request in range(2))
    assert emu.approve(first)["Status"] == 3
    with pytest.raises(ValueError, match="is Approved, not Pending"):
        emu.approve(first)
    assert emu.deny(second)["Status"] == 4
    with pytest.raises(ValueError, match="is Denied, not Approved"):
        emu.execute(second)
    assert emu.execute(first)["Status"] == 18
    done = emu.execute(first, complete=True)
    assert done["Status"] == 8 and COMPLETED_TIME.match(done["Completed"])
    assert emu.call("GET", f"requests/{first}").json() == done  # the API sees what the portal did
    straight = created_id(submit(emu, WIFI))
    assert emu.execute(straight, complete=True)["Status"] == 8  # Approved straight to Completed
    assert emu.admin("POST", f"requests/{UNKNOWN}/approve").status_code == 404
    assert requests.post(f"{emu.root}/_emulator/requests/{BY_STATUS[3]}/execute", data=b'{"complete": "yes"}',
                         verify=emu.verify, timeout=10).status_code == 400


def test_one_request_is_seeded_through_the_admin_door_until_reset(emu):
    seeded = emu.seed_request({"Status": 16, "RequestType": 1, "ProfileTemplateUuid": VPN, "TargetUserUuid": READER_GUID,
                               "Submitted": "now-2h", "DataCollection": [{"Name": "Reason", "Value": "seeded"}]})
    assert re.fullmatch(GUID, seeded["Uuid"]) and list(seeded) == FIELDS and COMPLETED_TIME.match(seeded["Submitted"])
    assert emu.call("GET", f"requests/{seeded['Uuid']}").json() == seeded
    given = emu.seed_request({"Uuid": "5eed0016-0000-4000-8000-0000000000ff", "Status": 16})
    assert given["Uuid"] == "5eed0016-0000-4000-8000-0000000000ff"
    with pytest.raises(ValueError, match="exists already"):
        emu.seed_request({"Uuid": given["Uuid"].upper()})
    with pytest.raises(ValueError, match="unknown field 'Colour'"):
        emu.seed_request({"Colour": "blue"})
    assert emu.approve(given["Uuid"])["Status"] == 3
    emu.reset()
    assert len(emu.admin("GET", "requests").json()) == SEEDED_COUNT


@pytest.mark.parametrize("templates, message", [
    ([{"Uuid": WIFI}], "needs a GUID Uuid and a Name"),
    ([{"Uuid": WIFI, "Name": "W", "policies": {"Explode": {}}}], "'Explode' is not a request type"),
    ([{"Uuid": WIFI, "Name": "W", "policies": {"Enroll": {"ApprovalsNeeded": -1}}}], "ApprovalsNeeded must be"),
    ([{"Uuid": WIFI, "Name": "W", "policies": {"Enroll": {"PolicyDataCollection": [{"Name": "R", "Required": "yes"}]}}}], "PolicyDataCollection"),
    ([{"Uuid": WIFI, "Name": "W"}, {"Uuid": WIFI.upper(), "Name": "X"}], "duplicate profile template GUID"),
], ids=["no-name", "unknown-type", "negative-approvals", "required-not-bool", "duplicate"])
def test_a_bad_template_in_the_seed_exits_2(tmp_path, templates, message):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps({"profile_templates": templates}), encoding="utf-8")
    result = subprocess.run([*EMULATOR_COMMAND, "--state-dir", str(tmp_path / "state"), "--seed", str(seed_file)],
                            capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 2 and result.stdout == "" and message in result.stderr


# ---- switches ----------------------------------------------------------------------------------

def test_plain_http(start):
    emulator = start("--plain-http")
    assert emulator.url.startswith("http://127.0.0.1:")
    assert not (emulator.state / "ca.pem").exists()
    response = emulator.call("GET", f"requests/{EXAMPLE}")
    assert response.status_code == 200 and response.json()["Status"] == 3


def test_api_disabled_answers_404_everywhere(start):
    emulator = start("--api-disabled")
    session = emulator.session()
    for method, path in (("GET", f"requests/{EXAMPLE}"), ("GET", "requests"), ("PUT", f"requests/{EXAMPLE}"), ("POST", "requests")):
        response = emulator.call(method, path, session=session, json={})
        assert response.status_code == 404 and "No HTTP resource" in response.json()["Message"]
    assert [e["status"] for e in emulator.exchanges()][:3] == [401, 401, 404]


def test_custom_seed_with_defaults_and_relative_times(start, tmp_path):
    seed = {"users": {"CONTOSO\\cmadmin": ADMIN_GUID}, "requests": [
        {"uuid": "aaaaaaaa-0000-4000-8000-000000000031", "status": 16, "Submitted": "now-30d-5m"},
        {"Uuid": "aaaaaaaa-0000-4000-8000-000000000002", "Submitted": "now+2h", "Completed": "NOW"},
    ]}
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed), encoding="utf-8")
    emulator = start("--seed", str(seed_file))
    old, new = emulator.admin("GET", "requests").json()
    assert list(old) == FIELDS and old["Status"] == 16 and new["Status"] == 0
    assert old["Completed"] == "0001-01-01T00:00:00" and old["TargetUserUuid"] == "00000000-0000-0000-0000-000000000000"
    assert old["DataCollection"] == [] and old["SecurityDescriptor"].endswith("\u0000") and old["IsSmartcard"] is False
    now = datetime.datetime.now(datetime.timezone.utc)

    def age(text):
        assert COMPLETED_TIME.match(text)
        return (now - datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)).total_seconds()

    assert abs(age(old["Submitted"]) - (30 * 86400 + 300)) < 60
    assert abs(age(new["Submitted"]) + 7200) < 60 and abs(age(new["Completed"])) < 60
    # No read_only_users in this seed: nobody is read-only.
    assert emulator.call("PUT", "requests/aaaaaaaa-0000-4000-8000-000000000031", user=READER, json={"status": "Canceled"}).status_code == 200


def test_bad_seed_exits_2(tmp_path):
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps({"requests": [{"Uuid": "x"}]}), encoding="utf-8")
    result = subprocess.run([*EMULATOR_COMMAND, "--state-dir", str(tmp_path / "state"), "--seed", str(seed_file)],
                            capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 2 and result.stdout == "" and "Uuid must be a GUID" in result.stderr


# ---- the log and keep-alive --------------------------------------------------------------------

def test_log_counts_auth_legs_calls_and_connections(start):
    emulator = start()
    session = emulator.session()
    statuses = [
        emulator.call("GET", f"requests/{EXAMPLE}", session=session).status_code,
        emulator.call("GET", f"requests/{UNKNOWN}", session=session).status_code,
        emulator.call("GET", "nothing-here", session=session).status_code,
        emulator.call("PUT", f"requests/{BY_STATUS[8]}", session=session, json={"status": "Completed"}).status_code,
        emulator.call("GET", "requests", session=session, params={"status": "Bogus"}).status_code,
        emulator.call("PUT", f"requests/{BY_STATUS[16]}", session=session, json={"status": "Canceled"}).status_code,
        emulator.call("POST", "requests", session=session, json={"profiletemplateuuid": TEMPLATE, "type": "Enroll"}).status_code,
        emulator.call("GET", "requests", session=session, params={"status": "None"}).status_code,
    ]
    assert statuses == [200, 204, 404, 500, 400, 200, 201, 204]
    reader = emulator.session(READER)
    assert emulator.call("PUT", f"requests/{EXAMPLE}", session=reader, json={"status": "Completed"}).status_code == 403
    assert emulator.call("GET", f"requests/{EXAMPLE}", session=reader).status_code == 200
    emulator.admin("GET", "requests")  # the side door is not logged

    log = emulator.exchanges()
    assert all(set(e) == {"time", "connection", "method", "path", "query", "status", "auth_leg", "authorization", "user", "mechanism",
                          "body", "fault", "applied"} for e in log)
    # mechanism: none before a handshake starts, then that of the handshake, then that of the connection's login
    assert [e["mechanism"] for e in log] == [None, "ntlm"] + ["ntlm"] * 8 + [None, "ntlm", "ntlm", "ntlm"]
    assert all(e["fault"] is None for e in log)
    # applied: only the PUT that worked (200) and the POST (201); not the refused PUT (500) nor the reader's (403)
    assert [e["applied"] for e in log] == [False] * 7 + [True, True] + [False] * 5
    assert [e["status"] for e in log] == [401, 401] + statuses + [401, 401, 403, 200]
    # auth_leg: only the two 401s of each handshake; the call sent with the final NTLM token is an API call
    assert [e["auth_leg"] for e in log] == [True, True] + [False] * 8 + [True, True, False, False]
    assert [e["authorization"] for e in log] == [False, True, True] + [False] * 7 + [False, True, True, False]
    api_calls = [(e["method"], e["status"]) for e in log if not e["auth_leg"]]
    assert [status for _method, status in api_calls] == statuses + [403, 200]
    assert len([call for call in api_calls if call[0] == "PUT"]) == 3
    assert len([e for e in log if e["method"] == "PUT"]) == 2 + 3  # the reader's PUT went through the handshake (3 legs)
    first, second = log[0]["connection"], log[-1]["connection"]
    assert first != second and {e["connection"] for e in log} == {first, second}
    assert [e["user"] for e in log[:3]] == [None, None, "CONTOSO\\cmadmin"] and log[-1]["user"] == "CONTOSO\\cmreader"
    assert log[5]["path"] == f"/CertificateManagement/api/v1.0/requests/{BY_STATUS[8]}" and log[5]["body"] == {"status": "Completed"}
    assert log[6]["query"] == "status=Bogus" and log[6]["body"] is None
    assert all(COMPLETED_TIME.match(e["time"]) for e in log)


# ---- NTLM over TLS: channel bindings are checked; a new Authorization header restarts ------------

def end_point_bindings(der):
    certificate = x509.load_der_x509_certificate(der)
    from cryptography.hazmat.primitives import hashes  # pylint: disable=import-outside-toplevel
    digest = hashes.Hash(certificate.signature_hash_algorithm)
    digest.update(der)
    return GssChannelBindings(application_data=b"tls-server-end-point:" + digest.finalize())


def raw_ntlm_login(connection, path, bindings, scheme="NTLM", user=ADMIN):
    """Run the NTLM handshake by hand on an http.client connection; return the final response."""
    client = spnego.client(user[0], user[1], hostname="127.0.0.1", service="http", protocol="ntlm",
                           channel_bindings=bindings, options=spnego.NegotiateOptions.use_ntlm)
    connection.request("GET", path, headers={"Authorization": f"{scheme} {base64.b64encode(client.step()).decode()}"})
    challenge = connection.getresponse()
    challenge.read()
    assert challenge.status == 401
    token = base64.b64decode(challenge.getheader("WWW-Authenticate").split(" ", 1)[1])
    connection.request("GET", path, headers={"Authorization": f"{scheme} {base64.b64encode(client.step(token)).decode()}"})
    response = connection.getresponse()
    response.read()
    return response


@pytest.fixture
def tls_connection(emu):
    context = ssl.create_default_context(cafile=emu.verify)
    connection = http.client.HTTPSConnection("127.0.0.1", emu.port, context=context, timeout=10)
    connection.connect()
    yield connection
    connection.close()


PATH = f"/CertificateManagement/api/v1.0/requests/{EXAMPLE}"


def test_right_channel_bindings_are_accepted_under_either_scheme(tls_connection):
    bindings = end_point_bindings(tls_connection.sock.getpeercert(True))
    assert raw_ntlm_login(tls_connection, PATH, bindings, scheme="Negotiate").status == 200
    tls_connection.request("GET", PATH)  # the connection is authenticated now: no header needed
    response = tls_connection.getresponse()
    assert response.status == 200 and json.loads(response.read())["Uuid"] == EXAMPLE


@pytest.mark.parametrize("bindings", [GssChannelBindings(application_data=b"tls-server-end-point:" + b"\x01" * 32), None], ids=["wrong", "none"])
def test_wrong_or_missing_channel_bindings_are_refused(emu, tls_connection, bindings):
    response = raw_ntlm_login(tls_connection, PATH, bindings)
    assert response.status == 401
    assert response.getheader("WWW-Authenticate") == "Negotiate, NTLM"
    assert "bindings" in emu.stderr().lower()
    # The connection survives the final 401, and a new handshake with the right bindings works on it.
    right = end_point_bindings(tls_connection.sock.getpeercert(True))
    assert raw_ntlm_login(tls_connection, PATH, right).status == 200
    assert len({e["connection"] for e in emu.exchanges()[-4:]}) == 1


def test_new_authorization_header_starts_a_new_handshake(tls_connection):
    bindings = end_point_bindings(tls_connection.sock.getpeercert(True))
    assert raw_ntlm_login(tls_connection, PATH, bindings).status == 200
    negotiate = spnego.client(*ADMIN, protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm).step()
    tls_connection.request("GET", PATH, headers={"Authorization": "NTLM " + base64.b64encode(negotiate).decode()})
    challenge = tls_connection.getresponse()
    challenge.read()
    assert challenge.status == 401 and challenge.getheader("WWW-Authenticate").startswith("NTLM ")
    tls_connection.request("GET", PATH)  # the old login is gone
    response = tls_connection.getresponse()
    response.read()
    assert response.status == 401


# ---- the admin side door -----------------------------------------------------------------------

def test_admin_side_door(emu):
    before = len(emu.exchanges())
    everything = emu.admin("GET", "requests")
    assert everything.status_code == 200 and len(everything.json()) == SEEDED_COUNT
    assert list(everything.json()[0]) == FIELDS
    assert emu.admin("GET", f"requests/{EXAMPLE.upper()}").json()["Uuid"] == EXAMPLE
    assert emu.admin("GET", f"requests/{UNKNOWN}").status_code == 404
    assert emu.admin("GET", "no-such-switch").status_code == 404
    assert emu.call("PUT", f"requests/{EXAMPLE}", json={"status": "Canceled"}).status_code == 200
    assert emu.stored_request(EXAMPLE)["Status"] == 17
    assert emu.admin("POST", "reset").status_code == 204
    assert emu.stored_request(EXAMPLE)["Status"] == 3
    assert {e["path"].split("/")[1] for e in emu.exchanges()[before:]} == {"CertificateManagement"}
    logged = emu.admin("GET", "exchanges")
    assert logged.status_code == 200 and logged.json() == emu.exchanges() and logged.json()[-1]["method"] == "PUT"


# ---- fault injection ---------------------------------------------------------------------------

def last_call(emulator):
    """The last logged API call (not an authentication leg)."""
    return emulator.api_calls()[-1]


def logged_in(emulator, user=ADMIN):
    """A session whose connection has logged in already, so the next call is one exchange."""
    session = emulator.session(user)
    assert emulator.call("GET", f"requests/{EXAMPLE}", session=session).status_code == 200
    return session


def complete_example(emulator, session=None, **kwargs):
    return emulator.call("PUT", f"requests/{EXAMPLE}", session=session, json={"status": "Completed"}, **kwargs)


def test_fault_rules_from_the_command_line(start):
    emulator = start("--fault", json.dumps({"kind": "status", "code": 503, "method": "GET"}),
                     "--fault", json.dumps([{"kind": "latency", "seconds": 0, "times": 0}]))
    assert [(r["kind"], r["remaining"], r["hits"]) for r in emulator.faults()] == [("status", 1, 0), ("latency", None, 0)]
    session = emulator.session()
    assert [emulator.call("GET", f"requests/{EXAMPLE}", session=session).status_code for _call in range(2)] == [503, 200]
    assert [(r["remaining"], r["hits"], r["matched"]) for r in emulator.faults()] == [(0, 1, 1), (None, 1, 1)]
    assert [(e["status"], e["fault"]) for e in emulator.exchanges()] == [(401, None), (401, None), (503, "status"), (200, "latency")]


def test_bad_fault_rule_on_the_command_line_exits_2(tmp_path):
    result = subprocess.run([*EMULATOR_COMMAND, "--state-dir", str(tmp_path / "state"), "--fault", '{"kind": "status"}'],
                            capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 2 and result.stdout == "" and "a status rule needs code" in result.stderr


def test_admin_fault_endpoints(emu):
    before = len(emu.exchanges())
    assert emu.faults() == []
    added = emu.inject({"kind": "reset_before", "method": "put", "path_contains": "5EED"})
    assert added == [{"kind": "reset_before", "method": "PUT", "path_contains": "5EED", "times": 1, "rate": None, "seed": 0,
                      "hits": 0, "matched": 0, "remaining": 1}]
    added = emu.inject([{"kind": "status", "code": 503, "rate": 0.5, "seed": 3}, {"kind": "html", "code": 200, "times": 0, "_why": "a note"}])
    assert [(r["kind"], r["times"], r["remaining"]) for r in added] == [("reset_before", 1, 1), ("status", 0, None), ("html", 0, None)]
    assert (added[1]["body"], added[1]["retry_after"], added[1]["seed"]) == ("html", None, 3)
    for bad, reason in (({"kind": "explode"}, "kind must be one of"), ({"kind": "status"}, "needs code"),
                        ({"kind": "status", "code": 200}, "code must be"), ({"kind": "latency", "seconds": -1}, "seconds must be"),
                        ({"kind": "reset_after", "time": 2}, "unknown keys"), ({"kind": "stall", "seconds": 1, "process": "never"}, "process"),
                        ({"kind": "truncated", "rate": 2}, "rate must be"), ({"kind": "truncated", "times": -1}, "times must be"),
                        ([{"kind": "truncated"}, {"kind": "html"}], "rule 1: a html rule needs code"), ("x", "JSON object")):
        with pytest.raises(ValueError, match=reason):
            emu.inject(bad)
    assert len(emu.faults()) == 3  # nothing of a refused list was added
    emu.clear_faults()
    assert emu.faults() == []
    emu.inject({"kind": "truncated"})
    emu.reset()  # POST /_emulator/reset forgets the rules too
    assert emu.faults() == []
    assert emu.in_flight() == 0
    assert len(emu.exchanges()) == before  # the admin door is not logged


def test_faults_spare_the_ntlm_legs(emu):
    emu.inject({"kind": "status", "code": 503, "times": 0})
    before = len(emu.exchanges())
    response = emu.call("GET", f"requests/{EXAMPLE}")  # a new connection: two 401 legs, then the call
    assert response.status_code == 503 and [r.status_code for r in response.history] == [401, 401]
    log = emu.exchanges()[before:]
    assert [(e["status"], e["auth_leg"], e["fault"]) for e in log] == [(401, True, None), (401, True, None), (503, False, "status")]


def test_rules_match_method_and_path_first_match_wins(emu):
    emu.inject([{"kind": "status", "code": 502, "method": "PUT", "path_contains": "5eed0016", "times": 0},
                {"kind": "status", "code": 503, "path_contains": "5EED", "times": 0},
                {"kind": "status", "code": 504, "path_contains": "status=pending"}])
    session = logged_in(emu)
    pending = f"requests/{BY_STATUS[16].upper()}"
    statuses = [
        emu.call("PUT", pending, session=session, json={"status": "Canceled"}).status_code,  # rule 0 (path any case)
        emu.call("GET", pending, session=session).status_code,  # rule 0 wants PUT: rule 1
        emu.call("GET", f"requests/{EXAMPLE}", session=session).status_code,  # no rule
        emu.call("GET", "requests", session=session, params={"status": "Pending"}).status_code,  # rule 2 (the query counts)
        emu.call("GET", "requests", session=session, params={"status": "Pending"}).status_code,  # rule 2 used up
    ]
    assert statuses == [502, 503, 200, 504, 200]
    assert [(r["hits"], r["remaining"]) for r in emu.faults()] == [(1, None), (1, None), (1, 0)]
    assert emu.stored_request(BY_STATUS[16])["Status"] == 16


def test_times_and_rate_are_deterministic(emu):
    session = logged_in(emu)

    def pattern(rule, calls=16):
        emu.clear_faults()
        emu.inject(rule)
        return [emu.call("GET", f"requests/{EXAMPLE}", session=session).status_code for _call in range(calls)]

    def draws(seed, rate=0.5, calls=16):
        generator = random.Random(seed)  # the n-th matching call is hit when the n-th draw is below the rate
        return [503 if generator.random() < rate else 200 for _draw in range(calls)]

    rate = {"kind": "status", "code": 503, "rate": 0.5, "seed": 42}
    first = pattern(rate)
    assert first == pattern(rate) == draws(42) and set(first) == {200, 503}
    assert pattern(dict(rate, seed=7)) == draws(7) != first
    assert pattern(dict(rate, seed="a string")) == draws("a string")
    assert pattern({"kind": "status", "code": 503, "rate": 0.5}) == draws(0)  # seed 0 by default
    assert pattern(dict(rate, times=2)) == [200, 503, 503] + [200] * 13  # a rate, and at most 2 hits
    assert pattern(dict(rate, rate=0)) == [200] * 16 and pattern(dict(rate, rate=1)) == [503] * 16
    assert pattern({"kind": "status", "code": 500, "times": 3}, 5) == [500, 500, 500, 200, 200]
    assert pattern({"kind": "status", "code": 500, "times": 0}, 5) == [500] * 5
    assert [(r["matched"], r["hits"]) for r in emu.faults()] == [(5, 5)]


def test_latency_fault_delays_then_answers(emu):
    session = logged_in(emu)
    emu.inject({"kind": "latency", "seconds": 0.3, "method": "GET"})
    started = time.monotonic()
    response = emu.call("GET", f"requests/{EXAMPLE}", session=session)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200 and response.json()["Uuid"] == EXAMPLE
    assert (last_call(emu)["fault"], last_call(emu)["status"], last_call(emu)["applied"]) == ("latency", 200, False)


@pytest.mark.parametrize("kind, applied", [("reset_before", False), ("reset_after", True)])
def test_reset_faults(emu, kind, applied):
    before = len(emu.exchanges())
    session = logged_in(emu)
    emu.inject({"kind": kind, "method": "PUT"})
    with pytest.raises(requests.exceptions.ConnectionError):
        complete_example(emu, session)
    assert emu.stored_request(EXAMPLE)["Status"] == (8 if applied else 3)
    line = last_call(emu)
    assert (line["method"], line["status"], line["fault"], line["applied"], line["body"]) == ("PUT", None, kind, applied, {"status": "Completed"})
    assert emu.applied_puts(EXAMPLE.upper(), since=before) == int(applied)
    # The session opens a new connection (and logs in again); the rule is used up.
    retry = complete_example(emu, session)
    assert retry.status_code == (500 if applied else 200)  # a second Completed is refused once the first was applied
    assert emu.applied_puts(EXAMPLE, since=before) == 1 and emu.applied_puts(since=before) == 1
    assert emu.applied_puts(BY_STATUS[16], since=before) == 0
    assert len({e["connection"] for e in emu.exchanges()[before:]}) == 2


def test_reset_after_a_post_creates_the_request(emu):
    emu.inject({"kind": "reset_after", "method": "POST"})
    with pytest.raises(requests.exceptions.ConnectionError):
        emu.call("POST", "requests", json={"profiletemplateuuid": TEMPLATE, "type": "Enroll"})
    assert len(emu.admin("GET", "requests").json()) == SEEDED_COUNT + 1
    assert (last_call(emu)["status"], last_call(emu)["applied"]) == (None, True)


def test_reset_is_a_tcp_reset(start):
    """Over plain HTTP the client sees the RST itself (over TLS, Python's ssl reports it as an EOF)."""
    emulator = start("--plain-http")
    session = logged_in(emulator)
    emulator.inject({"kind": "reset_before"})
    with pytest.raises(requests.exceptions.ConnectionError, match="Connection reset by peer"):
        emulator.call("GET", f"requests/{EXAMPLE}", session=session)


@pytest.mark.parametrize("rule, content_type", [
    ({"code": 500}, "application/json"),
    ({"code": 502}, "text/html"),
    ({"code": 503, "retry_after": 7}, "text/html"),
    ({"code": 503, "retry_after": 2, "body": "json"}, "application/json"),
    ({"code": 504, "body": "html"}, "text/html"),
    ({"code": 429, "retry_after": "Wed, 21 Oct 2026 07:28:00 GMT"}, "text/html"),
], ids=["500", "502", "503-retry-after", "503-json", "504", "429-date"])
def test_status_fault_answers_instead_of_the_api(emu, rule, content_type):
    emu.inject(dict(rule, kind="status", method="PUT"))
    response = complete_example(emu)
    assert response.status_code == rule["code"] and response.headers["Content-Type"].startswith(content_type)
    assert response.headers.get("Retry-After") == (None if "retry_after" not in rule else str(rule["retry_after"]))
    if rule["code"] == 500:
        match = CORRELATION.match(response.json()["Message"])
        assert match and match.group(1) in emu.stderr()
    elif content_type == "text/html":
        assert response.text.startswith("<!DOCTYPE html") and str(rule["code"]) in response.text
    else:
        assert response.json()["Message"].startswith("503 Service Unavailable")
    assert emu.stored_request(EXAMPLE)["Status"] == 3
    assert (last_call(emu)["status"], last_call(emu)["fault"], last_call(emu)["applied"]) == (rule["code"], "status", False)
    assert complete_example(emu).status_code == 200  # the connection stays usable, the rule is used up


@pytest.mark.parametrize("code", [200, 500])
def test_html_fault_answers_an_error_page_and_changes_nothing(emu, code):
    emu.inject({"kind": "html", "code": code})
    response = complete_example(emu)
    assert response.status_code == code and response.headers["Content-Type"] == "text/html"
    assert response.text.startswith("<!DOCTYPE html") and "Server Error" in response.text
    assert emu.stored_request(EXAMPLE)["Status"] == 3
    assert (last_call(emu)["status"], last_call(emu)["fault"], last_call(emu)["applied"]) == (code, "html", False)


def test_malformed_json_applies_and_answers_200_with_a_body_that_is_not_json(emu):
    emu.inject([{"kind": "malformed_json", "method": "PUT"}, {"kind": "malformed_json", "method": "GET"}])
    session = emu.session()
    response = complete_example(emu, session)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(ValueError):
        response.json()
    assert f"'Uuid':'{EXAMPLE}'" in response.text  # the real answer, with single quotes
    assert emu.stored_request(EXAMPLE)["Status"] == 8
    assert (last_call(emu)["status"], last_call(emu)["fault"], last_call(emu)["applied"]) == (200, "malformed_json", True)
    empty = emu.call("GET", f"requests/{UNKNOWN}", session=session)  # a 204 becomes a 200 with a body that is not JSON either
    assert empty.status_code == 200 and empty.content
    with pytest.raises(ValueError):
        empty.json()


def test_truncated_applies_and_cuts_the_body(emu):
    emu.inject({"kind": "truncated", "method": "PUT"})
    response = complete_example(emu, stream=True)
    assert response.status_code == 200
    length = int(response.headers["Content-Length"])
    with pytest.raises(urllib3.exceptions.ProtocolError, match=r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)") as cut:
        response.raw.read()
    received, missing = map(int, re.search(r"(\d+) bytes read, (\d+) more", str(cut.value)).groups())
    assert received > 0 and missing > 0 and received + missing == length
    assert emu.stored_request(EXAMPLE)["Status"] == 8
    assert (last_call(emu)["status"], last_call(emu)["fault"], last_call(emu)["applied"]) == (200, "truncated", True)
    emu.inject([{"kind": "truncated", "method": "PUT"}, {"kind": "truncated", "method": "GET"}])
    with pytest.raises(requests.exceptions.ChunkedEncodingError):  # what requests raises for a body cut short
        emu.call("PUT", f"requests/{BY_STATUS[16]}", json={"status": "Canceled"})
    with pytest.raises(requests.exceptions.ConnectionError):  # a 204 is cut inside its status line
        emu.call("GET", f"requests/{UNKNOWN}")
    assert emu.stored_request(BY_STATUS[16])["Status"] == 17


def test_stall_outlasts_the_client_and_is_processed(emu):
    """process "before": applied (and logged) at once, then the stall; "after" (the default): the stall, then applied."""
    before = len(emu.exchanges())
    emu.inject([{"kind": "stall", "seconds": 1.2, "process": "before", "method": "PUT", "path_contains": EXAMPLE},
                {"kind": "stall", "seconds": 1.2, "method": "PUT", "path_contains": BY_STATUS[16]}])
    session = logged_in(emu)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.put(emu.api + f"requests/{EXAMPLE}", json={"status": "Canceled"}, verify=emu.verify, timeout=(10, 0.3))
    assert emu.stored_request(EXAMPLE)["Status"] == 17 and emu.applied_puts(EXAMPLE, since=before) == 1
    session = logged_in(emu)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.put(emu.api + f"requests/{BY_STATUS[16]}", json={"status": "Canceled"}, verify=emu.verify, timeout=(10, 0.3))
    assert emu.in_flight() == 2  # both still stall
    assert emu.stored_request(BY_STATUS[16])["Status"] == 16 and emu.applied_puts(BY_STATUS[16], since=before) == 0
    emu.wait_idle()
    assert emu.stored_request(BY_STATUS[16])["Status"] == 17
    stalled = [e for e in emu.exchanges()[before:] if e["fault"]]
    assert [(e["path"].rsplit("/", 1)[1], e["status"], e["fault"], e["applied"]) for e in stalled] == [
        (EXAMPLE, 200, "stall", True), (BY_STATUS[16], 200, "stall", True)]
    assert emu.applied_puts(since=before) == 2
    assert "processed after the stall" in emu.stderr() and "processed before the stall" in emu.stderr()


def test_a_stall_shorter_than_the_timeout_is_just_slow(emu):
    session = logged_in(emu)
    emu.inject({"kind": "stall", "seconds": 0.2})
    started = time.monotonic()
    assert complete_example(emu, session).status_code == 200
    assert time.monotonic() - started >= 0.2 and emu.stored_request(EXAMPLE)["Status"] == 8


def test_latency_ms_delays_every_exchange_including_401_legs(start):
    emulator = start("--plain-http", "--latency-ms", "100")
    started = time.monotonic()
    assert emulator.call("GET", f"requests/{EXAMPLE}").status_code == 200
    assert time.monotonic() - started >= 0.3  # three exchanges: 401, 401, 200
    assert [(e["status"], e["fault"]) for e in emulator.exchanges()] == [(401, None), (401, None), (200, None)]


# ---- hostile servers: redirect, trickle, oversize, raw -----------------------------------------

OTHER_HOST = "https://127.0.0.2:8443/CertificateManagement/api/v1.0/requests"


def test_redirect_answers_the_very_first_request_before_any_login(emu):
    emu.inject({"kind": "redirect", "code": 302, "location": OTHER_HOST})
    before = len(emu.exchanges())
    response = emu.call("GET", f"requests/{EXAMPLE}", allow_redirects=False)
    assert response.status_code == 302 and response.history == []  # no 401 leg first: no login was asked for
    assert response.headers["Location"] == OTHER_HOST and response.headers["Content-Type"] == "text/html"
    assert f'<a HREF="{OTHER_HOST}">here</a>' in response.text and "Object moved" in response.text
    assert [(e["status"], e["auth_leg"], e["authorization"], e["user"], e["fault"], e["applied"]) for e in emu.exchanges()[before:]] == [
        (302, False, False, None, "redirect", False)]
    # Used up: the next call logs in as usual.
    assert [r.status_code for r in emu.call("GET", f"requests/{EXAMPLE}").history] == [401, 401]


@pytest.mark.parametrize("code", [301, 303, 307, 308])
def test_redirect_after_login_replaces_the_answer_and_changes_nothing(emu, code):
    session = logged_in(emu)
    emu.inject({"kind": "redirect", "code": code, "location": "http://127.0.0.2/elsewhere", "before_auth": False, "method": "PUT"})
    response = complete_example(emu, session, allow_redirects=False)
    assert (response.status_code, response.headers["Location"]) == (code, "http://127.0.0.2/elsewhere")
    assert emu.stored_request(EXAMPLE)["Status"] == 3
    line = last_call(emu)
    assert (line["status"], line["auth_leg"], line["user"], line["fault"], line["applied"]) == (code, False, ADMIN[0], "redirect", False)
    assert emu.faults()[0]["before_auth"] is False


def test_trickle_sends_the_real_answer_a_few_bytes_at_a_time(emu):
    session = logged_in(emu)
    whole = emu.call("GET", f"requests/{EXAMPLE}", session=session).content
    emu.inject({"kind": "trickle", "interval": 0.15, "chunk": 200, "method": "GET"})
    started = time.monotonic()
    # Each read waits at most 0.15 s, so a 1 s read timeout never fires; only a deadline on the whole answer would.
    response = emu.call("GET", f"requests/{EXAMPLE}", session=session, timeout=(10, 1))
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.content == whole
    assert int(response.headers["Content-Length"]) == len(whole)
    assert elapsed >= 0.15 * ((len(whole) - 1) // 200)  # a pause after every chunk but the last
    assert (last_call(emu)["status"], last_call(emu)["fault"], last_call(emu)["applied"]) == (200, "trickle", False)
    assert emu.faults()[0]["interval"] == 0.15 and emu.faults()[0]["chunk"] == 200


def test_trickle_applies_a_put_and_survives_a_client_that_hangs_up(emu):
    emu.inject({"kind": "trickle", "method": "PUT"})  # defaults: 1 byte a second
    assert (emu.faults()[0]["interval"], emu.faults()[0]["chunk"]) == (1.0, 1)
    response = complete_example(emu, stream=True)
    assert response.status_code == 200 and response.raw.read(1) == b"{"
    response.close()  # the client gives up; the server notices at its next write
    emu.wait_idle()
    assert emu.stored_request(EXAMPLE)["Status"] == 8
    assert (last_call(emu)["fault"], last_call(emu)["applied"]) == ("trickle", True)
    assert "client hung up after" in emu.stderr()


@pytest.mark.parametrize("size", [2, 3, 4, 5, 6, 7, 70001, 1_000_003])
def test_oversize_sends_a_valid_json_array_of_exactly_that_size(emu, size):
    emu.inject({"kind": "oversize", "bytes": size, "method": "PUT"})
    response = complete_example(emu)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.content) == size
    padding = response.json()
    assert isinstance(padding, list) and all(set(item) <= {"x"} for item in padding)
    assert emu.stored_request(EXAMPLE)["Status"] == 3  # the API never saw the PUT
    assert (last_call(emu)["status"], last_call(emu)["fault"], last_call(emu)["applied"]) == (200, "oversize", False)


def peak_memory_kib(pid):
    """The process's peak resident set size (VmHWM) in KiB, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))


def test_oversize_is_streamed_not_built_in_memory(emu):
    emu.inject({"kind": "oversize", "bytes": 64 << 20})
    before = peak_memory_kib(emu.proc.pid)
    response = emu.call("GET", "requests", stream=True)
    received = sum(len(piece) for piece in response.iter_content(1 << 20))
    assert received == 64 << 20
    assert peak_memory_kib(emu.proc.pid) - before < 16 << 10  # 64 MiB sent, well under 16 MiB more memory at the peak


def test_oversize_endless_is_chunked_and_ends_when_the_client_hangs_up(emu):
    emu.inject({"kind": "oversize", "endless": True})
    response = emu.call("GET", "requests", stream=True)
    assert response.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in response.headers
    received = b""
    for piece in response.iter_content(1 << 20):
        received += piece
        if len(received) > 8 << 20:
            break
    assert received.startswith(b'["xxxx') and len(received) > 8 << 20
    response.close()
    emu.wait_idle()
    assert "client hung up after" in emu.stderr()
    assert (last_call(emu)["status"], last_call(emu)["fault"]) == (200, "oversize")


ANOTHER = BY_STATUS[8]


@pytest.mark.parametrize("rule, expected_type", [
    ({"code": 200, "body": '{"Uuid": "%s", "Status": 8}' % ANOTHER}, "application/json"),  # another request's object
    ({"code": 200, "body": '{"Status": 8}'}, "application/json"),  # an object without Uuid
    ({"code": 200, "body": '{"Uuid": "%s", "Status": 3, "Status": 8}' % EXAMPLE}, "application/json"),  # duplicate keys
    ({"code": 200, "body": "[" * 100000 + "]" * 100000}, "application/json"),  # absurd nesting
    ({"code": 500, "body": '{"Message": "login failed for CONTOSO\\\\cmadmin with P\u00e4ssw0rd!"}'}, "application/json"),
    ({"code": 400, "body": "bad password P\u00e4ssw0rd!", "content_type": "text/plain"}, "text/plain"),
    ({"code": 404, "body": "<html><body>404 Not Found</body></html>", "content_type": "text/html"}, "text/html"),
    ({"code": 401, "body": "<html>401</html>", "content_type": "text/html", "headers": {"X-Hostile": "yes"}}, "text/html"),
], ids=["other-object", "no-uuid", "duplicate-keys", "nesting", "echo-json", "echo-text", "html-404", "html-401"])
def test_raw_sends_exactly_the_body_it_is_given_and_changes_nothing(emu, rule, expected_type):
    emu.inject(dict(rule, kind="raw", method="GET", path_contains=EXAMPLE))
    response = emu.call("GET", f"requests/{EXAMPLE}", stream=True)
    body = response.raw.read()
    assert response.status_code == rule["code"] and body == rule["body"].encode("utf-8")
    assert response.headers["Content-Type"] == expected_type and int(response.headers["Content-Length"]) == len(body)
    assert response.headers.get("X-Hostile") == rule.get("headers", {}).get("X-Hostile")
    assert (last_call(emu)["status"], last_call(emu)["fault"], last_call(emu)["applied"]) == (rule["code"], "raw", False)
    assert emu.faults()[0]["process"] == "none"


@pytest.mark.parametrize("process, status", [("none", 3), ("before", 8)])
def test_raw_process_before_applies_the_put_then_answers(emu, process, status):
    emu.inject({"kind": "raw", "code": 200, "body": '{"Uuid": "%s", "Status": 3}' % EXAMPLE, "process": process, "method": "PUT"})
    response = complete_example(emu)
    assert response.status_code == 200 and response.json() == {"Uuid": EXAMPLE, "Status": 3}
    assert emu.stored_request(EXAMPLE)["Status"] == status
    assert (last_call(emu)["fault"], last_call(emu)["applied"]) == ("raw", process == "before")


def test_raw_without_a_body_and_an_interim_answer(emu):
    session = logged_in(emu)
    emu.inject([{"kind": "raw", "code": 204}, {"kind": "raw", "code": 100}])
    response = emu.call("GET", f"requests/{EXAMPLE}", session=session)
    assert response.status_code == 204 and response.content == b"" and "Content-Length" not in response.headers
    with pytest.raises(requests.exceptions.ConnectionError):  # a 100 Continue and then nothing: the connection closes
        emu.call("GET", f"requests/{EXAMPLE}", session=session)


def test_new_fault_kinds_refuse_bad_parameters(emu):
    for bad, reason in (
            ({"kind": "redirect", "location": OTHER_HOST}, "needs code"),
            ({"kind": "redirect", "code": 302}, "needs location"),
            ({"kind": "redirect", "code": 304, "location": OTHER_HOST}, "code must be one of 301, 302, 303, 307, 308"),
            ({"kind": "redirect", "code": 302, "location": "/relative"}, "absolute"),
            ({"kind": "redirect", "code": 302, "location": "https://127.0.0.2/\r\nX: y"}, "absolute"),
            ({"kind": "redirect", "code": 302, "location": OTHER_HOST, "before_auth": "yes"}, "before_auth"),
            ({"kind": "trickle", "interval": -1}, "interval must be"),
            ({"kind": "trickle", "chunk": 0}, "chunk must be"),
            ({"kind": "oversize"}, "either bytes or endless"),
            ({"kind": "oversize", "bytes": 10, "endless": True}, "either bytes or endless"),
            ({"kind": "oversize", "bytes": 1}, "bytes must be"),
            ({"kind": "oversize", "endless": "yes"}, "endless must be"),
            ({"kind": "raw", "body": "x"}, "needs code"),
            ({"kind": "raw", "code": 99}, "code must be"),
            ({"kind": "raw", "code": 204, "body": "x"}, "has no body"),
            ({"kind": "raw", "code": 200, "body": 5}, "body must be a string"),
            ({"kind": "raw", "code": 200, "headers": {"X-A": "1\r\n"}}, "headers must be"),
            ({"kind": "raw", "code": 200, "headers": {"Content-Length": "1"}}, "must not set Content-Length"),
            ({"kind": "raw", "code": 200, "content_type": ""}, "content_type must be"),
            ({"kind": "raw", "code": 200, "process": "after"}, "process must be"),
    ):
        with pytest.raises(ValueError, match=reason):
            emu.inject(bad)
    assert emu.faults() == []


# ---- TLS switches ------------------------------------------------------------------------------

def test_cert_hostname_gives_a_hostname_mismatch_with_a_trusted_ca(start):
    emulator = start("--cert-hostname", "cm.example.com", "--cert-hostname", "cm-alt.example.com")
    assert emulator.url.startswith("https://127.0.0.1:")
    with pytest.raises(requests.exceptions.SSLError, match="mismatch|match"):
        emulator.call("GET", f"requests/{EXAMPLE}")
    # The CA is trusted: without the name check the chain verifies, and the certificate names only the given hosts.
    context = ssl.create_default_context(cafile=emulator.ca_path)
    context.check_hostname = False
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as raw, context.wrap_socket(raw) as tls:
        names = [value for _kind, value in tls.getpeercert()["subjectAltName"]]
    assert names == ["cm.example.com", "cm-alt.example.com"]
    assert "--cert-hostname" not in emulator.stderr() and "cm.example.com" in emulator.stderr()


def test_cert_hostname_needs_tls(tmp_path):
    result = subprocess.run([*EMULATOR_COMMAND, "--state-dir", str(tmp_path / "state"), "--plain-http", "--cert-hostname", "cm.example.com"],
                            capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 2 and "--cert-hostname needs TLS" in result.stderr


def test_ca_bundle_holds_an_unrelated_ca_then_the_test_ca(shared, tmp_path):
    bundle = Path(shared.ca_bundle_path).read_text(encoding="ascii")
    assert bundle.count("-----BEGIN CERTIFICATE-----") == 2 and bundle.endswith(Path(shared.ca_path).read_text(encoding="ascii"))
    url = shared.api + f"requests/{EXAMPLE}"
    assert shared.session().get(url, verify=shared.ca_bundle_path, timeout=10).status_code == 200
    first_only = tmp_path / "first.pem"
    first_only.write_text(bundle[:bundle.index("-----BEGIN CERTIFICATE-----", 1)], encoding="ascii")
    with pytest.raises(requests.exceptions.SSLError):  # the bundle works because of its second certificate
        shared.session().get(url, verify=str(first_only), timeout=10)


WRONG_BINDINGS = GssChannelBindings(application_data=b"tls-server-end-point:" + b"\x01" * 32)


@pytest.mark.parametrize("options, expected", [
    ((), {"right": 200, "wrong": 401, "none": 401}),
    (("--channel-binding", "require"), {"right": 200, "wrong": 401, "none": 401}),
    (("--channel-binding", "accept"), {"right": 200, "wrong": 401, "none": 200}),
    (("--channel-binding", "off"), {"right": 200, "wrong": 200, "none": 200}),
], ids=["default", "require", "accept", "off"])
def test_channel_binding_modes(start, options, expected):
    emulator = start(*options)
    context = ssl.create_default_context(cafile=emulator.ca_path)
    outcome = {}
    for name in expected:
        connection = http.client.HTTPSConnection("127.0.0.1", emulator.port, context=context, timeout=10)
        connection.connect()
        bindings = {"right": end_point_bindings(connection.sock.getpeercert(True)), "wrong": WRONG_BINDINGS, "none": None}[name]
        outcome[name] = raw_ntlm_login(connection, PATH, bindings).status
        connection.close()
    assert outcome == expected
    assert emulator.call("GET", f"requests/{EXAMPLE}").status_code == 200  # requests-ntlm sends the right bindings
    if expected["none"] == 401:
        assert "channel bindings are required" in emulator.stderr()


def test_sent_bindings_are_read_from_the_ntlm_authenticate_message(monkeypatch):
    monkeypatch.setenv("NTLM_USER_FILE", str(USERS_FILE))

    def authenticate(bindings):
        client = spnego.client(*ADMIN, protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm, channel_bindings=bindings)
        server = spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
        return client.step(server.step(client.step()))

    with_bindings = authenticate(WRONG_BINDINGS)
    digest = hashlib.md5(WRONG_BINDINGS.pack()).digest()  # noqa: S324 - MS-NLMP's hash, not a security choice
    assert auth.ntlm_sent_bindings(with_bindings) == digest
    assert auth.ntlm_sent_bindings(authenticate(None)) is None
    assert auth.ntlm_sent_bindings(with_bindings.replace(digest, b"\0" * 16)) is None  # all zero: none given
    assert auth.ntlm_sent_bindings(b"NTLMSSP\0\3\0\0\0") is None


# ---- --auth: which schemes are offered; Negotiate (SPNEGO) with NTLM inside, and Kerberos with a real KDC ----

try:
    # conftest.py puts the mim.cm repository's tests/kdc on sys.path when it is there.
    import kdc as kdc_module  # noqa: E402 pylint: disable=wrong-import-position,wrong-import-order
except ImportError:
    kdc_module = None  # pylint: disable=invalid-name

if kdc_module is None:
    KERBEROS_SKIP = "the Kerberos tests need the KDC helper of the mim.cm repository (tests/kdc/kdc.py)"
else:
    KERBEROS_SKIP = kdc_module.unavailable_reason(os.environ.get("MIM_CM_KERBEROS_INSTALL_LOG"))
needs_kdc = pytest.mark.skipif(KERBEROS_SKIP is not None, reason=KERBEROS_SKIP or "")
KRB_ADMIN = (f"cmadmin@{kdc_module.REALM}", kdc_module.USERS["cmadmin"]) if kdc_module else None


def connect(emulator, host="127.0.0.1"):
    """An http.client connection to the emulator over TLS (trusting its CA) and the channel bindings of its certificate."""
    connection = http.client.HTTPSConnection(host, emulator.port, context=ssl.create_default_context(cafile=emulator.verify), timeout=10)
    connection.connect()
    return connection, end_point_bindings(connection.sock.getpeercert(True))


def negotiate_login(connection, client, path=PATH):
    """Run a Negotiate handshake by hand with a pyspnego client; return (final response, its Negotiate token or None).

    Every leg's token goes out under Negotiate; the server's final token, when it sends one with a non-401
    answer, is given to the client (mutual authentication, the SPNEGO mechListMIC).
    """
    token = client.step()
    while True:
        connection.request("GET", path, headers={"Authorization": "Negotiate " + base64.b64encode(token).decode()})
        response = connection.getresponse()
        response.read()
        headers = response.headers.get_all("WWW-Authenticate") or []
        server_token = next((base64.b64decode(value.split(" ", 1)[1]) for value in headers if value.startswith("Negotiate ")), None)
        if response.status != 401 or server_token is None:
            if server_token is not None:
                client.step(server_token)
            return response, server_token
        token = client.step(server_token)


def spnego_ntlm_client(bindings, user=ADMIN):
    """A pyspnego Negotiate client that can only use NTLM inside SPNEGO (Kerberos is left out on purpose)."""
    return spnego.client(*user, hostname="127.0.0.1", service="HTTP", protocol="negotiate", channel_bindings=bindings,
                         options=spnego.NegotiateOptions.use_negotiate)


@pytest.fixture
def no_kerberos(monkeypatch, tmp_path):
    """Kerberos cannot work for in-process clients: no krb5.conf, an empty ticket cache (pyspnego's Negotiate falls back to NTLM)."""
    monkeypatch.setenv("KRB5_CONFIG", str(tmp_path / "no-krb5.conf"))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ccache'}")


def test_auth_ntlm_offers_only_ntlm_and_refuses_negotiate(start):
    emulator = start("--auth", "ntlm")
    response = requests.get(emulator.api + f"requests/{EXAMPLE}", verify=emulator.verify, timeout=10)
    assert response.status_code == 401 and response.raw.headers.getlist("WWW-Authenticate") == ["NTLM"]
    assert emulator.call("GET", f"requests/{EXAMPLE}").status_code == 200  # requests-ntlm, raw NTLM under NTLM
    connection, bindings = connect(emulator)
    assert raw_ntlm_login(connection, PATH, bindings, scheme="NTLM").status == 200
    negotiate = spnego.client(*ADMIN, protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm).step()
    connection.request("GET", PATH, headers={"Authorization": "Negotiate " + base64.b64encode(negotiate).decode()})
    refused = connection.getresponse()
    refused.read()
    assert refused.status == 401 and refused.getheader("WWW-Authenticate") == "NTLM"
    connection.close()
    assert "the Negotiate scheme is not offered (--auth offers NTLM)" in emulator.stderr()


def test_auth_negotiate_offers_only_negotiate_and_takes_raw_ntlm_too(start):
    emulator = start("--auth", "negotiate")
    response = requests.get(emulator.api + f"requests/{EXAMPLE}", verify=emulator.verify, timeout=10)
    assert response.raw.headers.getlist("WWW-Authenticate") == ["Negotiate"]
    assert emulator.call("GET", f"requests/{EXAMPLE}").status_code == 200  # requests-ntlm: raw NTLM under Negotiate, as IIS takes it
    connection, dummy = connect(emulator)
    negotiate = spnego.client(*ADMIN, protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm).step()
    connection.request("GET", PATH, headers={"Authorization": "NTLM " + base64.b64encode(negotiate).decode()})
    refused = connection.getresponse()
    refused.read()
    connection.close()
    assert refused.status == 401 and refused.getheader("WWW-Authenticate") == "Negotiate"  # the NTLM scheme is not offered
    assert [e["mechanism"] for e in emulator.exchanges() if e["user"]] == ["ntlm"]


@pytest.mark.parametrize("mode, expected", [
    ("require", {"right": 200, "wrong": 401, "none": 401}),
    ("accept", {"right": 200, "wrong": 401, "none": 200}),
    ("off", {"right": 200, "wrong": 200, "none": 200}),
])
def test_ntlm_inside_spnego_with_channel_bindings(start, no_kerberos, mode, expected):  # pylint: disable=unused-argument
    emulator = start("--auth", "negotiate", "--channel-binding", mode)
    outcome = {}
    for name in expected:
        connection, right = connect(emulator)
        client = spnego_ntlm_client({"right": right, "wrong": WRONG_BINDINGS, "none": None}[name])
        response, final_token = negotiate_login(connection, client)
        outcome[name] = response.status
        if response.status == 200:
            assert final_token is not None and client.complete, "the final NegTokenResp (accept-completed, with the MIC) was checked"
            assert client.negotiated_protocol == "ntlm"
            connection.request("GET", PATH)  # the connection stays authenticated
            again = connection.getresponse()
            again.read()
            assert again.status == 200
        connection.close()
    assert outcome == expected
    logged_in = [e for e in emulator.exchanges() if e["user"]]
    assert {(e["mechanism"], e["user"]) for e in logged_in} == {("ntlm", "CONTOSO\\cmadmin")}
    # Two legs for NTLM inside SPNEGO: NegTokenInit (NEGOTIATE) -> 401 NegTokenResp (CHALLENGE) -> NegTokenResp (AUTHENTICATE).
    first = [e for e in emulator.exchanges() if e["connection"] == emulator.exchanges()[0]["connection"]]
    assert [(e["auth_leg"], e["status"], e["mechanism"]) for e in first[:2]] == [(True, 401, "ntlm"), (False, 200, "ntlm")]


def test_a_negotiate_continuation_without_a_handshake_is_refused(start):
    emulator = start("--auth", "negotiate")
    connection, dummy = connect(emulator)
    connection.request("GET", PATH, headers={"Authorization": "Negotiate oQcwBaADCgEB"})  # a NegTokenResp out of nowhere
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 401 and "without a handshake under way" in emulator.stderr()


def test_keytab_option_must_name_a_file(tmp_path):
    result = subprocess.run([*EMULATOR_COMMAND, "--state-dir", str(tmp_path / "state"), "--keytab", str(tmp_path / "nope")],
                            capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 2 and "--keytab" in result.stderr and "no such file" in result.stderr


@pytest.fixture
def kerberos_client_env(kdc, monkeypatch):
    """In-process Kerberos clients use the test KDC's krb5.conf and a cache of their own, never the user's."""
    for name, value in kdc.env().items():
        monkeypatch.setenv(name, value)


def kerberos_emulator(start, kdc, *args, keytab_option=False):
    """An emulator on localhost (SPN HTTP/localhost) with the KDC's keytab, from KRB5_KTNAME or --keytab."""
    env = kdc.emulator_env()
    if keytab_option:
        del env["KRB5_KTNAME"]
        args += ("--keytab", str(kdc.keytab))
    return start("--host", "localhost", *args, env=env)


@needs_kdc
@pytest.mark.parametrize("protocol", ["kerberos", "negotiate"])
def test_kerberos_login_with_mutual_authentication(start, kdc, kerberos_client_env, protocol):  # pylint: disable=unused-argument
    emulator = kerberos_emulator(start, kdc, keytab_option=protocol == "negotiate")
    connection, bindings = connect(emulator, "localhost")
    client = spnego.client(*KRB_ADMIN, hostname="localhost", service="HTTP", protocol=protocol, channel_bindings=bindings)
    response, final_token = negotiate_login(connection, client)
    assert response.status == 200
    assert final_token is not None and client.complete and client.negotiated_protocol == "kerberos"
    # Raw Kerberos answers with a raw AP-REP (a GSS token, 0x60); SPNEGO with a NegTokenResp (0xa1) around it.
    assert final_token[:1] == (b"\x60" if protocol == "kerberos" else b"\xa1")
    connection.request("GET", PATH)
    again = connection.getresponse()
    assert again.status == 200 and json.loads(again.read())["Uuid"] == EXAMPLE
    connection.close()
    log = emulator.exchanges()
    assert [(e["auth_leg"], e["authorization"], e["status"], e["mechanism"], e["user"]) for e in log] == [
        (False, True, 200, "kerberos", "CONTOSO\\cmadmin"), (False, False, 200, "kerberos", "CONTOSO\\cmadmin")]
    assert "Negotiate (kerberos) login as CONTOSO\\cmadmin (cmadmin@MIMCM.TEST)" in emulator.stderr()


@needs_kdc
@pytest.mark.parametrize("mode, expected", [
    ("require", {"right": 200, "wrong": 401, "none": 401}),
    ("accept", {"right": 200, "wrong": 401, "none": 200}),
    ("off", {"right": 200, "wrong": 200, "none": 200}),
])
def test_kerberos_channel_bindings(start, kdc, kerberos_client_env, mode, expected):  # pylint: disable=unused-argument
    emulator = kerberos_emulator(start, kdc, "--channel-binding", mode)
    outcome = {}
    for name in expected:
        connection, right = connect(emulator, "localhost")
        bindings = {"right": right, "wrong": WRONG_BINDINGS, "none": None}[name]
        client = spnego.client(*KRB_ADMIN, hostname="localhost", service="HTTP", protocol="kerberos", channel_bindings=bindings)
        outcome[name] = negotiate_login(connection, client)[0].status
        connection.close()
    assert outcome == expected
    if expected["none"] == 401:
        assert "the Kerberos authenticator carried none" in emulator.stderr()
    if expected["wrong"] == 401:
        assert "the Kerberos acceptor refused the AP-REQ" in emulator.stderr()


@needs_kdc
def test_kerberos_refusals(start, kdc, kerberos_client_env):  # pylint: disable=unused-argument
    both = kerberos_emulator(start, kdc)
    ntlm_only = kerberos_emulator(start, kdc, "--auth", "ntlm")
    outcome = {}
    for name, emulator, user, spn_host in (
        ("no CM account", both, (f"outsider@{kdc_module.REALM}", kdc_module.USERS["outsider"]), "localhost"),
        ("SPN not in the keytab", both, KRB_ADMIN, kdc_module.FOREIGN_SERVICE_HOST),
        ("Negotiate not offered", ntlm_only, KRB_ADMIN, "localhost"),
    ):
        connection, bindings = connect(emulator, "localhost")
        client = spnego.client(*user, hostname=spn_host, service="HTTP", protocol="kerberos", channel_bindings=bindings)
        response = negotiate_login(connection, client)[0]
        outcome[name] = (response.status, response.headers.get_all("WWW-Authenticate"))
        connection.close()
    assert outcome == {
        "no CM account": (401, ["Negotiate", "NTLM"]),
        "SPN not in the keytab": (401, ["Negotiate", "NTLM"]),
        "Negotiate not offered": (401, ["NTLM"]),
    }
    assert "the principal outsider@MIMCM.TEST has no user of that name in the users file" in both.stderr()
    assert "the Kerberos acceptor refused the AP-REQ" in both.stderr()
    assert all(e["user"] is None for e in both.exchanges() + ntlm_only.exchanges())


@needs_kdc
def test_a_read_only_kerberos_user_is_the_read_only_users_file_user(start, kdc, kerberos_client_env):  # pylint: disable=unused-argument
    emulator = kerberos_emulator(start, kdc)
    connection, bindings = connect(emulator, "localhost")
    client = spnego.client(f"cmreader@{kdc_module.REALM}", kdc_module.USERS["cmreader"], hostname="localhost", service="HTTP",
                           protocol="negotiate", channel_bindings=bindings)
    assert negotiate_login(connection, client)[0].status == 200
    connection.request("PUT", PATH, body=b'{"status": "Completed"}', headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 403
    assert emulator.exchanges()[-1]["user"] == "CONTOSO\\cmreader"
