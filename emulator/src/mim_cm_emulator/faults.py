"""Fault injection: rules that make chosen API calls misbehave, deterministically (docs/emulator.md,
"Fault injection"): validated rules, the ordered book that picks the rule for a call, and the bodies faults send.
"""

import html
import random
import re
import threading
from urllib.parse import urlsplit

from .common import HTML_TYPE, json_or_none, JSON_TYPE
from .replies import has_body, html_error_page, message_reply, Reply, server_error, status_phrase

FAULT_KINDS = ("latency", "reset_before", "reset_after", "status", "stall", "malformed_json", "html", "truncated",
               "redirect", "trickle", "oversize", "raw")


# The kinds after which the API still processes the request (a PUT or POST is applied); the others
# (reset_before, status, html, redirect, oversize, raw unless process "before") answer in its place and change nothing.
PROCESSING_FAULTS = ("latency", "reset_after", "stall", "malformed_json", "truncated", "trickle")


FAULT_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
RULE_KEYS = ("kind", "method", "path_contains", "times", "rate", "seed")


# Each kind's own parameters: name -> (required, default).
RULE_PARAMS = {
    "latency": {"seconds": (True, None)},
    "stall": {"seconds": (True, None), "process": (False, "after")},
    "status": {"code": (True, None), "retry_after": (False, None), "body": (False, None)},
    "html": {"code": (True, None)},
    "redirect": {"code": (True, None), "location": (True, None), "before_auth": (False, True)},
    "trickle": {"interval": (False, 1.0), "chunk": (False, 1)},
    "oversize": {"bytes": (False, None), "endless": (False, False)},
    "raw": {"code": (True, None), "body": (False, ""), "content_type": (False, "application/json"), "headers": (False, None),
            "process": (False, "none")},
}


REDIRECT_CODES = (301, 302, 303, 307, 308)
MAX_OVERSIZE_BYTES = 1 << 40  # streamed, never held in memory: the bound only catches typos


# Framing is the emulator's to get right: a raw rule sets the body and its type, never these headers.
RAW_RESERVED_HEADERS = ("content-length", "transfer-encoding", "content-type", "connection")


class FaultError(ValueError):
    """A fault rule that is not valid."""


