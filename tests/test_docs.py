"""The README is a short front door, and the documentation it leads to holds together.

Every relative link in README.md and under docs/ (and in the benchmark history) points at a file
that exists, and at a heading that exists when it names one; docs/layout.md names every package
under webapp/.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.support import ROOT

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md")), ROOT / "bench" / "results" / "history.md"]
README_MAX_LINES = 250

# [text](target) and ![alt](target), outside code; the target ends at whitespace or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without fenced blocks and inline code, where a bracket is not a link."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        slug = _anchor(heading)
        count = seen.get(slug, 0)
        anchors.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return anchors


def _relative_links(path: Path) -> list[str]:
    targets = LINK.findall(_prose(path.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]  # http:, mailto: ...


def test_the_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_the_docs_have_a_page_per_topic():
    pages = sorted(path.name for path in DOCS.glob("*.md"))
    assert len(pages) >= 4, pages


def test_the_readme_links_every_docs_page():
    linked = {Path(target.split("#")[0]).name for target in _relative_links(ROOT / "README.md")}
    unlinked = sorted(path.name for path in DOCS.glob("*.md") if path.name not in linked)
    assert not unlinked, f"README.md's documentation map misses {unlinked}"


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in _relative_links(page):
        file_part, _, fragment = target.partition("#")
        destination = (page.parent / unquote(file_part)).resolve() if file_part else page
        if not destination.exists():
            broken.append(f"{target}: no file {destination.relative_to(ROOT)}")
        elif fragment and destination.suffix == ".md" and fragment not in _anchors(destination):
            broken.append(f"{target}: no heading #{fragment} in {destination.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_layout_names_every_package_under_webapp():
    layout = (DOCS / "layout.md").read_text(encoding="utf-8")
    packages = sorted(path.name for path in (ROOT / "webapp").iterdir() if path.is_dir() and any(path.glob("*.py")))
    assert packages, "no packages found under webapp/"
    # Each as an entry of the tree: an indented line that starts with the package's directory.
    missing = [name for name in packages if not re.search(rf"^ +{re.escape(name)}/ ", layout, re.MULTILINE)]
    assert not missing, f"docs/layout.md does not describe webapp/{missing}"


def test_the_operations_page_ends_with_its_limits():
    text = (DOCS / "operations.md").read_text(encoding="utf-8").rstrip().splitlines()
    assert "## Limits" in text, "docs/operations.md lost its Limits section"
    assert text.index("## Limits") == max(i for i, line in enumerate(text) if line.startswith("## "))
