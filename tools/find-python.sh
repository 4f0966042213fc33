#!/usr/bin/env bash
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Print the path of a working Python interpreter of version X.Y (the first argument), or fail.
#
# pyenv's shims (python3.8, python3.13, ...) are on PATH but fail unless that version is pyenv's
# selected one, so a name on PATH is not enough: every candidate is run and must report X.Y.
# Candidates: $PYENV_ROOT/versions/X.Y.*/bin/pythonX.Y (newest patch first), then pythonX.Y on PATH.
set -euo pipefail

version=${1:?usage: find-python.sh X.Y}
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}

candidates=()
if [[ -d $pyenv_root/versions ]]; then
    while IFS= read -r candidate; do
        candidates+=("$candidate")
    done < <(find "$pyenv_root/versions" -mindepth 3 -maxdepth 3 -path "*/versions/$version.*/bin/python$version" 2>/dev/null | sort -rV)
fi
if on_path=$(command -v "python$version" 2>/dev/null); then
    candidates+=("$on_path")
fi

for candidate in "${candidates[@]}"; do
    if reported=$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) && [[ $reported == "$version" ]]; then
        echo "$candidate"
        exit 0
    fi
done
echo "find-python.sh: no working Python $version (looked in $pyenv_root/versions and PATH)" >&2
exit 1
