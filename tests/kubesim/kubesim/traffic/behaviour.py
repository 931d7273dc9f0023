"""What a pod's metadata says about how it serves traffic: its version and its error ratio."""

import math
import re

ERROR_RATIO_ANNOTATION = "kubesim.cxpe.io/error-ratio"
VERSION_LABEL = "app.kubernetes.io/version"
# An image tag like ``1.4.2-errors25`` marks a build that fails 25% of its requests.
_ERRORS_TAG = re.compile(r"-errors(\d+)$")


def image_tag(image):
    """The tag of an image reference; ``latest`` when it names neither tag nor digest (what the runtime pulls)."""
    name, _, digest = (image or "").partition("@")
    last_segment = name.rsplit("/", 1)[-1]
    if ":" in last_segment:
        return last_segment.split(":", 1)[1]
    return "" if digest else "latest"


def first_image(pod):
    containers = (pod.get("spec") or {}).get("containers") or []
    return containers[0].get("image", "") if containers else ""


def pod_version(pod):
    """The version metrics report for a pod: its ``app.kubernetes.io/version`` label, else its first container's tag."""
    labels = pod["metadata"].get("labels") or {}
    return labels.get(VERSION_LABEL) or image_tag(first_image(pod))


def number(value, default):
    """A finite number from an annotation or a spec field (either may be a string), else ``default``."""
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        return default
    return parsed if math.isfinite(parsed) else default


def pod_error_ratio(pod):
    """Fraction of requests the pod fails: the annotation, else a ``-errors<NN>`` tag of its first container, else 0."""
    annotated = number((pod["metadata"].get("annotations") or {}).get(ERROR_RATIO_ANNOTATION), None)
    if annotated is not None:
        return min(max(annotated, 0.0), 1.0)
    tagged = _ERRORS_TAG.search(image_tag(first_image(pod)))
    return min(int(tagged.group(1)), 100) / 100 if tagged else 0.0