def _seconds(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
        raise FaultError(f"{name} must be a number of seconds from 0 to 3600, not {value!r}")
    return value


def _code(value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultError(f"code must be an HTTP status code from {low} to {high}, not {value!r}")
    return value


def _rule_kind(raw):
    """The rule's kind, once the rule is an object whose keys all belong to that kind (or start with _)."""
    if not isinstance(raw, dict):
        raise FaultError(f"a fault rule must be a JSON object, not {raw!r}")
    kind = raw.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultError(f"kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
    own = RULE_PARAMS.get(kind, {})
    unknown = sorted(str(key) for key in raw if key not in RULE_KEYS and key not in own and not str(key).startswith("_"))
    if unknown:
        raise FaultError(f"unknown keys {unknown} in a {kind} rule; it takes {', '.join(RULE_KEYS + tuple(own))}")
    return kind


def _rule_target(raw):
    """Which calls the rule matches: (method upper-cased or None, path_contains or None)."""
    method = raw.get("method")
    if method is not None and (not isinstance(method, str) or method.upper() not in FAULT_METHODS):
        raise FaultError(f"method must be null or one of {', '.join(FAULT_METHODS)}, not {method!r}")
    path_contains = raw.get("path_contains")
    if path_contains is not None and not isinstance(path_contains, str):
        raise FaultError(f"path_contains must be null or a string, not {path_contains!r}")
    return (method.upper() if method else None), path_contains


def _rule_frequency(raw):
    """How often the rule hits: (rate, times, seed of its rate draws)."""
    rate = raw.get("rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1):
        raise FaultError(f"rate must be null or a number from 0 to 1, not {rate!r}")
    # Without a rate a rule hits the next call (times 1); with a rate, every matching call may be hit (times 0).
    times = raw.get("times", 1 if rate is None else 0)
    if isinstance(times, bool) or not isinstance(times, int) or times < 0:
        raise FaultError(f"times must be a whole number >= 0 (0: every matching call), not {times!r}")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, (int, str)):
        raise FaultError(f"seed must be an integer or a string, not {seed!r}")
    return rate, times, seed


def _rule_params(kind, raw):
    """The kind's own parameters, each given or its default; FaultError if a required one is missing."""
    params = {}
    for name, (required, default) in RULE_PARAMS.get(kind, {}).items():
        if name not in raw and required:
            raise FaultError(f"a {kind} rule needs {name}")
        params[name] = raw.get(name, default)
    return params


class FaultRule:
    """One fault rule: which calls it matches, how many it hits, and what it does to them.

    The parameters never change after construction; hits and matched do, under FaultBook's lock.
    """

    def __init__(self, raw):
        self.kind = _rule_kind(raw)
        self.method, self.path_contains = _rule_target(raw)
        self.rate, self.times, self.seed = _rule_frequency(raw)
        self.random = random.Random(self.seed)
        self.params = _rule_params(self.kind, raw)
        self._check_params()
        self.hits = 0  # calls it acted on
        self.matched = 0  # calls whose method and path matched while it was active (rate draws included)

    def _check_params(self):
        params = self.params
        if "seconds" in params:
            _seconds(params["seconds"], "seconds")
        if self.kind == "stall" and params["process"] not in ("after", "before"):
            raise FaultError(f"process must be 'after' (the stall) or 'before', not {params['process']!r}")
        if self.kind == "html":
            _code(params["code"], 200, 599)
        if self.kind == "status":
            _code(params["code"], 400, 599)
            retry_after = params["retry_after"]
            if isinstance(retry_after, bool) or not (
                retry_after is None
                or (isinstance(retry_after, int) and retry_after >= 0)
                or (isinstance(retry_after, str) and retry_after.strip() and not set("\r\n") & set(retry_after))
            ):
                raise FaultError(f"retry_after must be null, whole seconds >= 0 or an HTTP date string, not {retry_after!r}")
            if params["body"] is None:
                params["body"] = "json" if params["code"] == 500 else "html"
            if params["body"] not in ("json", "html"):
                raise FaultError(f"body must be 'json' or 'html', not {params['body']!r}")
        check = getattr(self, f"_check_{self.kind}", None)
        if check:
            check(params)

    @staticmethod
    def _check_redirect(params):
        if params["code"] not in REDIRECT_CODES or isinstance(params["code"], bool):
            raise FaultError(f"code must be one of {', '.join(map(str, REDIRECT_CODES))}, not {params['code']!r}")
        location = params["location"]
        parts = urlsplit(location) if isinstance(location, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or _has_control(location):
            raise FaultError(f"location must be an absolute http:// or https:// URL, not {location!r}")
        if not isinstance(params["before_auth"], bool):
            raise FaultError(f"before_auth must be true or false, not {params['before_auth']!r}")

    @staticmethod
    def _check_trickle(params):
        _seconds(params["interval"], "interval")
        chunk = params["chunk"]
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise FaultError(f"chunk must be a whole number of bytes >= 1, not {chunk!r}")

    @staticmethod
    def _check_oversize(params):
        size, endless = params["bytes"], params["endless"]
        if not isinstance(endless, bool):
            raise FaultError(f"endless must be true or false, not {endless!r}")
        if (size is None) == (not endless):
            raise FaultError("an oversize rule needs either bytes or endless true (not both)")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= MAX_OVERSIZE_BYTES):
            raise FaultError(f"bytes must be a whole number from 2 to {MAX_OVERSIZE_BYTES}, not {size!r}")

    @staticmethod
    def _check_raw(params):
        code = _code(params["code"], 100, 599)
        if not isinstance(params["body"], str):
            raise FaultError(f"body must be a string, not {params['body']!r}")
        if params["body"] and not has_body(code):
            raise FaultError(f"a {code} answer has no body; body must be empty")
        if not isinstance(params["content_type"], str) or not params["content_type"] or _has_control(params["content_type"]):
            raise FaultError(f"content_type must be a header value, not {params['content_type']!r}")
        headers = {} if params["headers"] is None else params["headers"]
        if not isinstance(headers, dict) or not all(
                isinstance(name, str) and re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) and isinstance(value, str)
                and not _has_control(value) for name, value in headers.items()):
            raise FaultError(f"headers must be an object of header names and string values without control characters, not {headers!r}")
        reserved = sorted(name for name in headers if name.lower() in RAW_RESERVED_HEADERS)
        if reserved:
            raise FaultError(f"headers must not set {', '.join(reserved)} (the emulator frames the answer; use content_type)")
        params["headers"] = dict(headers)
        if params["process"] not in ("none", "before"):
            raise FaultError(f"process must be 'none' (the API never sees the call) or 'before', not {params['process']!r}")

    @property
    def before_auth(self):
        """True for a rule answered before authentication (a redirect with before_auth, the default)."""
        return self.kind == "redirect" and self.params["before_auth"]

    def processes(self):
        """Whether the API still processes a call this rule hits (a PUT or POST is then applied)."""
        return self.kind in PROCESSING_FAULTS or (self.kind == "raw" and self.params["process"] == "before")

    @property
    def active(self):
        """False once the rule has hit `times` calls (never, for times 0)."""
        return self.times == 0 or self.hits < self.times

    def matches(self, method, target):
        """True for a call with this method on this path?query (case-insensitive substring)."""
        if self.method is not None and self.method != method.upper():
            return False
        return self.path_contains is None or self.path_contains.lower() in target.lower()

    def describe(self):
        """The rule as GET /_emulator/faults shows it: every field, with its defaults, and its counts."""
        rule = {"kind": self.kind, "method": self.method, "path_contains": self.path_contains, "times": self.times,
                "rate": self.rate, "seed": self.seed}
        rule.update(self.params)
        rule.update(hits=self.hits, matched=self.matched, remaining=None if self.times == 0 else self.times - self.hits)
        return rule

    def summary(self):
        """A short text for stderr: stall(seconds=2, process=after)."""
        return f"{self.kind}({', '.join(f'{name}={value}' for name, value in self.params.items())})"

    def reply(self):
        """The answer a status, html, redirect or raw rule sends instead of the API's."""
        code = self.params["code"]
        if self.kind == "redirect":
            location = self.params["location"]
            return Reply(code, redirect_page(location), HTML_TYPE, [("Location", location)])
        if self.kind == "raw":
            return Reply(code, self.params["body"].encode("utf-8"), self.params["content_type"], list(self.params["headers"].items()))
        if self.kind == "html" or self.params["body"] == "html":
            reply = Reply(code, html_error_page(code), HTML_TYPE)
        elif code == 500:
            reply = server_error("The server could not process the request (injected fault).")
        else:
            reply = message_reply(code, f"{code} {status_phrase(code)} (injected fault).")
        if self.kind == "status" and self.params["retry_after"] is not None:
            reply.headers.append(("Retry-After", str(self.params["retry_after"])))
        return reply


def parse_fault_rules(value):
    """One rule (a JSON object) or a list of them, as FaultRules; FaultError if any is invalid."""
    raws = value if isinstance(value, list) else [value]
    rules = []
    for index, raw in enumerate(raws):
        try:
            rules.append(FaultRule(raw))
        except FaultError as error:
            raise FaultError(f"rule {index}: {error}" if isinstance(value, list) else str(error)) from None
    return rules


class FaultBook:
    """The fault rules in order; the first active rule that matches a call and hits it wins. Thread-safe."""

    def __init__(self, rules=()):
        self._lock = threading.Lock()
        self._rules = list(rules)

    def add(self, rules):
        """Append rules (already validated)."""
        with self._lock:
            self._rules.extend(rules)

    def clear(self):
        """Forget every rule."""
        with self._lock:
            self._rules = []

    def describe(self):
        """Every rule, exhausted ones included, with its counts."""
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def pick(self, method, path, query, before_auth=False):
        """The rule that hits this call, or None. A rule whose rate draw misses passes the call on.

        before_auth: pick among the rules answered before authentication (redirects by default), else among the others.
        """
        target = f"{path}?{query}" if query else path
        with self._lock:
            for rule in self._rules:
                if rule.before_auth != before_auth or not rule.active or not rule.matches(method, target):
                    continue
                rule.matched += 1
                if rule.rate is not None and rule.random.random() >= rule.rate:
                    continue
                rule.hits += 1
                return rule
        return None


def _has_control(text):
    """True if the text holds a control character (CR, LF, NUL ...): it could split a header."""
    return any(ord(character) < 32 or ord(character) == 127 for character in text)


def redirect_page(location):
    """IIS's "Object moved" page for a redirect (bytes)."""
    link = html.escape(location, quote=True)
    return (f'<head><title>Object moved</title></head><body><h1>Object Moved</h1>This object may be found '
            f'<a HREF="{link}">here</a>.</body>').encode("utf-8")


def padding_json(size, piece=65536):
    """A JSON array of padding strings exactly `size` bytes long (size >= 2), as pieces of at most about `piece` bytes."""
    yield b"["
    remaining = size - 2
    first = True
    while remaining >= (2 if first else 3):  # '"..."' first, then ',"..."'
        overhead = 2 if first else 3
        content = min(piece, remaining - overhead)
        yield (b'"' if first else b',"') + b"x" * content + b'"'
        remaining -= overhead + content
        first = False
    yield b" " * remaining + b"]"  # at most two bytes left: JSON whitespace


def endless_padding_json(piece=65536):
    """The start of a JSON array of padding strings that never ends."""
    yield b'["' + b"x" * piece + b'"'
    element = b',"' + b"x" * piece + b'"'
    while True:
        yield element


def malformed_json(reply):
    """A 200 whose application/json body is not JSON: the API's answer with single instead of double quotes."""
    body = reply.body.replace(b'"', b"'")
    if not body or json_or_none(body) is not None or body.strip() == b"null":
        body = b"{'Message':'An error has occurred.'"  # nothing quoted in it (a 204, []): something surely not JSON
    return Reply(200, body, JSON_TYPE, applied=reply.applied)
