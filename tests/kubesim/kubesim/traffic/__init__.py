"""Simulated client traffic, the pods' error behaviour, and the Prometheus metrics they produce.

Traffic enters at every Service annotated with ``kubesim.cxpe.io/request-rate`` (requests per
simulated second) and/or ``kubesim.cxpe.io/session-rate`` (new long-lived sessions per simulated
second, lasting ``kubesim.cxpe.io/session-duration`` simulated seconds on average, default 60).

- Routing (:mod:`.routing`): an NGINX canary Ingress, an OpenShift Route or a Consul
  ServiceSplitter/ServiceResolver in front of the Service splits its traffic by weight; the
  ``kubesim.cxpe.io/traffic-entry`` annotation picks one, else ingress, then route, then mesh.
- Endpoints: each share goes to the ready, non-terminating pods of its Service's Endpoints;
  requests round-robin, sessions go to the pod with the fewest. With no such pod it fails.
- Behaviour (:mod:`.behaviour`): a pod fails the fraction of its requests given by its
  ``kubesim.cxpe.io/error-ratio`` annotation or a ``-errors<NN>`` image tag; its version is its
  ``app.kubernetes.io/version`` label, else its image tag.
- Sessions: each opens with one request (if that fails, no session); it stays on its pod until
  it ends, through the pod's termination (the drain), and is dropped if the pod is deleted first.
- Metrics (:mod:`.metrics`): counters per namespace, Service, pod and version, and summed per
  Service and version, served as Prometheus text by :class:`MetricsServer`.
"""

from .metrics import MetricsServer
from .model import TrafficModel

__all__ = ["MetricsServer", "TrafficModel"]
