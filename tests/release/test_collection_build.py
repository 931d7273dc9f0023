# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection, as Galaxy and its users get it.

Builds the tarball with ``ansible-galaxy collection build`` and reads it: it
holds what an installed collection needs and nothing that needs the source
tree, and every relative link of its Markdown files leads to a file it holds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import posixpath
import re
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# What only works in the source tree: the tests (kubesim, the build directory), the development toolchain, the demo.
SOURCE_TREE_ONLY = (
    "tests/",
    "tools/",
    "extensions/molecule/",
    "inventories/demo-units/",
    ".ci/",
    ".venv/",
    "build/",
    ".demo/",
    "changelogs/fragments/",
    "docs/kubesim.md",
    "docs/benchmarks.md",
    "pytest.ini",
    "Makefile",
    "requirements.txt",
    ".ansible-lint",
)

# A Markdown link or image, [text](target "title"), and a reference definition, [label]: target.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.IGNORECASE)


def read_galaxy_yml():
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as stream:
        return yaml.safe_load(stream)


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    output = tmp_path_factory.mktemp("collection")
    ansible_galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    subprocess.run([ansible_galaxy, "collection", "build", "--output-path", str(output), ROOT], check=True, capture_output=True)
    (path,) = output.iterdir()
    with tarfile.open(str(path)) as archive:
        members = dict((member.name, member) for member in archive.getmembers())
        texts = dict((name, archive.extractfile(member).read().decode("utf-8")) for name, member in members.items()
                     if member.isfile() and name.endswith((".md", ".json")))
    return {"name": path.name, "files": sorted(name for name, member in members.items() if member.isfile()), "texts": texts}


def markdown_links(text):
    """The targets of the links of a Markdown text, outside code."""
    text = INLINE_CODE.sub("", FENCE.sub("", text))
    return INLINE_LINK.findall(text) + REFERENCE.findall(text)


def broken_links(files, texts):
    """(file, target) of each relative link of a shipped Markdown file that leads to no shipped file or directory."""
    shipped = set(files)
    broken = []
    for name in sorted(texts):
        if not name.endswith(".md"):
            continue
        for target in markdown_links(texts[name]):
            if EXTERNAL.match(target):
                continue
            path = posixpath.normpath(posixpath.join(posixpath.dirname(name), target.split("#", 1)[0]))
            if path.startswith("../") or not (path in shipped or any(shipped_file.startswith(path + "/") for shipped_file in shipped)):
                broken.append((name, target))
    return broken


def test_tarball_is_named_after_galaxy_yml(tarball):
    galaxy = read_galaxy_yml()
    assert tarball["name"] == "{namespace}-{name}-{version}.tar.gz".format(**galaxy)


def test_manifest_names_where_the_collection_lives(tarball):
    info = json.loads(tarball["texts"]["MANIFEST.json"])["collection_info"]
    for key in ("repository", "documentation", "homepage", "issues"):
        assert (info[key] or "").startswith("https://"), key
    assert re.match(r"^>=\d+\.\d+\.\d+,<\d+\.\d+\.\d+$", info["dependencies"]["kubernetes.core"])


def test_nothing_needs_the_source_tree(tarball):
    assert [name for name in tarball["files"] if name.startswith(SOURCE_TREE_ONLY) or "/__pycache__/" in name] == []


def test_every_tracked_file_ships_unless_it_needs_the_source_tree(tarball):
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.split("\n")
    expected = set(name for name in tracked if name and not name.startswith(SOURCE_TREE_ONLY) and os.path.isfile(os.path.join(ROOT, name))
                   and name not in (".gitignore", "galaxy.yml"))
    assert sorted(expected - set(tarball["files"])) == []


def test_ships_a_readme_per_role_and_a_changelog(tarball):
    roles = sorted(os.listdir(os.path.join(ROOT, "roles")))
    assert [role for role in roles if "roles/{0}/README.md".format(role) not in tarball["files"]] == []
    assert "CHANGELOG.rst" in tarball["files"]
    assert "changelogs/changelog.yaml" in tarball["files"]


def test_relative_markdown_links_resolve_in_the_tarball(tarball):
    assert broken_links(tarball["files"], tarball["texts"]) == []


def test_link_check_finds_broken_links():
    files = ["README.md", "docs/guide.md", "roles/voice/README.md", "data/catalog.yml"]
    texts = {
        "README.md": "[guide](docs/guide.md#top) [cat][c] ![logo](img/logo.png) `[x](nowhere.md)` [web](https://example.com)\n\n"
                     "```sh\n[y](nowhere.md)\n```\n\n[c]: data/catalog.yml\n[dir](roles/voice) [gone](docs/kubesim.md)\n",
        "docs/guide.md": "[up](../README.md) [out](../../outside.md) [here](#section)\n",
        "roles/voice/README.md": "[role](../../roles/voice/README.md) [missing](../canary/README.md)\n",
    }
    assert broken_links(files, texts) == [
        ("README.md", "img/logo.png"),
        ("README.md", "docs/kubesim.md"),
        ("docs/guide.md", "../../outside.md"),
        ("roles/voice/README.md", "../canary/README.md"),
    ]
