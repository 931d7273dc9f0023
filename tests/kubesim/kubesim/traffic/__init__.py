"""Simulated client traffic, the pods' error behaviour, and the Prometheus metrics they produce.

- Entry points (:mod:`.entries`): Services, Ingresses and Routes annotated with request and
  session rates; their arrivals are evenly spaced and exact.
- The routers' view (:mod:`.world`): what kube-proxy, ingress-nginx, the OpenShift router and
  Consul know of the cluster, by simulated moment, so each applies changes after its delay.
- Routing (:mod:`.routing`): each router's rules, from an entry point to weighted pools of endpoints.
- The model (:mod:`.model`): every request judged at its own instant against the pod as it is
  then (:mod:`kubesim.lifecycle` for pods that are stopping); sessions, in-flight requests, drains.
- Behaviour (:mod:`.behaviour`): a pod's version and error ratio.
- Metrics (:mod:`.metrics`): counters per pod and version, per Service, and per entry point,
  served as Prometheus text by :class:`MetricsServer`.
"""

from .metrics import MetricsServer
from .model import TrafficModel

__all__ = ["MetricsServer", "TrafficModel"]
