"""The HTTP/1.1 server (one thread per connection, TLS handshake in that thread) and the per-connection handler:
read the body, route to the admin door or the API, authenticate, apply any fault rule, log the exchange, answer.
"""

import http.server
import itertools
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from urllib.parse import unquote, urlsplit

from .auth import AUTH_SCHEMES, HandlerAuth, ServerAuth
from .common import ADMIN_ROOT, API_ROOT, API_V1, json_or_none, log, utc_now_text
from .faults import endless_padding_json, malformed_json, padding_json
from .replies import has_body, message_reply, Reply


class ExchangeLog:
    """Appends one JSON line per API exchange to exchanges.jsonl, flushed at once."""

    def __init__(self, path):
        self._lock = threading.Lock()
        self.path = path
        self._file = open(path, "a", encoding="utf-8")  # pylint: disable=consider-using-with

    def records(self):
        """Every record in the file, oldest first (earlier runs with the same state directory included)."""
        with self._lock, open(self.path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

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


class EmulatorServer(ServerAuth, http.server.ThreadingHTTPServer):  # pylint: disable=too-many-instance-attributes
    """The listening server; holds what every connection shares."""

    daemon_threads = True
    block_on_close = False  # stopping must not wait for keep-alive connections or stalled calls

    def __init__(self, address, api, admin, users, exchanges, tls, options):
        self.api = api
        self.admin = admin
        self.users = users
        self.exchanges = exchanges
        self.tls = tls
        self.faults = admin.faults
        self.in_flight = admin.in_flight
        self.latency = options.latency_ms / 1000.0
        self.channel_binding = options.channel_binding
        self.schemes = AUTH_SCHEMES[options.auth]
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


class CMHandler(HandlerAuth, http.server.BaseHTTPRequestHandler):
    """One instance per TCP connection: holds the connection's NTLM state and authenticated user."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 120

    def setup(self):
        super().setup()
        self.connection_id = self.server.next_connection_id()
        self.ntlm = None  # the acceptor of a raw NTLM handshake under way
        self.negotiate = None  # the acceptor of a Negotiate (SPNEGO or raw Kerberos) handshake under way
        self.user = None  # set once a handshake succeeded: the connection is authenticated
        self.mechanism = None  # how it was: "ntlm" or "kerberos"
        self.leg_mechanism = None  # the mechanism of the handshake leg being answered, for the exchange log
        self.auth_header = None  # the server's last Negotiate token (mutual authentication), sent with the next answer

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
            self.send_reply(self.server.admin.handle(self.command, path, body))
        elif path.lower().startswith(API_ROOT.lower()):
            self.handle_api(path, url.query, body)
        else:
            self.send_reply(message_reply(404, f"Nothing at {path}: the API lives under {API_V1}."))

    def handle_api(self, path, query, body):
        """Authenticate, answer and log one exchange on an API path, with --latency-ms and any fault rule.

        The log line is written before anything is sent (a client that has its answer, or its
        connection reset, always finds the exchange in the log); for a stall with process "before",
        before the stall.
        """
        with self.server.in_flight:
            carried_authorization = "Authorization" in self.headers
            if self.server.latency:
                time.sleep(self.server.latency)
            rule, reply = self.pick_fault_or_authenticate(path, query)
            auth_leg = reply is not None  # answered (401) by authentication, not by the API
            kind = rule.kind if rule else None
            stall_after = kind == "latency" or (kind == "stall" and rule.params["process"] == "after")
            if stall_after:
                time.sleep(rule.params["seconds"])
            if not auth_leg:
                reply = self.api_reply(rule, path, query, body)
            sent = reply_sent(kind, reply)
            applied = bool(reply is not None and reply.applied)
            self.server.exchanges.write({
                "time": utc_now_text(),
                "connection": self.connection_id,
                "method": self.command,
                "path": path,
                "query": query,
                "status": sent.status if sent else None,
                "auth_leg": auth_leg,
                "authorization": carried_authorization,
                "user": self.user,
                "mechanism": self.mechanism or self.leg_mechanism,
                "body": json_or_none(body),
                "fault": kind,
                "applied": applied,
            })
            if kind == "stall":
                where = "after" if stall_after else "before"
                log(f"[connection {self.connection_id}] stalled {rule.params['seconds']} s; processed {where} the stall (applied: {applied})")
                if not stall_after:
                    time.sleep(rule.params["seconds"])
            self.send_answer(rule, sent)

    def pick_fault_or_authenticate(self, path, query):
        """(the fault rule that hits this call or None, the 401 leg to answer or None once authenticated).

        A redirect (before_auth) answers as a hostile front end would: before any login is asked for. The other
        rules are picked only for an authenticated call, so a 401 leg is never a fault's.
        """
        self.leg_mechanism = None
        rule = self.server.faults.pick(self.command, path, query, before_auth=True)
        reply = None if rule else self.authenticate()
        if reply is None and rule is None:
            rule = self.server.faults.pick(self.command, path, query)
        if rule:
            log(f"[connection {self.connection_id}] injected fault {rule.summary()} on {self.command} {path}")
        return rule, reply

    def api_reply(self, rule, path, query, body):
        """The answer to an authenticated call: the API's, or the fault rule's in its place.

        The API processes the call unless the rule answers instead of it (then nothing is applied), except
        a raw rule with process "before", whose answer replaces one the API made.
        """
        reply = None
        if rule is None or rule.processes():
            reply = self.server.api.handle(self.command, path, query, body, self.user, self.base_url())
        kind = rule.kind if rule else None
        if kind in ("status", "html", "redirect", "raw"):
            processed, reply = reply, rule.reply()
            reply.applied = bool(processed and processed.applied)  # raw with process "before"
        elif kind == "oversize":
            reply = Reply(200)
        return reply

    def send_answer(self, rule, sent):
        """Send the answer as the fault rule has it: reset, cut, trickled, oversized, or whole (sent None: reset)."""
        kind = rule.kind if rule else None
        if sent is None:
            self.abort_connection()
        elif kind == "truncated":
            self.send_truncated(sent)
        elif kind == "trickle":
            self.send_streamed(sent, [sent.body], rule.params["chunk"], rule.params["interval"])
        elif kind == "oversize":
            endless = rule.params["endless"]
            pieces = endless_padding_json() if endless else padding_json(rule.params["bytes"])
            self.send_streamed(Reply(200), pieces, length=None if endless else rule.params["bytes"])
        else:
            self.send_reply(sent)

    def abort_connection(self):
        """Reset the TCP connection (SO_LINGER 0: a RST, no FIN, no TLS close_notify) without answering."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            self.rfile.close()  # the socket only really closes once its file objects are gone
            self.connection.close()
        log(f"[connection {self.connection_id}] connection reset (injected fault)")

    def send_streamed(self, reply, pieces, chunk=None, interval=0.0, length=None):
        """Send a reply's status and headers, then the body from `pieces`, written as it is produced.

        chunk and interval: write `chunk` bytes, then wait `interval` seconds (trickle; Content-Length is the
        reply's). length: the Content-Length of a streamed body; None without chunk: chunked transfer coding
        that lasts as long as `pieces` does. Stops quietly, closing the connection, when the client hangs up.
        """
        chunked = chunk is None and length is None
        self.send_response(reply.status)
        for name, value in reply.headers + self.take_auth_header():
            self.send_header(name, value)
        if has_body(reply.status):
            self.send_header("Content-Type", reply.content_type)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(reply.body) if length is None else length))
        sent = 0
        try:
            self.end_headers()
            self.wfile.flush()
            if not has_body(reply.status):
                return
            for piece in pieces:
                for start in range(0, len(piece), chunk or len(piece) or 1):
                    part = piece[start:start + chunk] if chunk else piece
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                    self.wfile.flush()
                    sent += len(part)
                    if chunk and interval and sent < len(reply.body):
                        time.sleep(interval)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except (OSError, ValueError) as error:  # the client hung up (ValueError: the file was closed under us)
            self.close_connection = True
            log(f"[connection {self.connection_id}] client hung up after {sent} body bytes: {error!r}")

    def send_truncated(self, reply):
        """Send the headers with the full Content-Length, only half the body, then close the connection.

        An answer without a body (204) is cut inside its status line instead (a client would take a
        204 cut inside its headers for a whole one).
        """
        self.close_connection = True
        if reply.status != 204 and reply.body:
            self.send_response(reply.status)
            for name, value in reply.headers + self.take_auth_header():
                self.send_header(name, value)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body[:len(reply.body) // 2])
        else:
            self.log_request(reply.status)
            self.wfile.write(f"HTTP/1.1 {reply.status}"[:10].encode("ascii"))
        self.wfile.flush()
        log(f"[connection {self.connection_id}] answer truncated and connection closed (injected fault)")

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

    def take_auth_header(self):
        """[the WWW-Authenticate header with the server's final Negotiate token], once, or []."""
        header, self.auth_header = self.auth_header, None
        return [header] if header else []

    def send_reply(self, reply):
        """Send a Reply with Content-Type and Content-Length (none for 204), keeping the connection open."""
        self.send_response(reply.status)
        for name, value in reply.headers + self.take_auth_header():
            self.send_header(name, value)
        if has_body(reply.status):
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if has_body(reply.status):
            self.wfile.write(reply.body)
        self.wfile.flush()
        if reply.status < 200:
            self.close_connection = True  # an interim answer with no final one after it (raw rules only)


def reply_sent(kind, reply):
    """What goes on the wire for a fault kind: None for a reset, the reply spoiled for malformed_json, else the reply."""
    if kind in ("reset_before", "reset_after"):
        return None
    if kind == "malformed_json":
        return malformed_json(reply)
    return reply
