"""The simulated kube-controller-manager, scheduler and kubelets: level-triggered controllers the engine runs."""

from .autoscaler import HorizontalPodAutoscalerController
from .clusterroles import ClusterRoleAggregationController
from .crds import CustomResourceDefinitionController
from .cronjob import CronJobController
from .daemonset import DaemonSetController
from .deployment import DeploymentController
from .endpoints import EndpointsController, EndpointSliceController
from .events import Recorder
from .garbage import GarbageCollector, NamespaceController
from .job import JobController
from .kubelet import Kubelet
from .nodes import NodeController, Scheduler
from .pods import ReadyTimes
from .replicaset import ReplicaSetController
from .serviceaccounts import ServiceAccountController
from .statefulset import StatefulSetController
from .taints import TaintEvictionController
from .tokens import ServiceAccountTokenController
from .volumes import PersistentVolumeController


def build_controllers(store, clock, terminations, tokens, nodes=3, images=None):
    """The controllers in the order one engine pass runs them: owners before what they own, so one
    pass carries a change as far down as it can (Deployment, ReplicaSet, pods, endpoints).
    ``terminations`` is the pod termination schedule the kubelets share with the traffic model;
    ``tokens`` signs the legacy service account tokens."""
    ready_times = ReadyTimes(clock)
    recorder = Recorder(store, clock)
    return [
        CustomResourceDefinitionController(store, clock),
        NodeController(store, clock, nodes),
        ServiceAccountController(store),
        ServiceAccountTokenController(store, tokens),
        ClusterRoleAggregationController(store),
        HorizontalPodAutoscalerController(store, clock, recorder),
        DeploymentController(store, clock, recorder),
        ReplicaSetController(store, clock, ready_times, recorder),
        StatefulSetController(store, clock, ready_times, recorder),
        DaemonSetController(store, clock, ready_times, recorder),
        CronJobController(store, clock, recorder),
        JobController(store, clock, ready_times, recorder),
        PersistentVolumeController(store, clock, recorder),
        Scheduler(store, clock, recorder),
        TaintEvictionController(store, clock, recorder),
        Kubelet(store, clock, ready_times, recorder, terminations, images),
        EndpointsController(store),
        EndpointSliceController(store),
        GarbageCollector(store, clock),
        NamespaceController(store, clock),
    ]
