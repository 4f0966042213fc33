"""An emulator of the MIM CM (Certificate Management) REST API, for tests and demos.

A real HTTP/1.1 server on loopback: keep-alive connections served by threads, real NTLM
authentication (a pyspnego acceptor per TCP connection, users from the NTLM_USER_FILE file),
TLS with a throw-away trustme CA and channel binding checks, the documented routes, codes,
JSON shapes and enum numbers, per-user permissions, and a JSON-lines log of every API exchange.

Written from the project's notes on the API (cm-api.md); see docs/emulator.md for how to run it.
Start it with ``python cm_emulator.py --state-dir DIR``: it prints its base URL as the first
line on stdout and writes everything else to stderr.
"""

import argparse
import base64
import binascii
import copy
import datetime
import http.server
import ipaddress
import itertools
import json
import os
import re
import signal
import socketserver
import ssl
import struct
import sys
import threading
import uuid
from urllib.parse import parse_qsl, unquote, urlsplit

import spnego
import spnego.exceptions
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from spnego.channel_bindings import GssChannelBindings

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SEED = os.path.join(HERE, "seed.json")
DEFAULT_USERS = os.path.join(HERE, "users.txt")

APP_ROOT = "/CertificateManagement"
API_ROOT = APP_ROOT + "/api/"
API_V1 = API_ROOT + "v1.0/"
ADMIN_ROOT = "/_emulator/"

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
NOT_COMPLETED = "0001-01-01T00:00:00"
SDDL_PADDING = "\u0000" * 4
DEFAULT_SDDL = (
    "O:S-1-5-21-1004336348-1177238915-682003330-512G:S-1-5-21-1004336348-1177238915-682003330-513"
    "D:(A;;CCLCSWRPWPDTLOCRRC;;;S-1-5-21-1004336348-1177238915-682003330-512)(A;;LCRPCR;;;AU)"
)

# RequestStatus numbers (cm-api.md): names go in as strings, numbers come out.
STATUS = {"None": 0, "Approved": 3, "Denied": 4, "Completed": 8, "Failed": 9, "Pending": 16, "Canceled": 17, "Executing": 18}
STATUS_NAMES = {number: name for name, number in STATUS.items()}
# RequestType names with a known number; other numbers may be seeded and are shown as they are.
REQUEST_TYPES = {"Enroll": 1, "Unblock": 5}

# PUT {"status": X}: X -> (statuses it may start from, status it leaves). Everything else is refused.
TRANSITIONS = {
    "Completed": ((STATUS["Approved"], STATUS["Executing"]), STATUS["Completed"]),
    "Canceled": ((STATUS["Pending"], STATUS["Approved"], STATUS["Executing"]), STATUS["Canceled"]),
    "Abandoned": ((STATUS["Approved"], STATUS["Executing"]), STATUS["Failed"]),
}

# The Request object: key, kind, default (the .NET default where the docs say nothing), in API order.
REQUEST_FIELDS = (
    ("Uuid", "guid", None),
    ("RequestType", "int", 0),
    ("Status", "int", 0),
    ("Flags", "int", 0),
    ("DataCollection", "datacollection", ()),
    ("DataCollectionFlags", "int", 0),
    ("OriginatorUserUuid", "guid", ZERO_GUID),
    ("TargetUserUuid", "guid", ZERO_GUID),
    ("Submitted", "date", NOT_COMPLETED),
    ("Completed", "date", NOT_COMPLETED),
    ("NewProfileUuid", "guid", ZERO_GUID),
    ("OldProfileUuid", "guid", ZERO_GUID),
    ("NewSmartcardUuid", "guid", ZERO_GUID),
    ("OldSmartcardUuid", "guid", ZERO_GUID),
    ("Priority", "byte", 0),
    ("Comment", "str", ""),
    ("ProfileTemplateUuid", "guid", ZERO_GUID),
    ("SecurityDescriptor", "sddl", DEFAULT_SDDL),
    ("IsSmartcard", "bool", False),
    ("IsEnrollmentAgent", "bool", False),
    ("IsDataCollectionComplete", "bool", False),
)
FIELD_NAMES = tuple(name for name, _kind, _default in REQUEST_FIELDS)

UNAUTHORIZED_HTML = (
    "<!DOCTYPE html>\r\n<html><head><title>401 - Unauthorized: Access is denied due to invalid credentials.</title></head>\r\n"
    "<body><h1>Server Error</h1><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>\r\n"
    "<h3>You do not have permission to view this directory or page using the credentials that you supplied.</h3></body></html>\r\n"
).encode("ascii")


