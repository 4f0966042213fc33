"""The command line as CI scripts use it: the ready lines and file, --detach and --stop, and exit code 2 with a clear
message for bad arguments, a bad seed or a port already taken. Real processes, stopped by PID."""

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

from mim_cm_emulator import __version__
from mim_cm_emulator.control import READY_KEYS
from mim_cm_emulator.launcher import EMULATOR_COMMAND, stop_by_pid


def run_cli(*args, timeout=60):
    return subprocess.run([*EMULATOR_COMMAND, *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        return handle.read().split(") ", 1)[1][0] != "Z"  # a zombie has stopped already


def test_foreground_prints_the_url_then_a_json_line_and_writes_the_ready_file(tmp_path):
    state, ready_file = tmp_path / "state", tmp_path / "ready.json"
    process = subprocess.Popen([*EMULATOR_COMMAND, "--state-dir", str(state), "--ready-file", str(ready_file)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url, line = process.stdout.readline().strip(), process.stdout.readline()
        ready = json.loads(line)
        assert tuple(ready) == READY_KEYS and ready["url"] == url and url.startswith("https://127.0.0.1:")
        assert (ready["pid"], ready["version"], ready["state_dir"]) == (process.pid, __version__, str(state))
        assert ready["ca_path"] == str(state / "ca.pem") and os.path.isfile(ready["ca_path"])
        assert ready["admin_url"] == url.replace("/CertificateManagement", "/_emulator")
        assert json.loads(ready_file.read_text(encoding="utf-8")) == ready
        assert not list(tmp_path.glob("*.tmp"))  # written through a rename
    finally:
        assert stop_by_pid(process) == 0
        process.stdout.close()


def test_detach_returns_once_ready_and_stop_stops_it(tmp_path):
    state = tmp_path / "state"
    started = run_cli("--detach", "--state-dir", state, "--plain-http", "--ready-file", tmp_path / "ready.json")
    assert started.returncode == 0, started.stderr
    url, line = started.stdout.splitlines()
    ready = json.loads(line)
    pid = ready["pid"]
    try:
        assert url == ready["url"] and ready["ca_path"] is None and alive(pid) and pid != os.getpid()
        assert int((state / "emulator.pid").read_text(encoding="utf-8")) == pid
        with urllib.request.urlopen(ready["admin_url"] + "/faults", timeout=10) as answer:
            assert json.loads(answer.read()) == []
        assert "stop it with: mim-cm-emulator --stop" in started.stderr
        stopped = run_cli("--stop", "--state-dir", state)
        assert stopped.returncode == 0 and f"stopped the emulator (PID {pid})" in stopped.stderr
        assert not alive(pid) and not (state / "emulator.pid").exists()
        assert "stopping (SIGTERM)" in (state / "emulator.log").read_text(encoding="utf-8")
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    again = run_cli("--stop", "--state-dir", state)
    assert again.returncode == 0 and "no emulator to stop" in again.stderr


def test_stop_never_kills_another_program_named_by_a_stale_pid_file(tmp_path):
    other = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "emulator.pid").write_text(f"{other.pid}\n", encoding="utf-8")
        result = run_cli("--stop", "--state-dir", tmp_path)
        assert result.returncode == 0 and "is gone or is another program" in result.stderr
        assert other.poll() is None and not (tmp_path / "emulator.pid").exists()
    finally:
        stop_by_pid(other)


def test_detach_reports_a_child_that_fails_to_start(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text('{"requests": [{"Uuid": "x"}]}', encoding="utf-8")
    result = run_cli("--detach", "--state-dir", tmp_path / "state", "--seed", seed)
    assert result.returncode == 2 and result.stdout == ""
    assert "the detached emulator exited with code 2" in result.stderr and "Uuid must be a GUID" in result.stderr


@pytest.fixture
def taken_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


@pytest.mark.parametrize("args, message", [
    (["--no-such-switch"], "unrecognized arguments: --no-such-switch"),
    (["--port", "99999"], "--port must be 0 (a free port) to 65535"),
    (["--host", "10.1.2.3"], "--host must be localhost or an IPv4 loopback address"),
    (["--latency-ms", "-1"], "--latency-ms must be 0 or more"),
    (["--fault", "{not json"], "--fault {not json"),
    (["--transition", "Approved=Pending"], "--transition Approved=Pending: give TARGET=FROM[,FROM...] with TARGET one of Completed"),
    (["--transition", "Completed=Waiting"], "--transition Completed=Waiting: 'Waiting' is not a status"),
    (["--seed", "/nonexistent/seed.json"], "No such file or directory: '/nonexistent/seed.json'"),
    (["--users", "/nonexistent/users.txt"], "No such file or directory: '/nonexistent/users.txt'"),
    (["--ready-file", "/nonexistent/dir/ready.json"], "cannot write the --ready-file"),
], ids=["unknown-switch", "port-range", "host", "latency", "fault", "transition-target", "transition-from", "seed-missing", "users-missing", "ready-file"])
def test_bad_arguments_exit_2_with_a_clear_message(tmp_path, args, message):
    result = run_cli("--state-dir", tmp_path / "state", *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_seed_that_is_not_json_exits_2(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text("{", encoding="utf-8")
    result = run_cli("--state-dir", tmp_path / "state", "--seed", seed)
    assert result.returncode == 2 and result.stdout == "" and "error: Expecting property name" in result.stderr


def test_a_port_already_taken_exits_2(tmp_path, taken_port):
    result = run_cli("--state-dir", tmp_path / "state", "--port", taken_port)
    assert result.returncode == 2 and result.stdout == ""
    assert f"cannot start on 127.0.0.1:{taken_port}" in result.stderr and "Address already in use" in result.stderr


def test_python_m_and_the_console_script_take_the_same_switches():
    assert sys.executable == EMULATOR_COMMAND[0]
    result = run_cli("--help")
    assert result.returncode == 0
    for switch in ("--detach", "--ready-file", "--stop", "--seed", "--auth", "--channel-binding", "--plain-http", "--fault"):
        assert switch in result.stdout
