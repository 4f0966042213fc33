"""Authentication as IIS does it: raw NTLM and HTTP Negotiate (SPNEGO with Kerberos or NTLM inside), one
handshake per TCP connection, and channel binding checks (Extended Protection) over TLS.

ServerAuth holds what all connections share (acceptors, the 401 answer, which bindings to check); HandlerAuth
runs one connection's handshake leg by leg. The server (server.py) mixes them in.
"""

import base64
import binascii
import struct

import spnego

from .common import HTML_TYPE, log
from .replies import Reply, UNAUTHORIZED_HTML

try:  # pyspnego's SPNEGO token parser, to see which mechanism a Negotiate token carries (and its NTLM bindings)
    from spnego._spnego import NegTokenInit, NegTokenResp, unpack_token
except ImportError:  # pragma: no cover - a pyspnego without it still serves NTLM
    NegTokenInit = NegTokenResp = unpack_token = None


# GSS_C_CHANNEL_BOUND_FLAG: MIT krb5 (1.19+) sets it on an accepted context whose channel bindings matched.
GSS_C_CHANNEL_BOUND_FLAG = 2048


# What --auth offers in WWW-Authenticate, in this order (IIS lists Negotiate first).
AUTH_SCHEMES = {"ntlm": ("NTLM",), "negotiate": ("Negotiate",), "both": ("Negotiate", "NTLM")}


NTLM_SIGNATURE = b"NTLMSSP\x00"
AV_EOL, AV_CHANNEL_BINDINGS = 0, 10  # MS-NLMP AV_PAIR ids: MsvAvEOL, MsvAvChannelBindings


def ntlm_sent_bindings(token):
    """The channel bindings hash an NTLM AUTHENTICATE (type 3) message carries, or None if it carries none.

    None also for an all-zero hash (what a client sends when it has no bindings to give) and for an
    NTLMv1 or malformed response, which have no AV pairs to look in (MS-NLMP 2.2.1.3, 2.2.2.1, 2.2.2.7).
    """
    try:
        length, _max_length, offset = struct.unpack("<HHI", token[20:28])
        response = token[offset:offset + length]
        position = 16 + 28  # NTProofStr, then the NTLMv2_CLIENT_CHALLENGE header; its AV pairs follow
        while position + 4 <= len(response):
            av_id, av_length = struct.unpack("<HH", response[position:position + 4])
            if av_id == AV_EOL:
                break
            if av_id == AV_CHANNEL_BINDINGS:
                value = response[position + 4:position + 4 + av_length]
                return value if value.strip(b"\x00") else None
            position += 4 + av_length
    except struct.error:
        pass
    return None


class BindingsRefused(Exception):
    """A login refused before pyspnego sees it: channel bindings required but not sent."""


def negotiate_inner_token(token):
    """(the mechanism token inside a Negotiate token, "ntlm" or "kerberos" or None when unknown).

    A SPNEGO NegTokenInit carries its first mechanism's token, a NegTokenResp the next one (or none); any
    other token is raw: NTLM by its signature, else Kerberos.
    """
    if token.startswith(NTLM_SIGNATURE):
        return token, "ntlm"
    try:
        parsed = unpack_token(token) if unpack_token else None
    except Exception:  # pylint: disable=broad-exception-caught
        parsed = None
    inner = token
    if NegTokenInit is not None and isinstance(parsed, NegTokenInit):
        inner = parsed.mech_token or b""
    elif NegTokenResp is not None and isinstance(parsed, NegTokenResp):
        inner = parsed.response_token or b""
        if not inner:
            return inner, None
    return inner, "ntlm" if inner.startswith(NTLM_SIGNATURE) else "kerberos"


def channel_bound(context):
    """Whether an accepted Kerberos context says the initiator's channel bindings matched (GSS_C_CHANNEL_BOUND_FLAG)."""
    inner = getattr(context, "_context", None)  # NegotiateProxy -> the chosen mechanism's GSSAPIProxy
    flags = getattr(inner, "_context_attr", None)
    if flags is None:
        flags = getattr(context, "_context_attr", 0)
    return bool(int(flags or 0) & GSS_C_CHANNEL_BOUND_FLAG)