def log(text):
    """Write one diagnostic line to stderr (stdout carries only the URL)."""
    sys.stderr.write(text.rstrip("\n") + "\n")
    sys.stderr.flush()


def utc_now_text(offset_seconds=0):
    """The current UTC time (plus an offset) as the server writes it: 2026-11-21T06:30:12.345Z."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


RELATIVE_TIME = re.compile(r"now((?:\s*[+-]\s*\d+\s*[dhms])*)", re.IGNORECASE)
TIME_OFFSET = re.compile(r"([+-])\s*(\d+)\s*([dhms])", re.IGNORECASE)
UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def resolve_seed_time(value):
    """A seeded date as written, or for "now", "now-30d-5m", "now+2h" ... that time at start-up."""
    match = RELATIVE_TIME.fullmatch(value.strip())
    if not match:
        return value
    offsets = TIME_OFFSET.findall(match.group(1))
    return utc_now_text(sum((1 if sign == "+" else -1) * int(number) * UNIT_SECONDS[unit.lower()] for sign, number, unit in offsets))


def guid_key(text):
    """The lookup key of a GUID written in any case or .NET format; None if it is not a GUID."""
    if not isinstance(text, str):
        return None
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        return None


def lower_keys(obj):
    """A JSON object's keys folded to lower case (ASP.NET binds JSON keys case-insensitively)."""
    return {str(key).lower(): value for key, value in obj.items()}


# --------------------------------------------------------------------------------------------
# Seed data and the request model
# --------------------------------------------------------------------------------------------

class SeedError(ValueError):
    """The seed file (or a request in it) is not valid."""


