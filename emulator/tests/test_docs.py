"""The emulator guide (docs/docsite/rst/emulator.rst in the mim.cm repository) against the server: the admin API
it documents is the admin API the server has, and its examples run as written."""

import pathlib
import re
import subprocess

import pytest

from mim_cm_emulator.admin import AdminDoor
from mim_cm_emulator.launcher import EmulatorProcess

GUIDE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "docsite" / "rst" / "emulator.rst"
pytestmark = pytest.mark.skipif(not GUIDE.is_file(), reason="the emulator guide of the mim.cm repository is not here")


def admin_section():
    text = GUIDE.read_text(encoding="utf-8")
    return text[text.index("The admin API\n-------------"):text.index(".. _ansible_collections.mim.cm.docsite.emulator.faults:")]


def admin_examples():
    """The lines of the bash block in the admin API section."""
    block = admin_section().split(".. code-block:: bash\n\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if line and not line.startswith("   "):
            break
        lines.append(line[3:])
    return "\n".join(lines).strip()


def server_routes():
    return {(method, template) for method, template, _handler in AdminDoor(None, None, None).routes}


def test_the_guide_lists_every_admin_route_and_no_other():
    documented = set(re.findall(r"^   \* - (GET|POST|PUT|DELETE|PATCH) ``/_emulator/([^`]+)``$", admin_section(), re.MULTILINE))
    assert documented == server_routes()


def test_every_admin_route_has_an_example():
    door = AdminDoor(None, None, None)
    covered = set()
    for line in admin_examples().splitlines():
        call = re.search(r'\$CURL (?:-X (\w+) )?"\$ADMIN/([^"]*)"', line)
        if not call:
            continue
        method, path = call.group(1) or "GET", re.sub(r"\$\w+", "5eed0016-0000-4000-8000-000000000001", call.group(2))
        routes = zip(door.routes, door._patterns)  # pylint: disable=protected-access
        matching = [(route_method, template) for (route_method, template, _handler), pattern in routes if route_method == method and pattern.fullmatch(path)]
        assert len(matching) == 1, line
        covered.update(matching)
    assert covered == server_routes()


def test_the_admin_examples_run_as_written(tmp_path):
    state = tmp_path / "state"
    with EmulatorProcess(state, "--ready-file", state / "ready.json"):
        result = subprocess.run(["bash", "-c", "set -euo pipefail\n" + admin_examples()], env={"STATE": str(state), "PATH": "/usr/bin:/bin"},
                                capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["12", "16", "3", "4", "18", "8", "1", "2", "0", "0"]
