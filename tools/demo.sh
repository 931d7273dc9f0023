#!/usr/bin/env bash
# The demo behind `make demo` (which sets up the toolchain first):
#   1. start two simulated units of a unit group - a primary unit and a secondary unit, each a kubesim cluster seeded
#      with the platform's namespaces and PriorityClasses, with a Prometheus of its own - and deploy the platform on
#      both with the cxpe.rollout.deploy_platform playbook (the secondary unit takes the voice-related services only);
#   2. let clients call every service of both units (requests and long-lived sessions) through its Service;
#   3. upgrade the whole platform to the next release with the cxpe.rollout.upgrade playbook: the primary unit first
#      (the canary unit), then the secondary unit, group by group in the documented order, each service with its
#      group's strategy (blue/green, canary, rolling drain) gated on its error ratio; the run summary is printed, and
#      the run's rollout report is opened in headless Chromium (tools/report_in_browser.py), a screenshot kept;
#   4. upgrade again, with a Dialplan build that fails a share of its requests: its canary is aborted, the primary
#      unit stops there, the secondary unit is not touched, and the summary and the report say so;
#   5. print what the clients went through in each unit;
# and stop the servers however the demo ends.
# Usage: tools/demo.sh WORKDIR TIME_SCALE
set -euo pipefail

workdir="$1"
time_scale="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
inventory="$root/inventories/demo-units"
units=(primary secondary)
# Ansible's forks bound how many services of a step are upgraded at once.
forks=24
# The simulated clusters and their Prometheus stand for machines of their own: Ansible, which keeps the controller's
# cores busy during a wide step, runs at a lower priority, so that a cluster or a scrape never waits for it.
playbook() { nice -n 10 ansible-playbook "$@"; }

rm -rf "$workdir"
mkdir -p "$workdir"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
answers() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1"; }

pids=()
stop_servers() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_servers EXIT

# wait_for NAME LOG PID COMMAND...: until COMMAND succeeds; the server's log if it exits first.
wait_for() {
    local name="$1" log="$2" pid="$3"
    shift 3
    for _ in $(seq 300); do
        "$@" >/dev/null 2>&1 && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited; its log:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "$name did not start within 30 s" >&2
    exit 1
}

step() { printf '\n=== %s\n' "$*"; }

# start_unit UNIT: its kubesim, and a Prometheus scraping kubesim's traffic counters, under $workdir/UNIT.
start_unit() {
    local unit="$1" dir="$workdir/$1" metrics_port prometheus_port
    mkdir -p "$dir"
    metrics_port="$(free_port)"
    prometheus_port="$(free_port)"
    kubesim serve --port 0 --kubeconfig "$dir/kubeconfig" --metrics-port "$metrics_port" --seed "$workdir/foundation.yml" \
        --time-scale "$time_scale" >"$dir/kubesim.log" 2>&1 &
    pids+=($!)
    # kubesim writes its kubeconfig once it serves.
    wait_for "kubesim ($unit)" "$dir/kubesim.log" "${pids[-1]}" test -s "$dir/kubeconfig"
    echo "http://127.0.0.1:$metrics_port/metrics" >"$dir/metrics_url"
    printf '%s\n' "global: {scrape_interval: 2s, evaluation_interval: 2s}" "scrape_configs:" "  - job_name: kubesim" \
        "    static_configs: [{targets: [\"127.0.0.1:$metrics_port\"]}]" >"$dir/prometheus.yml"
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prometheus" \
        --web.listen-address="127.0.0.1:$prometheus_port" >"$dir/prometheus.log" 2>&1 &
    pids+=($!)
    wait_for "prometheus ($unit)" "$dir/prometheus.log" "${pids[-1]}" answers "http://127.0.0.1:$prometheus_port/-/ready"
    echo "http://127.0.0.1:$prometheus_port" >"$dir/prometheus_url"
}

# start_clients UNIT: clients call each service's own Service (not the preview or track Services beside it).
start_clients() {
    local kubeconfig="$workdir/$1/kubeconfig"
    KUBECONFIG="$kubeconfig" kubectl get services -A -l app.kubernetes.io/managed-by=cxpe.rollout \
        -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.name}{"\n"}{end}' \
        | grep -Ev -- '-(preview|stable|canary)$' \
        | while read -r namespace name; do
            KUBECONFIG="$kubeconfig" kubectl annotate -n "$namespace" service "$name" --overwrite \
                kubesim.cxpe.io/request-rate=2 kubesim.cxpe.io/session-rate=1 kubesim.cxpe.io/session-duration=10 >/dev/null
        done
}

step "Start two simulated units (time runs ${time_scale}x), each with its Prometheus"
ansible-playbook -i "$root/inventories/demo" cxpe.rollout.render_foundation -e "render_foundation_dest=$workdir/foundation.yml"
for unit in "${units[@]}"; do start_unit "$unit"; done

step "Deploy the platform on both units"
playbook -i "$inventory" cxpe.rollout.deploy_platform

step "Clients call every service of both units: 2 requests and 1 new session (10 s on average) per simulated second"
for unit in "${units[@]}"; do start_clients "$unit"; done
# The canary analysis compares with the stable version's error ratio, which Prometheus must have seen first.
sleep 5

step "Upgrade the whole platform to 9.0.101.02: the primary unit, then the secondary unit"
playbook -i "$inventory" cxpe.rollout.upgrade -f "$forks" -e cxpe_version=9.0.101.02 \
    -e "cxpe_upgrade_report_dir=$workdir/reports/9.0.101.02" -e "backup_dir=$workdir/backups"

step "The upgrade's rollout report, opened in headless Chromium: a chart per upgraded service"
python3 "$root/tools/report_in_browser.py" "$workdir/reports/9.0.101.02"

step "Upgrade to 9.0.102.01 with a Dialplan build that fails 30% of its requests: the primary unit stops at step 3"
if playbook -i "$inventory" cxpe.rollout.upgrade -f "$forks" -e cxpe_version=9.0.102.01 \
    -e '{"cxpe_versions": {"voice-dialplan": "9.0.102.01-errors30"}}' -e "cxpe_upgrade_report_dir=$workdir/reports/9.0.102.01" \
    -e "backup_dir=$workdir/backups"; then
    echo "the faulty release was not stopped" >&2
    exit 1
fi
python3 "$root/tools/report_in_browser.py" "$workdir/reports/9.0.102.01"

for unit in "${units[@]}"; do
    step "What the clients of the $unit unit went through"
    python3 "$root/tools/traffic_summary.py" --brief "$(cat "$workdir/$unit/metrics_url")"
done