def _check_field(name, kind, value, where):
    """Validate one seeded field and return the value to store."""
    if kind == "guid":
        if guid_key(value) is None:
            raise SeedError(f"{where}: {name} must be a GUID, not {value!r}")
        return value
    if kind in ("int", "byte"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SeedError(f"{where}: {name} must be an integer, not {value!r}")
        if kind == "byte" and not 0 <= value <= 255:
            raise SeedError(f"{where}: {name} must be 0-255, not {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise SeedError(f"{where}: {name} must be true or false, not {value!r}")
        return value
    if kind == "datacollection":
        return _check_data_collection(value, where)
    if not isinstance(value, str):
        raise SeedError(f"{where}: {name} must be a string, not {value!r}")
    if kind == "sddl" and not value.endswith("\u0000"):
        value += SDDL_PADDING
    if kind == "date":
        value = resolve_seed_time(value)
    return value


def _check_data_collection(value, where):
    if not isinstance(value, (list, tuple)):
        raise SeedError(f"{where}: DataCollection must be a list of {{Name, Value}}")
    items = []
    for item in value:
        item = lower_keys(item) if isinstance(item, dict) else {}
        if not isinstance(item.get("name"), str) or not isinstance(item.get("value"), (str, type(None))):
            raise SeedError(f"{where}: every DataCollection item needs a string Name and a string or null Value")
        items.append({"Name": item["name"], "Value": item["value"]})
    return items


def make_request(raw, where="request"):
    """A Request object in API key order from a (possibly partial) PascalCase dict, with defaults."""
    if not isinstance(raw, dict):
        raise SeedError(f"{where}: a request must be a JSON object")
    by_lower = {name.lower(): name for name in FIELD_NAMES}
    given = {}
    for key, value in raw.items():
        name = by_lower.get(key.lower())
        if name is None:
            raise SeedError(f"{where}: unknown field {key!r}; known fields: {', '.join(FIELD_NAMES)}")
        given[name] = value
    if "Uuid" not in given:
        raise SeedError(f"{where}: Uuid is required")
    request = {}
    for name, kind, default in REQUEST_FIELDS:
        value = given.get(name, copy.deepcopy(default))
        request[name] = _check_field(name, kind, value, f"{where} {given['Uuid']}")
    return request


def load_seed(path):
    """Read the seed file: {"users": {name: guid}, "read_only_users": [name], "requests": [...]}."""
    with open(path, encoding="utf-8") as handle:
        seed = json.load(handle)
    if not isinstance(seed, dict):
        raise SeedError(f"{path}: the seed must be a JSON object")
    unknown = [key for key in seed if key not in ("users", "read_only_users", "requests") and not key.startswith("_")]
    if unknown:
        raise SeedError(f"{path}: unknown top-level keys {unknown}")
    users = seed.get("users", {})
    if not isinstance(users, dict) or any(guid_key(value) is None for value in users.values()):
        raise SeedError(f"{path}: users must map DOMAIN\\user to a GUID")
    read_only = seed.get("read_only_users", [])
    if not isinstance(read_only, list) or not all(isinstance(name, str) for name in read_only):
        raise SeedError(f"{path}: read_only_users must be a list of user names")
    requests = seed.get("requests", [])
    if not isinstance(requests, list):
        raise SeedError(f"{path}: requests must be a list")
    return {
        "users": users,
        "read_only_users": read_only,
        "requests": [make_request(raw, f"{path} requests[{index}]") for index, raw in enumerate(requests)],
    }


class ChangeRefused(Exception):
    """The server refuses a status change (answered as a 500 with a correlation ID)."""


class RequestStore:
    """The requests, keyed by lower-case GUID; every method is thread-safe and returns copies."""

    def __init__(self, seed_requests):
        self._seed = [copy.deepcopy(request) for request in seed_requests]
        keys = [guid_key(request["Uuid"]) for request in self._seed]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise SeedError(f"duplicate request GUIDs in the seed: {duplicates}")
        self._lock = threading.Lock()
        self._items = {}
        self.reset()

    def reset(self):
        """Forget every change: back to the seeded requests."""
        with self._lock:
            self._items = {guid_key(request["Uuid"]): copy.deepcopy(request) for request in self._seed}

    def all(self):
        """All requests, in seed order then creation order."""
        with self._lock:
            return [copy.deepcopy(request) for request in self._items.values()]

    def get(self, guid):
        """One request by GUID (any case), or None."""
        with self._lock:
            request = self._items.get(guid_key(guid))
            return copy.deepcopy(request) if request else None

    def search(self, status=None, target_user=None):
        """The requests with this status number and this target user GUID (None: any)."""
        target = guid_key(target_user) if target_user else None
        with self._lock:
            return [
                copy.deepcopy(request)
                for request in self._items.values()
                if (status is None or request["Status"] == status)
                and (target is None or guid_key(request["TargetUserUuid"]) == target)
            ]

    def change_status(self, guid, target):
        """Apply PUT {"status": target} (Completed, Canceled or Abandoned) or raise ChangeRefused."""
        allowed, result = TRANSITIONS[target]
        with self._lock:
            request = self._items.get(guid_key(guid))
            if request is None:
                raise ChangeRefused(f"The request {guid} could not be found.")
            current = request["Status"]
            if current not in allowed:
                name = STATUS_NAMES.get(current, "unknown")
                raise ChangeRefused(
                    f"The request {request['Uuid']} is in the {name} ({current}) state; the operation {target} is not allowed in this state."
                )
            request["Status"] = result
            if target == "Completed":
                request["Completed"] = utc_now_text()
            return copy.deepcopy(request)

    def create(self, fields):
        """Store a new Pending request from API fields; return it."""
        request = make_request(dict(fields, Uuid=str(uuid.uuid4()), Status=STATUS["Pending"], Submitted=utc_now_text()))
        with self._lock:
            self._items[guid_key(request["Uuid"])] = request
            return copy.deepcopy(request)


# --------------------------------------------------------------------------------------------
# Users: names from the NTLM users file, GUIDs from the seed, read-only flags
# --------------------------------------------------------------------------------------------

class UserDirectory:
    """Who may log in (the NTLM_USER_FILE), their GUIDs and who is read-only. Names compare case-insensitively."""

    def __init__(self, users_file, guids, read_only):
        self.names = {}
        with open(users_file, encoding="utf-8") as handle:
            for line in handle:
                fields = line.rstrip("\r\n").split(":")
                if len(fields) != 3:  # pyspnego ignores such lines too (comments, blanks)
                    continue
                name = f"{fields[0]}\\{fields[1]}" if fields[0] else fields[1]
                self.names[name.lower()] = name
        if not self.names:
            raise SeedError(f"{users_file}: no DOMAIN:USER:PASSWORD line")
        self.guids = {name.lower(): value for name, value in guids.items()}
        for key, name in self.names.items():
            if key not in self.guids:
                self.guids[key] = str(uuid.uuid5(uuid.NAMESPACE_URL, "mim-cm-emulator-user:" + key))
                log(f"warning: the seed has no GUID for {name}; using {self.guids[key]}")
        self.read_only = {name.lower() for name in read_only}

    def canonical(self, principal):
        """The user name as the users file writes it, for a principal in any case."""
        return self.names.get(principal.lower(), principal)

    def guid(self, name):
        """The user's GUID (TargetUserUuid, OriginatorUserUuid, ?targetuser=current)."""
        return self.guids.get(name.lower(), ZERO_GUID)

    def is_read_only(self, name):
        """True for a user who gets 403 on PUT and POST."""
        return name.lower() in self.read_only


# --------------------------------------------------------------------------------------------
# Replies and the API itself (no sockets here: method, path, query, body and user in; Reply out)
# --------------------------------------------------------------------------------------------

class Reply:
    """An HTTP answer: status, body bytes, content type and extra headers."""

    def __init__(self, status, body=b"", content_type=JSON_TYPE, headers=()):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = list(headers)


def json_reply(status, value, headers=()):
    """A compact JSON answer, as ASP.NET Web API writes it."""
    return Reply(status, json.dumps(value, separators=(",", ":")).encode("utf-8"), headers=headers)


def message_reply(status, message):
    """An error answer in ASP.NET Web API's shape: {"Message": ...}."""
    return json_reply(status, {"Message": message})


def no_content():
    """204: no body, no Content-Type."""
    return Reply(204)


class ApiError(Exception):
    """Stops handling an API call and answers with the reply it carries."""

    def __init__(self, reply):
        super().__init__(reply.status)
        self.reply = reply


def bad_request(detail):
    """An ApiError answering 400 with a Message."""
    return ApiError(message_reply(400, f"The request is invalid. {detail}"))


class CMApi:
    """The /CertificateManagement/api/v1.0/ routes, with the behaviour switches from the command line."""

    def __init__(self, store, users, options):
        self.store = store
        self.users = users
        self.unknown_request = options.unknown_request
        self.empty_search = options.empty_search
        self.put_response = options.put_response
        self.api_disabled = options.api_disabled

    def handle(self, method, path, query, body, user, base_url):
        """Answer one authenticated API call. path is the URL path, base_url is scheme://host[:port]."""
        not_found = message_reply(
            404, f"No HTTP resource was found that matches the request URI '{base_url}{path}{'?' + query if query else ''}'."
        )
        lowered = path.lower()
        if self.api_disabled or not lowered.startswith(API_V1.lower()):
            return not_found
        route = lowered[len(API_V1):].rstrip("/").split("/")
        if route[0] != "requests" or len(route) > 2:
            return not_found
        routes = {"GET": self.search, "POST": self.create} if len(route) == 1 else {"GET": self.get, "PUT": self.change}
        action = routes.get(method)
        if action is None:
            return message_reply(405, f"The requested resource does not support http method '{method}'.")
        args = {"query": query, "body": body, "user": user, "base_url": base_url}
        if len(route) == 2:
            args["guid"] = path.rstrip("/").rsplit("/", 1)[1]
            if guid_key(args["guid"]) is None:
                return message_reply(400, f"The request is invalid. '{args['guid']}' is not a valid value for the parameter 'id' of type 'System.Guid'.")
        try:
            return action(**args)
        except ApiError as error:
            return error.reply

    def get(self, guid, user, **_unused):
        """GET requests/{id}"""
        request = self.store.get(guid)
        if request is not None:
            return json_reply(200, request)
        if self.unknown_request == "404":
            return message_reply(404, f"The request {guid} could not be found.")
        if self.unknown_request == "403":
            return message_reply(403, f"The user {user} does not have permission to read the request {guid}.")
        return no_content()

    def search(self, query, user, **_unused):
        """GET requests?status=S&targetuser=current"""
        params = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(key.lower(), value)
        status = None
        if params.get("status"):
            status = {name.lower(): number for name, number in STATUS.items()}.get(params["status"].lower())
            if status is None:
                raise bad_request(f"The value '{params['status']}' is not valid for status; use one of {', '.join(STATUS)}.")
        target = None
        if params.get("targetuser"):
            if params["targetuser"].lower() != "current":
                raise bad_request(f"The value '{params['targetuser']}' is not valid for targetuser; only 'current' is supported.")
            target = self.users.guid(user)
        found = self.store.search(status, target)
        if not found and self.empty_search == "204":
            return no_content()
        return json_reply(200, found)

    def change(self, guid, body, user, **_unused):
        """PUT requests/{id} {"status": "Completed" | "Canceled" | "Abandoned"}"""
        fields = lower_keys(parse_json_object(body))
        value = fields.get("status")
        target = {name.lower(): name for name in TRANSITIONS}.get(value.lower()) if isinstance(value, str) else None
        if target is None:
            raise bad_request(f"The body needs \"status\": one of {', '.join(TRANSITIONS)}; got {json.dumps(value)}.")
        self.check_writer(user, f"change the request {guid}")
        try:
            request = self.store.change_status(guid, target)
        except ChangeRefused as refusal:
            return server_error(str(refusal))
        if self.put_response == "204":
            return no_content()
        return json_reply(200, request)

    def create(self, body, user, base_url, **_unused):
        """POST requests {profiletemplateuuid, datacollection, target, type, comment, priority}"""
        fields = lower_keys(parse_json_object(body))
        template = fields.get("profiletemplateuuid")
        if guid_key(template) is None:
            raise bad_request("profiletemplateuuid must be a GUID.")
        type_name = fields.get("type")
        type_number = {name.lower(): number for name, number in REQUEST_TYPES.items()}.get(type_name.lower()) if isinstance(type_name, str) else None
        if type_number is None:
            raise bad_request(f"type must be one of {', '.join(REQUEST_TYPES)}; got {json.dumps(type_name)}.")
        target = fields.get("target") or self.users.guid(user)
        if guid_key(target) is None:
            raise bad_request("target must be a GUID.")
        comment = fields.get("comment") or ""
        if not isinstance(comment, str):
            raise bad_request("comment must be a string.")
        new_request = {
            "RequestType": type_number,
            "DataCollection": parse_data_collection(fields.get("datacollection")),
            "OriginatorUserUuid": self.users.guid(user),
            "TargetUserUuid": target,
            "Priority": parse_priority(fields.get("priority")),
            "Comment": comment,
            "ProfileTemplateUuid": template,
        }
        self.check_writer(user, "create requests")
        request = self.store.create(new_request)
        location = f"api/v1.0/requests/{request['Uuid']}"
        return json_reply(201, location, headers=[("Location", f"{base_url}{APP_ROOT}/{location}")])

    def check_writer(self, user, what):
        """Raise a 403 ApiError for a read-only user."""
        if self.users.is_read_only(user):
            raise ApiError(message_reply(403, f"The user {user} does not have permission to {what}."))


def server_error(reason):
    """ASP.NET-style unhandled error: 500, a Message with a new correlation ID, also logged."""
    correlation = str(uuid.uuid4())
    log(f"500 correlation ID {correlation}: {reason}")
    return message_reply(500, f"An error has occurred. {reason} Correlation ID: {correlation}")


def parse_json_object(body):
    """The request body as a JSON object, or a 400 ApiError."""
    try:
        value = json.loads(body.decode("utf-8-sig")) if body else None
    except (UnicodeDecodeError, ValueError):
        raise bad_request("The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise bad_request("The body must be a JSON object.")
    return value


def parse_data_collection(value):
    """datacollection: a list of one-key objects (or of {Name, Value}), or a string holding that JSON."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise bad_request("datacollection is a string but not JSON.") from None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise bad_request("datacollection must be a list of objects.")
    items = []
    for item in value:
        folded = lower_keys(item)
        pairs = [(folded["name"], folded.get("value"))] if set(folded) <= {"name", "value"} and "name" in folded else list(item.items())
        for name, data in pairs:
            if not isinstance(name, str) or not isinstance(data, (str, type(None))):
                raise bad_request("datacollection values must be strings or null.")
            items.append({"Name": name, "Value": data})
    return items


def parse_priority(value):
    """POST priority: 0-255 (a .NET byte), a number or a string of digits; default 0."""
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        raise bad_request("priority must be a number from 0 to 255.")
    return value


# --------------------------------------------------------------------------------------------
# The admin side door: /_emulator/..., no auth, not logged. Add a route here for each new switch.
# --------------------------------------------------------------------------------------------

class AdminDoor:
    """Test-only routes under /_emulator/ (loopback only, no authentication, not in exchanges.jsonl)."""

    def __init__(self, store):
        self.store = store
        self.routes = [
            ("GET", re.compile(r"requests/?"), self.list_requests),
            ("GET", re.compile(r"requests/([^/]+)/?"), self.get_request),
            ("POST", re.compile(r"reset/?"), self.reset),
        ]

    def handle(self, method, path):
        """Answer one admin call: the first route whose method and pattern match."""
        subpath = path[len(ADMIN_ROOT):]
        for route_method, pattern, action in self.routes:
            match = pattern.fullmatch(subpath)
            if match and route_method == method:
                return action(*match.groups())
        return message_reply(404, f"No emulator admin route {method} {path}.")

    def list_requests(self):
        """GET /_emulator/requests: every stored request."""
        return json_reply(200, self.store.all())

    def get_request(self, guid):
        """GET /_emulator/requests/{id}: one request, 404 if unknown."""
        request = self.store.get(guid)
        return json_reply(200, request) if request else message_reply(404, f"No request {guid}.")

    def reset(self):
        """POST /_emulator/reset: back to the seed."""
        self.store.reset()
        return no_content()


# --------------------------------------------------------------------------------------------
# Logging of API exchanges
# --------------------------------------------------------------------------------------------

class ExchangeLog:
    """Appends one JSON line per API exchange to exchanges.jsonl, flushed at once."""

    def __init__(self, path):
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8")  # pylint: disable=consider-using-with

    def write(self, record):
        """Append one record as a JSON line (thread-safe; ignored once closed)."""
        line = json.dumps(record) + "\n"
        with self._lock:
            if self._file.closed:
                return
            self._file.write(line)
            self._file.flush()

    def close(self):
        """Close the log file."""
        with self._lock:
            self._file.close()


# --------------------------------------------------------------------------------------------
# TLS: a throw-away CA, a server certificate and the channel bindings it implies
# --------------------------------------------------------------------------------------------

class TlsMaterial:
    """A trustme CA (written to ca.pem), an SSL context and the tls-server-end-point bindings."""

    def __init__(self, state_dir, host):
        ca = trustme.CA(organization_name="MIM CM emulator test CA")
        identities = ["127.0.0.1", "localhost"] + ([host] if host not in ("127.0.0.1", "localhost") else [])
        leaf = ca.issue_cert(*identities)
        self.ca_path = os.path.join(state_dir, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(self.context)
        certificate = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
        self.channel_bindings = GssChannelBindings(application_data=b"tls-server-end-point:" + end_point_hash(certificate))


def end_point_hash(certificate):
    """RFC 5929 tls-server-end-point: the certificate's signature hash, SHA-256 instead of MD5/SHA-1."""
    algorithm = certificate.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(certificate.public_bytes(serialization.Encoding.DER))
    return digest.finalize()


# --------------------------------------------------------------------------------------------
# HTTP: the server (one thread per connection) and the handler (one instance per connection)
# --------------------------------------------------------------------------------------------

NTLM_SIGNATURE = b"NTLMSSP\x00"


class EmulatorServer(http.server.ThreadingHTTPServer):
    """The listening server; holds what every connection shares."""

    daemon_threads = True

    def __init__(self, address, api, admin, users, exchanges, tls):
        self.api = api
        self.admin = admin
        self.users = users
        self.exchanges = exchanges
        self.tls = tls
        self._connection_ids = itertools.count(1)
        self._id_lock = threading.Lock()
        super().__init__(address, CMHandler)

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN (DNS); loopback needs none of that.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        """Runs in the connection's thread: do the TLS handshake here, not in the accept loop."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(CMHandler.timeout)
        try:
            connection = self.tls.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            log(f"TLS handshake with {client_address[0]}:{client_address[1]} failed: {error}")
            return
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            connection.close()

    def handle_error(self, request, client_address):
        """A client that goes away or times out costs one line on stderr, not a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, ssl.SSLError)):
            log(f"connection from {client_address[0]}:{client_address[1]} ended: {error!r}")
        else:
            super().handle_error(request, client_address)

    def next_connection_id(self):
        """A number for each TCP connection, for the exchange log."""
        with self._id_lock:
            return next(self._connection_ids)

    def new_acceptor(self):
        """A fresh NTLM acceptor (users from NTLM_USER_FILE), checking channel bindings over TLS."""
        bindings = self.tls.channel_bindings if self.tls else None
        return spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm, channel_bindings=bindings)


