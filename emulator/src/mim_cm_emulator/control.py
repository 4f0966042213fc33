"""Running the emulator from scripts and CI: the ready signal, starting detached, and stopping by the PID file.

Ready signal: once listening, the emulator prints its base URL as the first line on stdout (as it always has),
then one JSON line with everything a script needs (READY_KEYS), and with --ready-file writes the same JSON to
that file (atomically: a reader never sees half of it).
"""

import json
import os
import select
import signal
import subprocess
import sys
import time

from .common import log

READY_KEYS = ("url", "ca_path", "ca_bundle_path", "admin_url", "state_dir", "exchange_log", "pid", "version")
DETACHED_LOG = "emulator.log"  # where a detached emulator's stderr goes, in its state directory


def ready_record(url, state_dir, tls, version):
    """The ready signal's JSON object (READY_KEYS, in that order)."""
    scheme_host = url.split("/CertificateManagement", 1)[0]
    return {
        "url": url,
        "ca_path": os.path.join(state_dir, "ca.pem") if tls else None,
        "ca_bundle_path": os.path.join(state_dir, "ca-bundle.pem") if tls else None,
        "admin_url": scheme_host + "/_emulator",
        "state_dir": state_dir,
        "exchange_log": os.path.join(state_dir, "exchanges.jsonl"),
        "pid": os.getpid(),
        "version": version,
    }


def announce(record, ready_file):
    """Write the JSON to ready_file (if given) via a rename, then print the URL line and the JSON line on stdout.

    The file first: a script that has read the lines finds the file there.
    """
    if ready_file:
        partial = f"{ready_file}.{os.getpid()}.tmp"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        os.replace(partial, ready_file)
    print(record["url"], flush=True)
    print(json.dumps(record), flush=True)


def start_detached(argv, state_dir, timeout=60):
    """Start the emulator again without --detach in a session of its own; wait for its ready lines and print them.

    Returns the exit code for this (parent) process: 0 once the child is ready, 2 if it exits or stays silent.
    The child's stderr goes to DETACHED_LOG in the state directory.
    """
    os.makedirs(state_dir, exist_ok=True)
    log_path = os.path.join(state_dir, DETACHED_LOG)
    command = [sys.executable, "-m", "mim_cm_emulator"] + [arg for arg in argv if arg != "--detach"]
    with open(log_path, "ab") as stderr:
        # Unbuffered: select() below must see every line still to read (a buffer could hold the second one).
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,  # pylint: disable=consider-using-with
                                 start_new_session=True, bufsize=0)
    deadline = time.monotonic() + timeout
    lines = []
    ended = False
    while len(lines) < 2 and time.monotonic() < deadline:
        if not select.select([child.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            break  # silent until the deadline
        line = child.stdout.readline()  # the child prints both lines at once, or exits (EOF)
        if not line:
            ended = True
            break
        lines.append(line.decode("utf-8").rstrip("\n"))
    child.stdout.close()
    if len(lines) < 2:
        try:
            code = child.wait(timeout=10 if ended else 0)  # its stdout closed: it is exiting; take its exit code
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            os.kill(child.pid, signal.SIGTERM)
            child.wait()
        log(f"error: the detached emulator {'exited with code %s' % code if code is not None else 'was not ready in time'}; "
            f"its log, {log_path}, says:\n{tail(log_path)}")
        return 2
    print("\n".join(lines), flush=True)
    log(f"detached emulator running as PID {child.pid}; its log: {log_path}; stop it with: mim-cm-emulator --stop --state-dir {state_dir}")
    return 0


def tail(path, lines=15):
    """The last lines of a text file, for an error message."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:]).rstrip("\n")
    except OSError as error:
        return f"(unreadable: {error})"


def is_emulator(pid):
    """Whether the process with this PID runs the emulator (so a stale PID file never stops another program)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read().replace(b"\0", b" ")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: trust the PID file
        return True
    return b"mim_cm_emulator" in command or b"mim-cm-emulator" in command


def stop(state_dir, timeout=10):
    """Stop the emulator whose PID file is in state_dir: SIGTERM, wait for it to go; return the exit code for --stop."""
    pid_path = os.path.join(state_dir, "emulator.pid")
    try:
        with open(pid_path, encoding="utf-8") as handle:
            pid = int(handle.read().strip())
    except FileNotFoundError:
        log(f"no emulator to stop: {pid_path} does not exist (it was never started, or stopped already)")
        return 0
    except (OSError, ValueError) as error:
        log(f"error: cannot read {pid_path}: {error}")
        return 2
    if not is_emulator(pid):
        log(f"no emulator to stop: process {pid} from {pid_path} is gone or is another program; removing the stale file")
        os.remove(pid_path)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and is_emulator(pid):
        time.sleep(0.05)
    if is_emulator(pid):
        log(f"error: the emulator (PID {pid}) did not stop within {timeout} s of SIGTERM")
        return 2
    log(f"stopped the emulator (PID {pid})")
    return 0
