#!/usr/bin/env bash
# The demo behind `make demo` (which sets up the toolchain first):
#   1. render the platform's namespaces and PriorityClasses from the catalog,
#   2. start kubesim seeded with them,
#   3. deploy the platform with the cxpe.rollout.deploy_platform playbook,
#   4. print every service's readiness as cxpe.rollout.service_status reads it,
# and stop the simulator however the demo ends.
# Usage: tools/demo.sh WORKDIR TIME_SCALE
set -euo pipefail

workdir="$1"
time_scale="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
inventory="$root/inventories/demo"

rm -rf "$workdir"
mkdir -p "$workdir"
kubeconfig="$workdir/kubeconfig"

ansible-playbook -i "$inventory" cxpe.rollout.render_foundation -e "render_foundation_dest=$workdir/foundation.yml"


kubesim serve --port 0 --kubeconfig "$kubeconfig" --seed "$workdir/foundation.yml" \
    --time-scale "$time_scale" >"$workdir/kubesim.log" 2>&1 &
kubesim_pid=$!
stop_kubesim() {
    kill "$kubesim_pid" 2>/dev/null || true
    wait "$kubesim_pid" 2>/dev/null || true
}
trap stop_kubesim EXIT

# kubesim writes its kubeconfig once it serves.
for _ in $(seq 300); do
    [[ -s "$kubeconfig" ]] && break
    if ! kill -0 "$kubesim_pid" 2>/dev/null; then
        echo "kubesim exited; its log:" >&2
        cat "$workdir/kubesim.log" >&2
        exit 1
    fi
    sleep 0.1
done
[[ -s "$kubeconfig" ]] || { echo "kubesim did not start within 30 s" >&2; exit 1; }
export K8S_AUTH_KUBECONFIG="$kubeconfig"

ansible-playbook -i "$inventory" cxpe.rollout.deploy_platform
# The YAML result format prints the status table as lines, not a JSON string.
ANSIBLE_CALLBACK_RESULT_FORMAT=yaml ansible-playbook -i "$inventory" cxpe.rollout.platform_status
