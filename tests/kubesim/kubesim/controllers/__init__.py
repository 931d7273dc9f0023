"""The simulated kube-controller-manager, scheduler and kubelets: level-triggered controllers the engine runs."""

from .deployment import DeploymentController
from .endpoints import EndpointsController, EndpointSliceController
from .garbage import GarbageCollector, NamespaceController
from .kubelet import Kubelet
from .nodes import NodeController, Scheduler
from .pods import ReadyTimes
from .replicaset import ReplicaSetController
from .statefulset import StatefulSetController


def build_controllers(store, clock, nodes=3):
    """The controllers in the order one engine pass runs them: owners before what they own, so one
    pass carries a change as far down as it can (Deployment, ReplicaSet, pods, endpoints)."""
    ready_times = ReadyTimes(clock)
    return [
        NodeController(store, clock, nodes),
        DeploymentController(store, clock),
        ReplicaSetController(store, clock, ready_times),
        StatefulSetController(store, clock, ready_times),
        Scheduler(store, clock),
        Kubelet(store, clock, ready_times),
        EndpointsController(store),
        EndpointSliceController(store),
        GarbageCollector(store, clock),
        NamespaceController(store, clock),
    ]
