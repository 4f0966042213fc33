"""The package itself: its version follows the collection's, and both entry points start the same command line."""

import importlib.metadata
import pathlib
import shutil
import subprocess
import sys

import yaml

import mim_cm_emulator

GALAXY_YML = pathlib.Path(__file__).resolve().parents[2] / "galaxy.yml"


def test_version_is_the_collections():
    collection_version = yaml.safe_load(GALAXY_YML.read_text(encoding="utf-8"))["version"]
    assert mim_cm_emulator.__version__ == collection_version
    assert importlib.metadata.version("mim-cm-emulator") == collection_version


def test_console_script_and_python_m_are_the_same_command():
    script = shutil.which("mim-cm-emulator", path=str(pathlib.Path(sys.executable).parent))
    assert script, "the mim-cm-emulator console script is not installed next to this Python"
    outputs = [subprocess.run(command + ["--help"], capture_output=True, text=True, timeout=30, check=True).stdout
               for command in ([script], [sys.executable, "-m", "mim_cm_emulator"])]
    assert outputs[0] == outputs[1] and outputs[0].startswith("usage: mim-cm-emulator ")
    assert "--state-dir" in outputs[0]


def test_default_seed_and_users_ship_inside_the_package():
    data = pathlib.Path(mim_cm_emulator.__file__).parent / "data"
    assert (data / "seed.json").is_file() and (data / "users.txt").is_file()
