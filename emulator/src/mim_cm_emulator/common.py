"""Shared by every module: the URL roots, content types, the diagnostic log (stderr) and small JSON/GUID/time helpers."""

import datetime
import json
import sys
import uuid

APP_ROOT = "/CertificateManagement"
API_ROOT = APP_ROOT + "/api/"
API_V1 = API_ROOT + "v1.0/"
ADMIN_ROOT = "/_emulator/"
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html"


def log(text):
    """Write one diagnostic line to stderr (stdout carries only the URL)."""
    sys.stderr.write(text.rstrip("\n") + "\n")
    sys.stderr.flush()


def utc_now_text(offset_seconds=0):
    """The current UTC time (plus an offset) as the server writes it: 2026-11-21T06:30:12.345Z."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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


def json_or_none(body):
    """The body parsed as JSON for the log, or None."""
    try:
        return json.loads(body.decode("utf-8-sig")) if body else None
    except (UnicodeDecodeError, ValueError):
        return None
