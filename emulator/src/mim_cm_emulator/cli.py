"""The command line: `mim-cm-emulator --state-dir DIR ...` (or `python -m mim_cm_emulator`). Prints the base URL as
the first line on stdout once listening, writes everything else to stderr, stops cleanly on SIGTERM or SIGINT.
"""

import argparse
import ipaddress
import json
import os
import signal
import sys

from . import __version__, control
from .admin import AdminDoor, InFlight
from .api import CMApi
from .auth import AUTH_SCHEMES
from .common import APP_ROOT, log
from .control import DETACHED_LOG
from .faults import FaultBook, parse_fault_rules
from .server import EmulatorServer, ExchangeLog
from .store import STATUS_NAMES, load_seed, parse_transition, RequestStore, TemplateCatalog, UserDirectory
from .tls import TlsMaterial

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
# The seed and users the emulator starts with when none are given (made-up names, GUIDs and passwords).
DEFAULT_SEED = os.path.join(DATA_DIR, "seed.json")
DEFAULT_USERS = os.path.join(DATA_DIR, "users.txt")


def parse_args(argv):
    """The command line (see the emulator guide)."""
    parser = argparse.ArgumentParser(prog="mim-cm-emulator", description="Emulate the MIM CM REST API on loopback, for tests.")
    parser.add_argument("--state-dir", required=True, help="where ca.pem, url, emulator.pid and exchanges.jsonl go (created if needed)")
    parser.add_argument("--detach", action="store_true",
                        help="start in the background: return once it is ready, after printing the ready lines; "
                             f"its stderr goes to {DETACHED_LOG} in the state directory")
    parser.add_argument("--ready-file", metavar="FILE", help="once ready, write the ready JSON (url, ca_path, pid, ...) to FILE")
    parser.add_argument("--stop", action="store_true", help="stop the emulator running with this --state-dir (its emulator.pid) and exit")
    parser.add_argument("--seed", default=DEFAULT_SEED,
                        help="seed JSON: users' GUIDs, read-only users, requests, profile templates and their policies (default: %(default)s)")
    parser.add_argument("--users", default=DEFAULT_USERS, help="NTLM users file, DOMAIN:USER:PASSWORD a line (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--plain-http", action="store_true", help="serve plain HTTP instead of TLS (no channel bindings)")
    parser.add_argument("--read-only-user", action="append", metavar="NAME",
                        help="DOMAIN\\user who gets 403 on PUT and POST; repeatable; replaces the seed's read_only_users")
    parser.add_argument("--unknown-request", choices=("204", "404", "403"), default="204", help="answer to GET of an unknown GUID (default: 204)")
    parser.add_argument("--empty-search", choices=("204", "array"), default="204", help="answer to a search without match (default: 204)")
    parser.add_argument("--put-response", choices=("200", "204"), default="200", help="answer to a successful PUT (default: 200 with the Request)")
    parser.add_argument("--request-types", choices=("emulator", "documented"), default="emulator",
                        help="request types POST takes: all twelve names, the undocumented ones with the emulator's own numbers "
                             "from 101 (default), or only the documented Enroll (1) and Unblock (5)")
    parser.add_argument("--transition", action="append", default=[], metavar="TARGET=FROM[,FROM...]",
                        help="the statuses a PUT to TARGET (Completed, Canceled, Abandoned) may start from, instead of the "
                             "inferred default, e.g. Canceled=Approved,Executing; TARGET= refuses every such change; repeatable")
    parser.add_argument("--api-disabled", action="store_true", help="Clm.WebApi.Enabled off: every API path answers 404")
    parser.add_argument("--fault", action="append", default=[], metavar="JSON",
                        help="a fault rule (JSON object) or a list of rules, loaded at start; repeatable (see the emulator guide)")
    parser.add_argument("--latency-ms", type=float, default=0.0, metavar="MS",
                        help="delay every API exchange, 401 legs included, by MS milliseconds (a network round trip; default 0)")
    parser.add_argument("--cert-hostname", action="append", metavar="NAME",
                        help="issue the server certificate for NAME instead of 127.0.0.1 and localhost; repeatable")
    parser.add_argument("--channel-binding", choices=("require", "accept", "off"), default="require",
                        help="channel bindings over TLS (NTLM and Kerberos): require them (default), check them when sent (accept), or ignore them (off)")
    parser.add_argument("--auth", choices=tuple(AUTH_SCHEMES), default="both",
                        help="the schemes offered in WWW-Authenticate: NTLM only (raw NTLM), Negotiate only (SPNEGO: Kerberos "
                             "or NTLM inside it), or both (default, as IIS: Negotiate, then NTLM)")
    parser.add_argument("--keytab", metavar="FILE",
                        help="the Kerberos keytab of the HTTP/<host> service principal (sets KRB5_KTNAME; default: KRB5_KTNAME "
                             "from the environment); Kerberos also needs KRB5_CONFIG and the Python gssapi and krb5 libraries")
    args = parser.parse_args(argv)
    check_ranges(parser, args)
    args.allowed_from = dict(parsed(parser, "--transition", args.transition, parse_transition))
    fault_lists = parsed(parser, "--fault", args.fault, lambda text: parse_fault_rules(json.loads(text)))
    args.fault_rules = [rule for rules in fault_lists for rule in rules]
    return args