class CMHandler(http.server.BaseHTTPRequestHandler):
    """One instance per TCP connection: holds the connection's NTLM state and authenticated user."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 120

    def setup(self):
        super().setup()
        self.connection_id = self.server.next_connection_id()
        self.ntlm = None  # the acceptor of a handshake under way
        self.user = None  # set once a handshake succeeded: the connection is authenticated

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        log(f"[connection {self.connection_id}] {self.client_address[0]} {format % args}")

    def do_GET(self):  # pylint: disable=invalid-name,missing-function-docstring
        self.dispatch()

    def do_PUT(self):  # pylint: disable=invalid-name,missing-function-docstring
        self.dispatch()

    def do_POST(self):  # pylint: disable=invalid-name,missing-function-docstring
        self.dispatch()

    def do_DELETE(self):  # pylint: disable=invalid-name,missing-function-docstring
        self.dispatch()

    def do_PATCH(self):  # pylint: disable=invalid-name,missing-function-docstring
        self.dispatch()

    def dispatch(self):
        """Every method lands here: read the body, then route to the admin door, the API or a 404."""
        try:
            body = self.read_body()
        except ValueError as error:
            self.close_connection = True
            self.send_reply(message_reply(400, f"Bad request body framing: {error}"))
            return
        url = urlsplit(self.path)
        path = unquote(url.path)
        if path.lower().startswith(ADMIN_ROOT):
            self.send_reply(self.server.admin.handle(self.command, path))
        elif path.lower().startswith(API_ROOT.lower()):
            self.handle_api(path, url.query, body)
        else:
            self.send_reply(message_reply(404, f"Nothing at {path}: the API lives under {API_V1}."))

    def handle_api(self, path, query, body):
        """Authenticate, answer and log one exchange on an API path.

        The log line is written before the answer is sent, so a client that has its answer
        always finds the exchange in the log.
        """
        carried_authorization = "Authorization" in self.headers
        reply = self.authenticate()
        auth_leg = reply is not None  # answered (401) by authentication, not by the API
        if not auth_leg:
            reply = self.server.api.handle(self.command, path, query, body, self.user, self.base_url())
        self.server.exchanges.write({
            "time": utc_now_text(),
            "connection": self.connection_id,
            "method": self.command,
            "path": path,
            "query": query,
            "status": reply.status,
            "auth_leg": auth_leg,
            "authorization": carried_authorization,
            "user": self.user,
            "body": json_or_none(body),
        })
        self.send_reply(reply)

    def authenticate(self):
        """None when the connection is (now) authenticated; otherwise the 401 Reply to send.

        NTLM authenticates the connection, as IIS does: later requests need no Authorization
        header. Any Authorization header starts or continues a handshake and drops the old login.
        """
        header = self.headers.get("Authorization")
        if header is None:
            return None if self.user else unauthorized()
        self.user = None
        scheme, _sep, encoded = header.strip().partition(" ")
        scheme = {"ntlm": "NTLM", "negotiate": "Negotiate"}.get(scheme.lower())
        try:
            token = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            token = b""
        if scheme is None or not token.startswith(NTLM_SIGNATURE) or len(token) < 12:
            log(f"[connection {self.connection_id}] refused: only raw NTLM tokens under NTLM or Negotiate are supported")
            self.ntlm = None
            return unauthorized()
        message_type = struct.unpack("<I", token[8:12])[0]
        if message_type == 1:
            self.ntlm = self.server.new_acceptor()
        elif message_type != 3 or self.ntlm is None:
            self.ntlm = None
            return unauthorized()
        try:
            answer = self.ntlm.step(token)
        except Exception as error:  # pylint: disable=broad-exception-caught
            # Wrong password, unknown user, channel bindings that do not match, a malformed token.
            log(f"[connection {self.connection_id}] NTLM authentication failed: {error}")
            self.ntlm = None
            return unauthorized()
        if not self.ntlm.complete:
            challenge = base64.b64encode(answer or b"").decode("ascii")
            return Reply(401, UNAUTHORIZED_HTML, HTML_TYPE, [("WWW-Authenticate", f"{scheme} {challenge}")])
        self.user = self.server.users.canonical(self.ntlm.client_principal)
        self.ntlm = None
        return None

    def base_url(self):
        """scheme://host[:port] as the client addressed us (for Location and 404 messages)."""
        scheme = "https" if self.server.tls else "http"
        host = self.headers.get("Host") or f"{self.server.server_name}:{self.server.server_port}"
        return f"{scheme}://{host}"

    def read_body(self):
        """Read the whole request body (always, even for a 401, or the connection goes out of step)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def send_reply(self, reply):
        """Send a Reply with Content-Type and Content-Length (none for 204), keeping the connection open."""
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.status != 204:
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.status != 204:
            self.wfile.write(reply.body)
        self.wfile.flush()


def unauthorized():
    """IIS's answer to an unauthenticated request or a failed handshake: both schemes offered."""
    return Reply(401, UNAUTHORIZED_HTML, HTML_TYPE, [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM")])


def json_or_none(body):
    """The body parsed as JSON for the log, or None."""
    try:
        return json.loads(body.decode("utf-8-sig")) if body else None
    except (UnicodeDecodeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def parse_args(argv):
    """The command line (see docs/emulator.md)."""
    parser = argparse.ArgumentParser(description="Emulate the MIM CM REST API on loopback, for tests.")
    parser.add_argument("--state-dir", required=True, help="where ca.pem, url, emulator.pid and exchanges.jsonl go (created if needed)")
    parser.add_argument("--seed", default=DEFAULT_SEED, help="seed JSON: users' GUIDs, read-only users, requests (default: %(default)s)")
    parser.add_argument("--users", default=DEFAULT_USERS, help="NTLM users file, DOMAIN:USER:PASSWORD a line (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--plain-http", action="store_true", help="serve plain HTTP instead of TLS (no channel bindings)")
    parser.add_argument("--read-only-user", action="append", metavar="NAME",
                        help="DOMAIN\\user who gets 403 on PUT and POST; repeatable; replaces the seed's read_only_users")
    parser.add_argument("--unknown-request", choices=("204", "404", "403"), default="204", help="answer to GET of an unknown GUID (default: 204)")
    parser.add_argument("--empty-search", choices=("204", "array"), default="204", help="answer to a search without match (default: 204)")
    parser.add_argument("--put-response", choices=("200", "204"), default="200", help="answer to a successful PUT (default: 200 with the Request)")
    parser.add_argument("--api-disabled", action="store_true", help="Clm.WebApi.Enabled off: every API path answers 404")
    args = parser.parse_args(argv)
    if args.host != "localhost":
        try:
            loopback = ipaddress.IPv4Address(args.host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            parser.error("--host must be localhost or an IPv4 loopback address")
    return args


def main(argv=None):
    """Start the emulator, print its URL, serve until SIGTERM or SIGINT; return the exit code."""
    args = parse_args(argv)
    try:
        seed = load_seed(args.seed)
        users_file = os.path.abspath(args.users)
        read_only = args.read_only_user if args.read_only_user is not None else seed["read_only_users"]
        users = UserDirectory(users_file, seed["users"], read_only)
        store = RequestStore(seed["requests"])
    except (OSError, ValueError) as error:
        log(f"error: {error}")
        return 2
    os.environ["NTLM_USER_FILE"] = users_file  # pyspnego's NTLM acceptor reads its users from here

    state_dir = os.path.abspath(args.state_dir)
    try:
        os.makedirs(state_dir, exist_ok=True)
        tls = None if args.plain_http else TlsMaterial(state_dir, args.host)
        exchanges = ExchangeLog(os.path.join(state_dir, "exchanges.jsonl"))
        server = EmulatorServer((args.host, args.port), CMApi(store, users, args), AdminDoor(store), users, exchanges, tls)
    except OSError as error:
        log(f"error: cannot start on {args.host}:{args.port} with state in {state_dir}: {error}")
        return 2
    url = f"{'http' if args.plain_http else 'https'}://{args.host}:{server.server_port}{APP_ROOT}"
    pid_path = os.path.join(state_dir, "emulator.pid")
    for name, text in (("url", url), ("emulator.pid", str(os.getpid()))):
        with open(os.path.join(state_dir, name), "w", encoding="utf-8") as handle:
            handle.write(text + "\n")

    def stop(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    try:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(url, flush=True)
        log(f"MIM CM emulator listening on {url} (state in {state_dir}; read-only users: {', '.join(sorted(read_only)) or 'none'})")
        server.serve_forever()
    except KeyboardInterrupt as reason:
        log(f"stopping ({reason})")
    finally:
        server.server_close()
        exchanges.close()
        if os.path.exists(pid_path):
            os.remove(pid_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
