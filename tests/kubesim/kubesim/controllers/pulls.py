"""The kubelet's image manager: whether a container's image is pulled, how the pull goes, and its events.

When the kubelet first runs a pod it decides, per container, from the pull policy and what its node
holds: an image already present starts at once (``IfNotPresent``, ``Never``); a pull (``Always``, or
an absent image) keeps the container ``ContainerCreating`` for the pull's simulated time; an image
the registry does not have fails the pull (``ErrImagePull``), after which the kubelet backs off
(``ImagePullBackOff``, 10 s doubling to 5 min, simulated) and pulls again; ``Never`` with an
absent image is ``ErrImageNeverPull``.

A failed pull's progress is a sequence of steps, three per attempt: the pull starts (``Pulling``),
it fails (``Failed``, ``Error: ErrImagePull``), the kubelet's next sync finds it backing off
(``BackOff``, ``Error: ImagePullBackOff``). The kubelet records the events of each step it reaches.
"""

from dataclasses import dataclass

from .. import images

# The kubelet's back-off, for image pulls and container restarts alike: 10s, doubling, at most five minutes (simulated).
BACKOFF_INITIAL_SECONDS = 10
BACKOFF_MAX_SECONDS = 300
PRESENT, PULLED, MISSING, NEVER = "present", "pulled", "missing", "never"
# After a failed pull the pod worker syncs the pod again shortly and finds the image backing off.
ERR_IMAGE_PULL_SHOWN_SECONDS = 2.0
CREATING, ERR_IMAGE_PULL, IMAGE_PULL_BACKOFF, ERR_IMAGE_NEVER_PULL = (
    "ContainerCreating", "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull")


def backoff(failures):
    """The back-off (simulated seconds) after failure number ``failures + 1``."""
    return min(BACKOFF_INITIAL_SECONDS * 2 ** min(failures, 16), BACKOFF_MAX_SECONDS)


@dataclass(frozen=True)
class Pull:
    """How one container gets its image: the outcome and the simulated seconds one pull takes (0: no pull)."""

    outcome: str
    seconds: float = 0.0

    @property
    def starts(self):
        return self.outcome in (PRESENT, PULLED)


def plan(container, present, registry):
    """The Pull of ``container`` on a node that does (``present``) or does not hold its image yet."""
    image = container.get("image", "")
    policy = container.get("imagePullPolicy", "IfNotPresent")
    if policy == "Never" or (policy != "Always" and present):
        return Pull(PRESENT) if present else Pull(NEVER)
    seconds = images.pull_milliseconds(image) / 1000
    return Pull(PULLED, seconds) if registry.exists(image) else Pull(MISSING, seconds)


@dataclass(frozen=True)
class Waiting:
    """Where a container that has not started stands: its waiting reason, the step reached, and the
    simulated seconds until the next step (None: it stays)."""

    reason: str
    step: int
    next_step_in: float | None


def _failed_attempts(pull, elapsed):
    """(attempt number, its start, its failure) of the latest pull attempt started by ``elapsed``."""
    attempt, start = 0, 0.0
    while start + pull.seconds + backoff(attempt) <= elapsed:
        start += pull.seconds + backoff(attempt)
        attempt += 1
    return attempt, start, start + pull.seconds


def waiting(pull, elapsed):
    """The Waiting of a container whose image is not (yet) there, ``elapsed`` seconds after the pod started."""
    if pull.outcome == NEVER:
        return Waiting(ERR_IMAGE_NEVER_PULL, 0, None)
    if pull.outcome == PULLED:
        return Waiting(CREATING, 0, pull.seconds - elapsed)
    attempt, start, failure = _failed_attempts(pull, elapsed)
    shown_until = failure + ERR_IMAGE_PULL_SHOWN_SECONDS
    if elapsed < failure:
        return Waiting(CREATING if attempt == 0 else IMAGE_PULL_BACKOFF, 3 * attempt, failure - elapsed)
    if elapsed < shown_until:
        return Waiting(ERR_IMAGE_PULL, 3 * attempt + 1, shown_until - elapsed)
    return Waiting(IMAGE_PULL_BACKOFF, 3 * attempt + 2, start + pull.seconds + backoff(attempt) - elapsed)


def waiting_message(reason, image):
    """The message of a waiting state, as the kubelet reports it in the container status."""
    if reason == ERR_IMAGE_PULL:
        return images.not_found_error(image)
    if reason == IMAGE_PULL_BACKOFF:
        return f'Back-off pulling image "{image}": {ERR_IMAGE_PULL}: {images.not_found_error(image)}'
    if reason == ERR_IMAGE_NEVER_PULL:
        return f'Container image "{image}" is not present with pull policy of Never'
    return None


def step_events(pull, image, step):
    """[(type, reason, message)] the kubelet records on reaching ``step`` of a pull that has not started the container."""
    if pull.outcome == NEVER:
        message = waiting_message(ERR_IMAGE_NEVER_PULL, image)
        return [("Warning", ERR_IMAGE_NEVER_PULL, message), ("Warning", "Failed", f"Error: {ERR_IMAGE_NEVER_PULL}")]
    stage = step % 3
    if stage == 0:
        return [("Normal", "Pulling", f'Pulling image "{image}"')]
    if stage == 1:
        return [("Warning", "Failed", f'Failed to pull image "{image}": {images.not_found_error(image)}'),
                ("Warning", "Failed", f"Error: {ERR_IMAGE_PULL}")]
    return [("Normal", "BackOff", f'Back-off pulling image "{image}"'), ("Warning", "Failed", f"Error: {IMAGE_PULL_BACKOFF}")]


def go_duration(milliseconds):
    """A millisecond-truncated time.Duration as Go prints it: 512ms, 1s, 1.203s."""
    if milliseconds < 1000:
        return f"{milliseconds}ms"
    return f"{milliseconds / 1000:.3f}".rstrip("0").rstrip(".") + "s"


def pulled_message(image):
    took = go_duration(images.pull_milliseconds(image))
    return f'Successfully pulled image "{image}" in {took} ({took} including waiting). Image size: {images.image_size(image)} bytes.'


def start_events(container, pull, first_start):
    """(reason, message) of the image events just before a container is created: the pull that made its
    image present, or "already present"; a restarted ``Always`` container pulls again."""
    image = container.get("image", "")
    if first_start and pull.outcome == PULLED:
        return [("Pulled", pulled_message(image))]
    if not first_start and container.get("imagePullPolicy") == "Always":
        return [("Pulling", f'Pulling image "{image}"'), ("Pulled", pulled_message(image))]
    return [("Pulled", f'Container image "{image}" already present on machine')]
