"""``kubesim serve``: the API server, its controllers and the traffic model in one process."""

import argparse
import json
import logging
import math
import signal
import sys
import threading

import yaml

from . import seeds, tls
from .api.access import MODES, AccessControl
from .api.admission import admit
from .api.audit import AuditLog
from .api.bootstrap import bootstrap
from .api.disruption import DisruptionController
from .api.faults import Faults, RuleError
from .api.server import ApiServer
from .api.tokens import ServiceAccountTokens
from .clock import Clock
from .controllers import build_controllers
from .engine import Engine
from .images import ImageRegistry
from .kubeconfig import kubeconfig, write_kubeconfig
from .lifecycle import Terminations
from .store import Store
from .traffic import MetricsServer, TrafficModel
from .traffic.entries import DEFAULT_PROPAGATION_DELAYS

HOST = "127.0.0.1"


def seconds(text):
    value = float(text)
    if value < 0 or math.isnan(value):
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text}")
    return value


def propagation_delay(text):
    router, separator, delay = text.partition("=")
    if not separator or router not in DEFAULT_PROPAGATION_DELAYS:
        raise argparse.ArgumentTypeError(f"expected ROUTER=SECONDS with ROUTER one of {', '.join(DEFAULT_PROPAGATION_DELAYS)}: {text!r}")
    return router, seconds(delay)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="kubesim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Kubernetes API until SIGTERM/SIGINT")
    serve.add_argument("--port", type=int, required=True, help="API port on 127.0.0.1 (0 picks a free one)")
    serve.add_argument("--tls", action="store_true", help="serve HTTPS with a certificate from a CA made at start-up (in the kubeconfig)")
    serve.add_argument("--kubeconfig", required=True, help="where to write a kubeconfig for this server")
    serve.add_argument("--context", default="kubesim", help="context/cluster/user name in the kubeconfig")
    serve.add_argument("--authorization-mode", choices=MODES, default="AlwaysAllow",
                       help="RBAC (needs --tls): authenticate bearer tokens (the kubeconfig gets an admin token; service accounts get "
                            "tokens from the TokenRequest API) and authorize requests by RBAC; AlwaysAllow (default): any token, everything allowed")
    serve.add_argument("--anonymous-auth", choices=("true", "false"), default="true",
                       help="with RBAC: whether a request without a bearer token is system:anonymous (true, default) or refused with 401")
    serve.add_argument("--audit-log-path", metavar="PATH",
                       help="write every request to this file as audit.k8s.io/v1 Events (JSON lines, level Metadata); '-' is standard output")
    serve.add_argument("--metrics-port", type=int, help="serve traffic counters as Prometheus text on this port")
    serve.add_argument("--seed", action="append", default=[], help="multi-document YAML file of objects to load (repeatable)")
    serve.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per real second (default 1)")
    serve.add_argument("--nodes", type=int, default=3, help="number of simulated nodes (default 3)")
    serve.add_argument("--propagation-delay", action="append", default=[], type=propagation_delay, metavar="ROUTER=SECONDS",
                       help="simulated seconds a router takes to apply a change; routers: "
                            + ", ".join(f"{router} (default {delay:g})" for router, delay in DEFAULT_PROPAGATION_DELAYS.items()))
    serve.add_argument("--fault", action="append", default=[], metavar="RULE",
                       help="inject a fault into matching client requests: a JSON rule as POSTed to /kubesim/v1/faults (repeatable)")
    serve.add_argument("--pause-controllers", type=seconds, nargs="?", const=math.inf, metavar="SECONDS",
                       help="start with the controllers paused for SECONDS simulated seconds, or until resumed without SECONDS")
    serve.add_argument("--missing-image", action="append", default=[], metavar="PATTERN",
                       help="images the registry does not have (fnmatch pattern on the image reference; repeatable)")
    serve.add_argument("--no-preloaded-images", dest="preloaded_images", action="store_false",
                       help="nodes start without images: the first start of an image on a node pulls it")
    serve.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def fault_rules(texts):
    """The --fault rules; raises RuleError (or ValueError for text that is not JSON)."""
    rules = Faults()
    for text in texts:
        rules.add(json.loads(text))
    return rules


def serve(args):
    logging.basicConfig(level=args.log_level.upper(), format="kubesim %(levelname)s %(name)s: %(message)s")
    if args.authorization_mode == "RBAC" and not args.tls:
        # client-go (kubectl) reads no credentials from a kubeconfig whose server is not https: every request would be anonymous.
        print("kubesim: --authorization-mode RBAC needs --tls: kubectl sends no credentials to a server over plain HTTP", file=sys.stderr)
        return 2
    try:
        faults = fault_rules(args.fault)
    except (RuleError, ValueError) as exc:
        print(f"kubesim: invalid --fault: {exc}", file=sys.stderr)
        return 2
    clock = Clock(args.time_scale)
    store = Store(clock)
    store.admission = admit
    with store.writer("kube-apiserver"):
        bootstrap(store)
    engine = Engine(store)
    terminations = Terminations()
    registry = ImageRegistry(args.missing_image, preloaded=args.preloaded_images)
    tokens = ServiceAccountTokens(store)
    access = AccessControl(store, tokens, args.authorization_mode, anonymous=args.anonymous_auth == "true")
    for controller in build_controllers(store, clock, terminations, tokens, nodes=args.nodes, images=registry):
        engine.add(controller)
    engine.add(DisruptionController(store))
    traffic = TrafficModel(store, clock, terminations, dict(args.propagation_delay))
    # Client traffic keeps flowing while the cluster's own components are paused.
    engine.add(traffic, pausable=False)
    if args.pause_controllers is not None:
        engine.pause(None if math.isinf(args.pause_controllers) else clock.real_seconds(args.pause_controllers))
    try:
        with store.writer(seeds.FIELD_MANAGER):
            count = seeds.load(store, args.seed)
    except (OSError, yaml.YAMLError, seeds.SeedError) as exc:
        print(f"kubesim: cannot load seed: {exc}", file=sys.stderr)
        return 2
    try:
        audit = AuditLog(args.audit_log_path, clock) if args.audit_log_path else None
    except OSError as exc:
        print(f"kubesim: cannot open the audit log: {exc}", file=sys.stderr)
        return 2
    api = ApiServer(store, engine, faults, HOST, args.port, access, audit)
    ca_pem = tokens.ca_pem = tls.serve_tls(api) if args.tls else None
    metrics = MetricsServer(traffic, HOST, args.metrics_port) if args.metrics_port is not None else None
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    engine.start()
    api.start()
    if metrics:
        metrics.start()
    server_url = f"{'https' if args.tls else 'http'}://{HOST}:{api.port}"
    write_kubeconfig(args.kubeconfig, kubeconfig(server_url, args.context, ca_pem, access.admin_token))
    metrics_note = f", metrics on http://{HOST}:{metrics.port}/metrics" if metrics else ""
    print(f"kubesim: serving {server_url}{metrics_note}; {count} seed objects; time scale {clock.time_scale:g}; "
          f"authorization {args.authorization_mode}", flush=True)
    stopped.wait()
    api.stop()
    if audit:
        audit.close()
    if metrics:
        metrics.stop()
    engine.stop()
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
