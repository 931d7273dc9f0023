# Everything runs from a project-local toolchain: .venv (Python packages
# pinned in requirements.txt, plus the kubesim simulator) and
# build/collections (this collection, copied from the work tree, plus
# kubernetes.core).
#
#   make demo   deploy the sample platform on a simulated cluster and print it
#   make test   lint, sanity, pytest, molecule and the release check
#
# Both set everything up first; the setup steps are targets of their own.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

PYTHON ?= python3.11
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(ROOT)/build/collections
COLLECTION_DIR := $(COLLECTIONS)/ansible_collections/cxpe/rollout
DEMO_DIR := $(ROOT)/.demo
# Simulated seconds per real second in the demo: pods start within a tenth of
# a second, so the demo's time goes to Ansible itself. Not more: the
# simulator's own reaction time is real time, and a terminating pod's 15 s
# preStop pause must still outlast the routers' following an endpoint change
# (0.6 s real here) on a loaded 2-core machine.
DEMO_TIME_SCALE ?= 25
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_FORCE_COLOR ?= false
export ANSIBLE_NOCOWS := 1
# The inventory's hosts are the controller itself; no host keys to check.
export ANSIBLE_HOST_KEY_CHECKING := false

.PHONY: all setup venv collection kubectl prometheus chromium test-tools lint sanity pytest molecule release-check test demo clean

all: test

setup: venv collection kubectl

# ---------------------------------------------------------------- setup ----

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt tests/kubesim/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -e ./tests/kubesim
	touch $@

# The collection tree holds the git-tracked files and the untracked ones that
# are not ignored, so work in progress is tested too; the simulator is not
# part of the collection. Files deleted from the work tree but still tracked
# are skipped (--ignore-failed-read). kubernetes.core is linked beside the
# collection because ansible-test only resolves dependencies within its tree.
# ansible-test lists a collection's files with git when it sits in a git work
# tree, and would find this repository's, where build/ is ignored; the copy
# gets a repository of its own (nothing committed: ansible-test also lists
# untracked files). For the same reason the tree is not under a dot-directory.
collection: venv
	rm -rf $(COLLECTION_DIR)
	mkdir -p $(COLLECTION_DIR)
	git ls-files -z --cached --others --exclude-standard \
		| grep -zv '^tests/kubesim/' \
		| tar --null --ignore-failed-read -T - -cf - \
		| tar -xf - -C $(COLLECTION_DIR)
	git -C $(COLLECTION_DIR) init --quiet
	ln -sfn "$$($(BIN)/python -c 'import ansible_collections.kubernetes as k; print(k.__path__[0])')" \
		$(COLLECTIONS)/ansible_collections/kubernetes

# Debian packages, installed only when their command is missing: kubectl for
# everything, prometheus for the metric gates of the demo and the tests,
# shellcheck for the sanity test of the shell scripts, and Chromium with its
# driver for looking at the rollout report (the demo and its test). The package
# lists already on the machine are tried first, refreshed only when that
# fails. --no-install-recommends keeps prometheus from pulling in exporters.
ensure = command -v $(1) >/dev/null || { $(APT_GET) install -y --no-install-recommends $(2) \
	|| { $(APT_GET) update && $(APT_GET) install -y --no-install-recommends $(2); }; }

# kubectl 1.28 or later: the first whose `auth whoami` uses the API the
# simulator serves (authentication.k8s.io/v1); 1.28 to 1.33 pass kubesim's
# tests. Kubernetes itself supports one minor version either side of a server's
# (v1.32 here). It comes from the `kubectl` package of an apt repository that
# has it (pkgs.k8s.io, Google Cloud's), not from Debian's kubernetes-client:
# bookworm's is 1.20, which creates PodDisruptionBudgets in policy/v1beta1.
KUBECTL_OLDEST_MINOR := 28
KUBECTL_WANTED := kubectl 1.$(KUBECTL_OLDEST_MINOR) or later is needed on the PATH: the kubectl package of \
	https://pkgs.k8s.io/core:/stable:/v1.32/deb/ (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/)
kubectl:
	$(call ensure,kubectl,kubectl) || { echo "make: no kubectl, and no apt repository here has one. $(KUBECTL_WANTED)" >&2; exit 1; }
	minor=$$(kubectl version --client -o json | sed -n 's/^ *"minor": *"\([0-9]*\).*/\1/p' | head -n 1); \
	test "$${minor:-0}" -ge $(KUBECTL_OLDEST_MINOR) \
		|| { echo "make: kubectl 1.$$minor is too old for the simulator's Kubernetes v1.32. $(KUBECTL_WANTED)" >&2; exit 1; }

prometheus:
	$(call ensure,prometheus,prometheus)

chromium:
	$(call ensure,chromedriver,chromium chromium-driver)

test-tools: prometheus chromium
	$(call ensure,shellcheck,shellcheck)

# ---------------------------------------------------------------- tests ----

# Playbooks name the collection's roles by FQCN, so lint needs it installed.
lint: collection
	ansible-lint

sanity: collection test-tools
	cd $(COLLECTION_DIR) && $(ROOT)/tests/sanity/run.sh

# Workers take whole files, so a module's shared simulator stays with its tests. The integration tests spend part
# of their time waiting (for simulated time, metric windows, Ansible's forks): three workers keep two cores busy.
pytest: setup
	pytest -n 3 --dist loadfile --durations=40 tests

molecule: setup
	molecule test --all

# galaxy-importer pins packages below what .venv has, so it gets a virtual environment of its own.
IMPORTER_VENV := $(ROOT)/build/galaxy-importer-venv

$(IMPORTER_VENV)/.installed: tests/release/requirements.txt
	test -x $(IMPORTER_VENV)/bin/python || $(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/release/requirements.txt
	touch $@

# The tarball as Galaxy gets it: galaxy-importer, then ansible-lint on the installed collection.
release-check: venv $(IMPORTER_VENV)/.installed
	$(ROOT)/tests/release/check.sh $(ROOT)/build/release $(IMPORTER_VENV)

# The stages run in this order and the first failure stops the run.
test: setup test-tools lint sanity pytest molecule release-check

# ----------------------------------------------------------------- demo ----

demo: setup prometheus chromium
	$(ROOT)/tools/demo.sh $(DEMO_DIR) $(DEMO_TIME_SCALE)

clean:
	rm -rf $(VENV) build $(DEMO_DIR) .pytest_cache
