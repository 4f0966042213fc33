#!/usr/bin/env bash
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The module-side sanity tests (compile and import) on every target Python.
#
#   sanity-pythons.sh VENV_BIN COLLECTION_DIR [X.Y ...]
#
# VENV_BIN holds the ansible-test under test; COLLECTION_DIR is a copy at .../ansible_collections/mim/cm.
# Without versions: every Python this ansible-test supports that tests/config.yml's
# modules.python_requires admits. Each must be installed (pyenv or PATH): a missing one fails, so the
# matrix never shrinks silently; name the versions to run fewer.
set -euo pipefail

venv_bin=${1:?usage: sanity-pythons.sh VENV_BIN COLLECTION_DIR [X.Y ...]}
collection=${2:?usage: sanity-pythons.sh VENV_BIN COLLECTION_DIR [X.Y ...]}
shift 2
tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if (($# == 0)); then
    # ansible-core requires packaging and PyYAML, so the test venv has both.
    mapfile -t versions < <(cd "$collection" && "$venv_bin/python" - <<'EOF'
from ansible_test._util.target.common.constants import CONTROLLER_PYTHON_VERSIONS, REMOTE_ONLY_PYTHON_VERSIONS
from packaging.specifiers import SpecifierSet
import yaml

with open('tests/config.yml') as config_file:
    requires = ((yaml.safe_load(config_file) or {}).get('modules') or {}).get('python_requires', '')
admitted = SpecifierSet('' if requires in ('', 'default', 'controller') else requires)
for version in REMOTE_ONLY_PYTHON_VERSIONS + CONTROLLER_PYTHON_VERSIONS:
    if admitted.contains(version + '.0'):
        print(version)
EOF
)
else
    versions=("$@")
fi
if ((${#versions[@]} == 0)); then
    echo "sanity-pythons.sh: no target Python to test" >&2
    exit 1
fi
echo "compile and import sanity on Python ${versions[*]} ($("$venv_bin/ansible-test" --version))"

failed=()
for version in "${versions[@]}"; do
    if ! interpreter=$("$tools_dir/find-python.sh" "$version"); then
        failed+=("$version (not installed)")
        continue
    fi
    echo "=== Python $version: $interpreter"
    # ansible-test looks pythonX.Y up on PATH; put the real interpreter ahead of pyenv's shims.
    if ! (cd "$collection" && PATH="$(dirname "$interpreter"):$venv_bin:$PATH" \
            "$venv_bin/ansible-test" sanity --test compile --test import --python "$version" --venv --color no); then
        failed+=("$version")
    fi
done

if ((${#failed[@]})); then
    echo "sanity-pythons.sh: compile/import sanity failed on Python ${failed[*]}" >&2
    exit 1
fi
echo "compile and import sanity passed on Python ${versions[*]}"
