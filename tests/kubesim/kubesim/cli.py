"""``kubesim serve``: the API server, its controllers and the traffic model in one process."""

import argparse
import base64
import logging
import os
import signal
import sys
import threading

import yaml

from . import seeds, tls
from .api.admission import admit
from .api.bootstrap import bootstrap
from .api.disruption import DisruptionController
from .api.server import ApiServer
from .clock import Clock
from .controllers import build_controllers
from .engine import Engine
from .images import ImageRegistry
from .store import Store
from .traffic import MetricsServer, TrafficModel

HOST = "127.0.0.1"


def kubeconfig(server_url, context="kubesim", ca_pem=None):
    cluster = {"server": server_url}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": context, "user": {"token": "kubesim"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": "default"}}],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(path, server_url, context, ca_pem=None):
    """Write atomically so a reader that sees the file sees all of it (and the server is up)."""
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as handle:
        yaml.safe_dump(kubeconfig(server_url, context, ca_pem), handle, sort_keys=False)
    os.replace(temporary, path)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="kubesim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Kubernetes API until SIGTERM/SIGINT")
    serve.add_argument("--port", type=int, required=True, help="API port on 127.0.0.1 (0 picks a free one)")
    serve.add_argument("--tls", action="store_true", help="serve HTTPS with a certificate from a CA made at start-up (in the kubeconfig)")
    serve.add_argument("--kubeconfig", required=True, help="where to write a kubeconfig for this server")
    serve.add_argument("--context", default="kubesim", help="context/cluster/user name in the kubeconfig")
    serve.add_argument("--metrics-port", type=int, help="serve traffic counters as Prometheus text on this port")
    serve.add_argument("--seed", action="append", default=[], help="multi-document YAML file of objects to load (repeatable)")
    serve.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per real second (default 1)")
    serve.add_argument("--nodes", type=int, default=3, help="number of simulated nodes (default 3)")
    serve.add_argument("--missing-image", action="append", default=[], metavar="PATTERN",
                       help="images the registry does not have (fnmatch pattern on the image reference; repeatable)")
    serve.add_argument("--no-preloaded-images", dest="preloaded_images", action="store_false",
                       help="nodes start without images: the first start of an image on a node pulls it")
    serve.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def serve(args):
    logging.basicConfig(level=args.log_level.upper(), format="kubesim %(levelname)s %(name)s: %(message)s")
    clock = Clock(args.time_scale)
    store = Store(clock)
    store.admission = admit
    with store.writer("kube-apiserver"):
        bootstrap(store)
    engine = Engine(store)
    registry = ImageRegistry(args.missing_image, preloaded=args.preloaded_images)
    for controller in build_controllers(store, clock, nodes=args.nodes, images=registry):
        engine.add(controller)
    engine.add(DisruptionController(store))
    traffic = TrafficModel(store, clock)
    engine.add(traffic)
    try:
        with store.writer(seeds.FIELD_MANAGER):
            count = seeds.load(store, args.seed)
    except (OSError, yaml.YAMLError, seeds.SeedError) as exc:
        print(f"kubesim: cannot load seed: {exc}", file=sys.stderr)
        return 2
    api = ApiServer(store, clock, HOST, args.port)
    ca_pem = tls.serve_tls(api) if args.tls else None
    metrics = MetricsServer(traffic, HOST, args.metrics_port) if args.metrics_port is not None else None
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    engine.start()
    api.start()
    if metrics:
        metrics.start()
    server_url = f"{'https' if args.tls else 'http'}://{HOST}:{api.port}"
    write_kubeconfig(args.kubeconfig, server_url, args.context, ca_pem)
    metrics_note = f", metrics on http://{HOST}:{metrics.port}/metrics" if metrics else ""
    print(f"kubesim: serving {server_url}{metrics_note}; {count} seed objects; time scale {clock.time_scale:g}", flush=True)
    stopped.wait()
    api.stop()
    if metrics:
        metrics.stop()
    engine.stop()
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
