#!/usr/bin/env bash
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build the docs site of mim.cm offline: antsibull-docs writes the reference of every module and role and
# the guides of docs/docsite/ (extra-docs.yml) as RST, Sphinx turns them into HTML, warnings are errors.
#
#   build-docs.sh DEST_DIR COLLECTION_DIR
#
# mim.cm must be importable through ANSIBLE_COLLECTIONS_PATH (from COLLECTION_DIR), and antsibull-docs,
# ansible-doc and sphinx-build must be on PATH (`make docs` sets all three). The site is DEST_DIR/build/html;
# the build fails unless it has a page for every module, role and guide of COLLECTION_DIR.
set -euo pipefail

dest=${1:?usage: build-docs.sh DEST_DIR COLLECTION_DIR}
source_dir=$(cd "${2:?usage: build-docs.sh DEST_DIR COLLECTION_DIR}" && pwd)
collection=mim.cm

rm -rf "$dest"
mkdir -p "$dest"
cd "$dest"

antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir . \
    --project "$collection" --copyright "mim.cm developers" \
    --title "mim.cm: Ansible collection for MIM Certificate Management" --html-short-title "$collection" \
    "$collection" >/dev/null
# Offline: no inventories of other docsites to download (sphinx-init's conf.py lists the usual ones).
printf '\n# Built offline (tools/build-docs.sh): no intersphinx inventories.\nintersphinx_mapping = {}\n' >> conf.py

mkdir -p rst
chmod og-w rst # antsibull-docs wants the directory writable by its owner only
antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --fail-on-error \
    --use-current --squash-hierarchy --dest-dir rst "$collection"

# The generated pages link to labels of the Ansible docsite, which an offline build cannot resolve.
# Define them here, each pointing readers to the Ansible documentation, so every other reference stays checked.
cat > rst/ansible_docsite_labels.rst <<'EOF'
:orphan:

Pages of the Ansible documentation
==================================

These pages are part of the Ansible documentation (docs.ansible.com), not of this site.

.. _common_return_values:

Return values common to all modules
-----------------------------------

See "Return Values" in the Ansible documentation's reference appendices.

.. _ansible_configuration_settings:

Ansible configuration settings
------------------------------

See "Ansible Configuration Settings" in the Ansible documentation's reference appendices.
EOF

sphinx-build -M html rst build -c . -W --keep-going -q

# A page for every module, role and guide: nothing left out of the reference.
expected=()
for module in "$source_dir"/plugins/modules/*.py; do
    name=$(basename "$module" .py)
    [[ $name == __init__ ]] || expected+=("${name}_module.html")
done
for role in "$source_dir"/roles/*/; do
    if [[ -d $role ]]; then
        expected+=("$(basename "$role")_role.html")
    fi
done
while IFS= read -r guide; do
    expected+=("docsite/$guide.html")
done < <(sed -n 's/^ *- \([a-z0-9_]*\)$/\1/p' "$source_dir/docs/docsite/extra-docs.yml")
missing=0
for page in "${expected[@]}"; do
    if [[ ! -f build/html/$page ]]; then
        echo "build-docs.sh: the site has no $page" >&2
        missing=1
    fi
done
((missing == 0))
echo "docs site: $(pwd)/build/html/index.html (${#expected[@]} pages of modules, roles and guides)"
