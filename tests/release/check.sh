#!/usr/bin/env bash
# The collection as Galaxy and its users get it: build the tarball from the work tree, import it with
# galaxy-importer (ansible-doc over every plugin, the metadata, README, changelog and execution environment checks),
# install it with ansible-galaxy as a user would, and run ansible-lint's production profile on the installed tree.
#
#   check.sh OUTPUT_DIR IMPORTER_VENV
#
# Fails on any error or warning of galaxy-importer (Galaxy shows both on the collection's page) and on any
# ansible-lint violation. The collections the content calls come from .venv's ansible package, nothing from Galaxy.
# (No container runtime, so no ansible-test: see galaxy-importer.cfg.)
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$1"
importer_venv="$2"
bin="$root/.venv/bin"

rm -rf "$out"
mkdir -p "$out"
"$bin/ansible-galaxy" collection build --output-path "$out" "$root"
tarball="$(find "$out" -maxdepth 1 -name 'cxpe-rollout-*.tar.gz')"

# galaxy-importer runs ansible-doc with ANSIBLE_COLLECTIONS_PATH set to the extracted tarball alone; Ansible also
# finds collections on the Python path, where these go: the namespaces of galaxy.yml's dependencies, and awx for
# playbooks/awx_register.yml, which needs awx.awx where it runs (docs/awx.md).
namespaces="$("$bin/python" -c 'import sys, yaml; print(" ".join(sorted(set(n.split(".")[0] for n in yaml.safe_load(open(sys.argv[1]))["dependencies"]))))' "$root/galaxy.yml") awx"
collections="$("$bin/python" -c 'import os, ansible_collections.kubernetes as k; print(os.path.dirname(k.__path__[0]))')"
mkdir -p "$out/deps/ansible_collections"
for namespace in $namespaces; do
    ln -s "$collections/$namespace" "$out/deps/ansible_collections/$namespace"
done

# --force: the same collection and version sit on ANSIBLE_COLLECTIONS_PATH (the test tree), and would be skipped.
"$bin/ansible-galaxy" collection install --no-deps --offline --force -p "$out/collections" "$tarball" > "$out/install.log" 2>&1
installed="$out/collections/ansible_collections/cxpe/rollout"

# ansible-lint as galaxy-importer runs it (its virtual environment: ansible-core and the dependencies alone), with
# every rule of the production profile and no time limit, side by side with the import. The installed tree gets a
# git repository of its own, as in `make collection`: ansible-lint lists a tree's files with git, and this one sits
# in the source tree's ignored build directory.
git -C "$installed" init --quiet
(
    cd "$installed"
    env PATH="$importer_venv/bin:$PATH" PYTHONPATH="$out/deps" ANSIBLE_COLLECTIONS_PATH="$out/collections" \
        "$importer_venv/bin/ansible-lint" --profile production --offline --nocolor
) > "$out/lint.log" 2>&1 &
lint_pid=$!

# galaxy-importer writes importer_result.json to the directory it runs in.
importer_status=0
(
    cd "$out"
    env PATH="$importer_venv/bin:$PATH" PYTHONPATH="$out/deps" \
        GALAXY_IMPORTER_CONFIG="$root/tests/release/galaxy-importer.cfg" \
        "$importer_venv/bin/python" -m galaxy_importer.main "$tarball"
) > "$out/importer.log" 2>&1 || importer_status=$?
lint_status=0
wait "$lint_pid" || lint_status=$?

echo "== galaxy-importer $tarball"
cat "$out/importer.log"
errors="$(grep -c '^ERROR' "$out/importer.log" || true)"
warnings="$(grep -c '^WARNING' "$out/importer.log" || true)"
echo "== galaxy-importer: exit status $importer_status, $errors errors, $warnings warnings"
echo "== ansible-lint --profile production, on the installed collection: exit status $lint_status"
cat "$out/lint.log"
[[ "$importer_status" -eq 0 && "$errors" -eq 0 && "$warnings" -eq 0 && "$lint_status" -eq 0 ]]