class ServerAuth:
    """The server's side of authentication: acceptors, the 401 answer and the channel bindings to check.

    Mixed into EmulatorServer, which sets tls, channel_binding and schemes.
    """

    def new_acceptor(self):
        """A fresh NTLM acceptor (users from NTLM_USER_FILE); bindings_for() says what its last step checks."""
        return spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)

    def new_negotiate_acceptor(self):
        """A fresh SPNEGO acceptor: Kerberos (the keytab in KRB5_KTNAME, any principal in it) or NTLM inside SPNEGO."""
        return spnego.server(protocol="negotiate", service="HTTP", hostname=self.server_name)

    def unauthorized(self):
        """IIS's answer to an unauthenticated request or a failed handshake: the schemes --auth offers."""
        return Reply(401, UNAUTHORIZED_HTML, HTML_TYPE, [("WWW-Authenticate", scheme) for scheme in self.schemes])

    def negotiate_bindings(self, inner):
        """(channel bindings to pass, whether the login must prove it carried them) for one Negotiate step.

        NTLM inside SPNEGO: as bindings_for(), on its AUTHENTICATE message. Kerberos: the bindings are in the
        encrypted authenticator, out of sight; they are passed to the acceptor (MIT krb5 refuses wrong ones and lets
        missing ones through), and with --channel-binding require the accepted context must say they matched.
        """
        if self.tls is None or self.channel_binding == "off":
            return None, False
        if inner.startswith(NTLM_SIGNATURE):
            message_type = struct.unpack("<I", inner[8:12])[0] if len(inner) >= 12 else 0
            return (self.bindings_for(inner) if message_type == 3 else None), False
        return self.tls.channel_bindings, self.channel_binding == "require"

    def bindings_for(self, token):
        """The channel bindings an NTLM type 3 token must match (None: no check), per --channel-binding.

        require: the token must carry bindings, and they must match; accept: they must match when the
        token carries them; off: never checked. Plain HTTP has no channel to bind to.
        """
        if self.tls is None or self.channel_binding == "off":
            return None
        if ntlm_sent_bindings(token) is None:
            if self.channel_binding == "require":
                raise BindingsRefused("channel bindings are required (Extended Protection) but the client sent none")
            return None
        return self.tls.channel_bindings


