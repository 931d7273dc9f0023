#!/usr/bin/env bash
# The demo behind `make demo` (which sets up the toolchain first):
#   1. render the platform's namespaces and PriorityClasses from the catalog, start kubesim seeded
#      with them, and deploy the platform with the cxpe.rollout.deploy_platform playbook;
#   2. let clients call the WebRTC gateway (requests and long-lived sessions) through its Service,
#      and start Prometheus scraping kubesim's traffic counters;
#   3. upgrade the gateway blue/green under that traffic, gated on the new version's error ratio;
#   4. upgrade it to a build that fails a share of its requests: the gate fails after the switch
#      and the traffic goes back to the previous color;
#   5. put the voice Dialplan service behind an ingress-nginx Ingress and a canary Ingress, with
#      clients calling it, and upgrade it by canary: 10%, 50%, 100%, each step gated on the new
#      version's error ratio against the stable one's, then promoted;
#   6. start a canary of a build that fails a share of its requests: aborted at the first step;
#   7. print the rollout ledgers and what the clients went through;
# and stop the servers however the demo ends.
# Usage: tools/demo.sh WORKDIR TIME_SCALE
set -euo pipefail

workdir="$1"
time_scale="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
inventory="$root/inventories/demo"
namespace=webrtc
service=webrtc-gateway

rm -rf "$workdir"
mkdir -p "$workdir"
kubeconfig="$workdir/kubeconfig"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
answers() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1"; }
metrics_port="$(free_port)"
prometheus_port="$(free_port)"

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

step "Deploy the platform on a simulated cluster (time runs ${time_scale}x)"
ansible-playbook -i "$inventory" cxpe.rollout.render_foundation -e "render_foundation_dest=$workdir/foundation.yml"
kubesim serve --port 0 --kubeconfig "$kubeconfig" --metrics-port "$metrics_port" --seed "$workdir/foundation.yml" \
    --time-scale "$time_scale" >"$workdir/kubesim.log" 2>&1 &
pids+=($!)
# kubesim writes its kubeconfig once it serves.
wait_for kubesim "$workdir/kubesim.log" "${pids[-1]}" test -s "$kubeconfig"
export K8S_AUTH_KUBECONFIG="$kubeconfig" KUBECONFIG="$kubeconfig"
ansible-playbook -i "$inventory" cxpe.rollout.deploy_platform
# The YAML result format prints the tables as lines, not as JSON strings.
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
ansible-playbook -i "$inventory" cxpe.rollout.platform_status -e '{"platform_status_groups": ["webrtc"]}'

step "Clients call $namespace/$service: 20 requests and 1 new call (10 s on average) per simulated second"
kubectl annotate -n "$namespace" service "$service" kubesim.cxpe.io/request-rate=20 \
    kubesim.cxpe.io/session-rate=1 kubesim.cxpe.io/session-duration=10
cat >"$workdir/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: kubesim
    static_configs: [{targets: ["127.0.0.1:$metrics_port"]}]
EOF
prometheus --config.file="$workdir/prometheus.yml" --storage.tsdb.path="$workdir/prometheus" \
    --web.listen-address="127.0.0.1:$prometheus_port" >"$workdir/prometheus.log" 2>&1 &
pids+=($!)
wait_for prometheus "$workdir/prometheus.log" "${pids[-1]}" answers "http://127.0.0.1:$prometheus_port/-/ready"

# upgrade VERSION: the bluegreen role, gated on the new version's share of failed requests over the last 5 s.
upgrade() {
    # The selector sits inside a JSON string: its quotes are escaped.
    local version="$1" selector
    selector="namespace=\\\"$namespace\\\",service=\\\"$service\\\",version=\\\"$version\\\""
    ansible-playbook -i "$inventory" cxpe.rollout.bluegreen_upgrade -e "$(cat <<EOF
{"bluegreen_namespace": "$namespace", "bluegreen_service": "$service", "bluegreen_version": "$version",
 "bluegreen_prometheus_url": "http://127.0.0.1:$prometheus_port",
 "bluegreen_analysis_metrics": [{"name": "error_ratio", "max": 0.01,
   "query": "sum(rate(kubesim_service_request_errors_total{$selector}[5s])) / sum(rate(kubesim_service_requests_total{$selector}[5s]))"}],
 "bluegreen_analysis_initial_delay": 3, "bluegreen_analysis_count": 3, "bluegreen_analysis_interval": 1,
 "bluegreen_scale_down_delay": 120}
EOF
)"
}

step "Blue/green upgrade of $service to 9.0.101.02 under traffic"
upgrade 9.0.101.02

step "Upgrade to 9.0.102.01-errors30, a build that fails 30% of its requests: the gate sends the traffic back"
if upgrade 9.0.102.01-errors30; then
    echo "the faulty build was not rolled back" >&2
    exit 1
fi

canary_service=voice-dialplan
step "Clients call voice/$canary_service through an ingress-nginx Ingress, beside which stands its canary Ingress"
kubectl apply -n voice -f - <<EOF
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $canary_service
spec:
  ingressClassName: nginx
  rules:
    - host: dialplan.example.com
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: $canary_service-stable, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $canary_service-canary
  annotations: {nginx.ingress.kubernetes.io/canary: "true", nginx.ingress.kubernetes.io/canary-weight: "0"}
spec:
  ingressClassName: nginx
  rules:
    - host: dialplan.example.com
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: $canary_service-canary, port: {number: 80}}}}]}
EOF

# The clients start once ingress-nginx has learnt of the new Ingresses (1.5 simulated seconds).
sleep 0.2
kubectl annotate -n voice ingress "$canary_service" kubesim.cxpe.io/request-rate=20
# The role checks the stable version's side of the analysis before it changes anything: let Prometheus
# scrape the new requests first.
sleep 3

# canary VERSION: the canary role through the canary Ingress, 10% -> 50% -> 100%, each step gated on the
# new version's error ratio against the stable version's.
canary() {
    ansible-playbook -i "$inventory" cxpe.rollout.canary_upgrade -e "$(cat <<EOF
{"canary_namespace": "voice", "canary_service": "$canary_service", "canary_version": "$1",
 "canary_routers": [{"kind": "nginx"}], "canary_schedule": [10, 50, 100],
 "canary_prometheus_url": "http://127.0.0.1:$prometheus_port",
 "canary_analysis_initial_delay": 3, "canary_analysis_count": 2, "canary_analysis_interval": 1,
 "canary_scale_down_delay": 3}
EOF
)"
}

step "Canary upgrade of $canary_service to 9.0.101.02 under traffic"
canary 9.0.101.02

step "Canary of 9.0.102.01-errors30, a build that fails 30% of its requests: aborted at its first step"
if canary 9.0.102.01-errors30; then
    echo "the faulty canary was not aborted" >&2
    exit 1
fi

step "Rollout ledgers"
ansible-playbook -i "$inventory" cxpe.rollout.rollout_status -e '{"rollout_status_groups": ["webrtc", "voice"]}'

step "What the clients went through"
python3 "$root/tools/traffic_summary.py" "http://127.0.0.1:$metrics_port/metrics" "$namespace" voice
