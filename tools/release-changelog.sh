#!/usr/bin/env bash
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Release the changelog for the version in galaxy.yml, once per version (`make changelog-release`).
#
#   release-changelog.sh [COLLECTION_DIR]
#
# antsibull-changelog moves every fragment of changelogs/fragments into changelogs/changelog.yaml under
# that version, deletes the fragments (keep_fragments: false) and writes CHANGELOG.rst. Run it when the
# release is cut, after every change of the release has its fragment; then commit CHANGELOG.rst,
# changelogs/changelog.yaml and the removal of the fragments together.
# antsibull-changelog and ansible-doc must be on PATH (the Makefile puts its ecosystem venv first).
set -euo pipefail

cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}"

version=$(sed -n 's/^version:[[:space:]]*["'\'']\{0,1\}\([^"'\''[:space:]]*\).*$/\1/p' galaxy.yml)
if [[ -z $version ]]; then
    echo "release-changelog.sh: no version in $(pwd)/galaxy.yml" >&2
    exit 1
fi
if [[ -f changelogs/changelog.yaml ]] && grep -Eq "^  ['\"]?${version//./\\.}['\"]?:" changelogs/changelog.yaml; then
    echo "release-changelog.sh: $version is already released in changelogs/changelog.yaml; bump version in galaxy.yml first" >&2
    exit 1
fi

antsibull-changelog lint
antsibull-changelog release --version "$version"
# The plugin list antsibull-changelog caches for itself; it is rebuilt at the next release.
rm -f changelogs/.plugin-cache.yaml
# Keep the (now empty) fragments directory in git for the next change's fragment.
mkdir -p changelogs/fragments && touch changelogs/fragments/.keep
antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

echo "Released $version. Commit it: git add --all CHANGELOG.rst changelogs/"