def check_ranges(parser, args):
    """parser.error (exit 2) for a port, latency, host or certificate switch out of range."""
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0 (a free port) to 65535, not {args.port}")
    if args.latency_ms < 0:
        parser.error("--latency-ms must be 0 or more")
    if args.plain_http and args.cert_hostname:
        parser.error("--cert-hostname needs TLS; it cannot be combined with --plain-http")
    if args.host != "localhost":
        try:
            loopback = ipaddress.IPv4Address(args.host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            parser.error("--host must be localhost or an IPv4 loopback address")


def parsed(parser, switch, texts, parse):
    """[parse(text) for each text]; parser.error (exit 2) naming the switch and the text when one is not valid."""
    values = []
    for text in texts:
        try:
            values.append(parse(text))
        except ValueError as error:  # FaultError is a ValueError, and so is bad JSON
            parser.error(f"{switch} {text}: {error}")
    return values


def kerberos_status():
    """One line on what Kerberos inside Negotiate can do here: the keytab and the libraries, or why not."""
    try:
        import gssapi  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
        import krb5  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
    except ImportError as error:
        return f"Kerberos unavailable ({error}: pip install 'pyspnego[kerberos]'); NTLM inside SPNEGO only"
    keytab = os.environ.get("KRB5_KTNAME")
    if not keytab:
        return "Kerberos with the default keytab (no KRB5_KTNAME, no --keytab)"
    return f"Kerberos with keytab {keytab} (krb5.conf: {os.environ.get('KRB5_CONFIG', 'the system default')})"


def main(argv=None):
    """Start the emulator, print its ready lines, serve until SIGTERM or SIGINT; return the exit code.

    --stop stops the one running with this state directory; --detach starts it in the background.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    state_dir = os.path.abspath(args.state_dir)
    if args.stop:
        return control.stop(state_dir)
    if args.detach:
        return control.start_detached(argv, state_dir)
    try:
        users, store, templates, read_only = load_data(args)
    except (OSError, ValueError) as error:
        log(f"error: {error}")
        return 2
    if not set_auth_environment(args):
        return 2
    try:
        server = make_server(args, state_dir, users, store, templates)
    except OSError as error:
        log(f"error: cannot start on {args.host}:{args.port} with state in {state_dir}: {error}")
        return 2
    url = f"{'http' if args.plain_http else 'https'}://{args.host}:{server.server_port}{APP_ROOT}"
    for name, text in (("url", url), ("emulator.pid", str(os.getpid()))):
        with open(os.path.join(state_dir, name), "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return serve(args, server, url, state_dir, read_only)


def load_data(args):
    """The seed and users files as (user directory, request store, template catalog, read-only user names)."""
    seed = load_seed(args.seed)
    read_only = args.read_only_user if args.read_only_user is not None else seed["read_only_users"]
    users = UserDirectory(os.path.abspath(args.users), seed["users"], read_only)
    return users, RequestStore(seed["requests"], args.allowed_from), TemplateCatalog(seed["profile_templates"]), read_only


def set_auth_environment(args):
    """Point pyspnego's NTLM acceptor at the users file and, with --keytab, Kerberos at the keytab.

    False (after saying why) when the keytab file does not exist.
    """
    os.environ["NTLM_USER_FILE"] = os.path.abspath(args.users)  # pyspnego's NTLM acceptor reads its users from here
    if args.keytab:
        if not os.path.isfile(args.keytab):
            log(f"error: --keytab {args.keytab}: no such file")
            return False
        os.environ["KRB5_KTNAME"] = "FILE:" + os.path.abspath(args.keytab)
    return True


def make_server(args, state_dir, users, store, templates):
    """The listening server, its state directory, TLS material and exchange log made; OSError if any cannot be."""
    os.makedirs(state_dir, exist_ok=True)
    tls = None if args.plain_http else TlsMaterial(state_dir, args.host, args.cert_hostname)
    exchanges = ExchangeLog(os.path.join(state_dir, "exchanges.jsonl"))
    admin = AdminDoor(store, FaultBook(args.fault_rules), InFlight(), exchanges)
    return EmulatorServer((args.host, args.port), CMApi(store, users, args, templates), admin, users, exchanges, tls, args)


def serve(args, server, url, state_dir, read_only):
    """Announce the ready record and serve until SIGTERM or SIGINT; return the exit code.

    Whatever happens, the server and its exchange log are closed and emulator.pid is removed.
    """

    def stop(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    pid_path = os.path.join(state_dir, "emulator.pid")
    try:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            control.announce(control.ready_record(url, state_dir, server.tls, __version__), args.ready_file)
        except OSError as error:
            log(f"error: cannot write the --ready-file: {error}")
            return 2
        log_settings(args, server, url, state_dir, read_only)
        server.serve_forever()
    except KeyboardInterrupt as reason:
        log(f"stopping ({reason})")
    finally:
        server.server_close()
        server.exchanges.close()
        if os.path.exists(pid_path):
            os.remove(pid_path)
    return 0


def log_settings(args, server, url, state_dir, read_only):
    """What this emulator does, on stderr once it is ready: where it listens, TLS, authentication, latency, faults."""
    log(f"MIM CM emulator listening on {url} (state in {state_dir}; read-only users: {', '.join(sorted(read_only)) or 'none'})")
    if server.tls:
        log(f"server certificate for {', '.join(server.tls.identities)}; channel bindings: {args.channel_binding}")
    log(f"authentication offered: {', '.join(server.schemes)}; {kerberos_status() if 'Negotiate' in server.schemes else 'no Kerberos'}")
    if args.latency_ms:
        log(f"latency: {args.latency_ms:g} ms per API exchange")
    for target, allowed in args.allowed_from.items():
        log(f"transition: PUT {target} from {', '.join(STATUS_NAMES[number] for number in allowed) or 'no status'}")
    for rule in args.fault_rules:
        log(f"fault rule: {rule.describe()}")


def run():
    """The console script's entry point: main(), its result as the exit code."""
    sys.exit(main())
