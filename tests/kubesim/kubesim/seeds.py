"""Loading multi-document YAML seed files into the store at start-up."""

import yaml

from . import resources
from .api.conversion import conversion_for
from .controllers import crds
from .errors import ApiError


# Seeded objects are recorded in managedFields as if ``kubectl create -f`` had made them.
FIELD_MANAGER = "kubectl-create"


class SeedError(Exception):
    pass


def _documents(path):
    with open(path, encoding="utf-8") as handle:
        for document in yaml.safe_load_all(handle):
            if document is None:
                continue
            if document.get("kind", "").endswith("List") and "items" in document:
                yield from document["items"]
            else:
                yield document


def _create(store, path, rtype, document):
    try:
        return store.create(rtype, document)
    except ApiError as exc:
        raise SeedError(f"{path}: {document.get('kind')} {document.get('metadata', {}).get('name')}: {exc.message}") from exc


def load(store, paths):
    """Create every object of every file; CustomResourceDefinitions go in first (and are established at
    once, so the seeds may hold their custom resources), then cluster-scoped objects (namespaces first),
    then namespaced ones, so a seed may list them in any order. Returns the number created."""
    documents = [(path, document) for path in paths for document in _documents(path)]
    definitions = [(path, d) for path, d in documents if (d.get("apiVersion"), d.get("kind")) == (resources.CRDS.api_version, resources.CRDS.kind)]
    for path, document in definitions:
        crds.establish(store, _create(store, path, resources.CRDS, document), store.clock.timestamp())
    typed = []
    for path, document in documents:
        if (path, document) in definitions:
            continue
        served = resources.by_kind(document.get("apiVersion", ""), document.get("kind", ""))
        if served is None:
            raise SeedError(f"{path}: unknown kind {document.get('apiVersion')}/{document.get('kind')}")
        # A version served by conversion is stored in the stored version.
        conversion = conversion_for(served)
        typed.append((path, conversion.stored, conversion.to_stored(document)) if conversion else (path, served, document))
    typed.sort(key=lambda item: (item[1].namespaced, item[1].key != resources.NAMESPACES.key))
    for path, rtype, document in typed:
        _create(store, path, rtype, document)
    return len(definitions) + len(typed)