class HandlerAuth:
    """A connection's side of authentication: the NTLM and Negotiate handshakes, leg by leg.

    Mixed into CMHandler, which holds the connection's handshake state (ntlm, negotiate, user, mechanism).
    """

    def authenticate(self):
        """None when the connection is (now) authenticated; otherwise the 401 Reply to send.

        The login authenticates the connection, as IIS does: later requests need no Authorization
        header. Any Authorization header starts or continues a handshake and drops the old login.
        A raw NTLM token goes to the NTLM acceptor under either scheme (as IIS's Negotiate provider
        takes raw NTLM too); any other token under Negotiate goes to the SPNEGO acceptor.
        """
        header = self.headers.get("Authorization")
        if header is None:
            return None if self.user else self.server.unauthorized()
        self.user = None
        self.mechanism = None
        self.auth_header = None
        scheme, _sep, encoded = header.strip().partition(" ")
        scheme = {"ntlm": "NTLM", "negotiate": "Negotiate"}.get(scheme.lower())
        try:
            token = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            token = b""
        if scheme not in self.server.schemes:
            log(f"[connection {self.connection_id}] refused: the {header.split(' ', 1)[0]} scheme is not offered "
                f"(--auth offers {', '.join(self.server.schemes)})")
            self.ntlm = self.negotiate = None
            return self.server.unauthorized()
        if token.startswith(NTLM_SIGNATURE) and len(token) >= 12:
            self.negotiate = None
            return self.authenticate_ntlm(scheme, token)
        self.ntlm = None
        if scheme == "Negotiate" and token:
            return self.authenticate_negotiate(token)
        log(f"[connection {self.connection_id}] refused: only raw NTLM tokens are supported under NTLM")
        return self.server.unauthorized()

    def authenticate_ntlm(self, scheme, token):
        """One leg of a raw NTLM handshake (NEGOTIATE, then AUTHENTICATE), channel bindings per --channel-binding."""
        self.leg_mechanism = "ntlm"
        message_type = struct.unpack("<I", token[8:12])[0]
        if message_type == 1:
            self.ntlm = self.server.new_acceptor()
        elif message_type != 3 or self.ntlm is None:
            self.ntlm = None
            return self.server.unauthorized()
        try:
            bindings = self.server.bindings_for(token) if message_type == 3 else None
            answer = self.ntlm.step(token, channel_bindings=bindings)
        except Exception as error:  # pylint: disable=broad-exception-caught
            # Wrong password, unknown user, channel bindings missing or not matching, a malformed token.
            log(f"[connection {self.connection_id}] NTLM authentication failed: {error}")
            self.ntlm = None
            return self.server.unauthorized()
        if not self.ntlm.complete:
            challenge = base64.b64encode(answer or b"").decode("ascii")
            return Reply(401, UNAUTHORIZED_HTML, HTML_TYPE, [("WWW-Authenticate", f"{scheme} {challenge}")])
        self.user = self.server.users.canonical(self.ntlm.client_principal)
        self.mechanism = "ntlm"
        self.ntlm = None
        return None

    def authenticate_negotiate(self, token):
        """One leg of a Negotiate handshake: SPNEGO (Kerberos, or NTLM inside it) or a raw Kerberos token.

        A GSS initial token (0x60: a SPNEGO NegTokenInit or a raw Kerberos AP-REQ) starts a new handshake;
        a NegTokenResp continues the one under way. Kerberos takes one leg; the server's final token (the
        AP-REP, for mutual authentication) goes with the answer to the request.
        """
        if token[:1] == b"\x60":
            self.negotiate = self.server.new_negotiate_acceptor()
        elif self.negotiate is None:
            log(f"[connection {self.connection_id}] refused: a Negotiate continuation token without a handshake under way")
            return self.server.unauthorized()
        inner, mechanism = negotiate_inner_token(token)
        self.leg_mechanism = mechanism
        try:
            bindings, must_be_bound = self.server.negotiate_bindings(inner)
            answer = self.negotiate.step(token, channel_bindings=bindings)
            mechanism = self.negotiate.negotiated_protocol or mechanism
            self.leg_mechanism = mechanism
            if self.negotiate.complete and mechanism == "kerberos" and must_be_bound and not channel_bound(self.negotiate):
                raise BindingsRefused("channel bindings are required (Extended Protection) but the Kerberos authenticator carried none")
        except Exception as error:  # pylint: disable=broad-exception-caught
            # Kerberos: a ticket for a principal not in the keytab, a replay, wrong bindings, no gssapi;
            # NTLM: as in authenticate_ntlm.
            if isinstance(error, AttributeError) and mechanism == "kerberos":
                # python-gssapi turns a refusal into an error token instead of raising; pyspnego then fails to read
                # the flags of the context that was never established.
                error = ("the Kerberos acceptor refused the AP-REQ (channel bindings that do not match, a ticket for a "
                         "service principal the keytab lacks, or a replay)")
            log(f"[connection {self.connection_id}] Negotiate ({mechanism or 'unknown mechanism'}) authentication failed: {error}")
            self.negotiate = None
            return self.server.unauthorized()
        if not self.negotiate.complete:
            challenge = base64.b64encode(answer or b"").decode("ascii")
            return Reply(401, UNAUTHORIZED_HTML, HTML_TYPE, [("WWW-Authenticate", f"Negotiate {challenge}")])
        principal = self.negotiate.client_principal or ""
        user = self.server.users.from_kerberos(principal) if mechanism == "kerberos" else self.server.users.canonical(principal)
        self.negotiate = None
        if user is None:
            log(f"[connection {self.connection_id}] Negotiate (kerberos) authentication failed: "
                f"the principal {principal} has no user of that name in the users file")
            return self.server.unauthorized()
        log(f"[connection {self.connection_id}] Negotiate ({mechanism}) login as {user} ({principal})")
        self.user = user
        self.mechanism = mechanism
        if answer:
            self.auth_header = ("WWW-Authenticate", "Negotiate " + base64.b64encode(answer).decode("ascii"))
        return None
