"""The image registry the simulated nodes pull from: which images exist, and what a pull of one is like.

Every image exists unless a ``--missing-image`` pattern (fnmatch-style, on the reference as the
pod spec writes it or as the container runtime normalises it) says otherwise. By default each node
starts with every existing image already present, as on a cluster whose images were loaded into
its nodes (``kind load``); ``--no-preloaded-images`` starts them empty, so the first start of an
image on a node pulls it.
"""

import fnmatch
import hashlib

_DEFAULT_DOMAIN = "docker.io"


def normalized(image):
    """The reference as containerd names it: ``nginx`` is ``docker.io/library/nginx:latest``."""
    name, at, digest = image.partition("@")
    first, slash, rest = name.partition("/")
    if not slash:
        name = f"{_DEFAULT_DOMAIN}/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"{_DEFAULT_DOMAIN}/{name}"
    if not at and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return f"{name}{at}{digest}"


def _seed(image):
    return int(hashlib.sha256(image.encode()).hexdigest()[:8], 16)


def pull_milliseconds(image):
    """How long (simulated) a pull of the image takes: a plausible 0.2 to 2 seconds, stable per image."""
    return 200 + _seed(image) % 1800


def image_size(image):
    return 20_000_000 + _seed(image) % 80_000_000


def not_found_error(image):
    """The error containerd reports to the kubelet for a tag the registry does not have."""
    full = normalized(image)
    return (f'rpc error: code = NotFound desc = failed to pull and unpack image "{full}": '
            f'failed to resolve reference "{full}": {full}: not found')


class ImageRegistry:
    def __init__(self, missing_patterns=(), preloaded=True):
        self.missing_patterns = tuple(missing_patterns)
        self.preloaded = preloaded

    def exists(self, image):
        if not self.missing_patterns:
            return True
        candidates = (image, normalized(image))
        return not any(fnmatch.fnmatchcase(candidate, pattern) for pattern in self.missing_patterns for candidate in candidates)

    def preloaded_on_nodes(self, image):
        """Whether every node holds the image from the start."""
        return self.preloaded and self.exists(image)
