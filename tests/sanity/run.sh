#!/usr/bin/env bash
# Run `ansible-test sanity` in the current collection tree (the caller cds
# into .../ansible_collections/cxpe/rollout). ansible-test bootstraps pip in
# every sanity virtual environment with a script it downloads once into its
# cache; where that download fails (no access to its host), put the stand-in
# from this directory at the cache path that ansible-test names, and retry.
set -euo pipefail

standin="$(cd "$(dirname "$0")" && pwd)/get_pip_standin.py"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

run() {
    ansible-test sanity --python 3.11 --requirements "$@" 2>&1 | tee "$log"
}

if run "$@"; then
    exit 0
fi
cache_path="$(sed -n 's/^The bootstrap script can be manually downloaded and saved to: //p' "$log" | head -n 1)"
if [[ -z "$cache_path" ]]; then
    exit 1
fi
echo "get-pip could not be downloaded; using the stand-in at $cache_path"
mkdir -p "$(dirname "$cache_path")"
cp "$standin" "$cache_path"
run "$@"
