"""The repository documents itself: nothing in it points outside it, and its Markdown links resolve.

No database: these tests read the files of the checkout.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Built from pieces so that this file does not match itself.
OUTSIDE_POINTERS = ("../" + "shared", "DATA_DICTIONARY" + ".md", "REFERENCE" + ".md")
# docs/ may name the documents it replaces; bench/results/ holds recorded runs, never edited.
SKIPPED_FOLDERS = ("docs/", "bench/results/")

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, text=True, encoding="utf-8"
    )
    return [name for name in result.stdout.split("\0") if name]


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file (or one that is gone from the working tree)."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_no_tracked_file_points_outside_the_repository():
    found = []
    for name in tracked_files():
        if name.startswith(SKIPPED_FOLDERS):
            continue
        text = text_of(REPO / name)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            found += [f"{name}:{number}: {pointer}" for pointer in OUTSIDE_POINTERS if pointer in line]
    assert found == [], "Point to docs/contract.md or docs/reference.md instead:\n" + "\n".join(found)


def markdown_pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def prose(text: str) -> str:
    """The Markdown without its code blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page.read_text(encoding="utf-8"))) if not SCHEME.match(target)]


def anchors(page: Path) -> set[str]:
    """The anchors of the page's headings, as GitHub makes them."""
    seen: dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def test_the_documentation_pages_exist():
    assert {page.name for page in markdown_pages()} >= {"README.md", "contract.md", "reference.md"}


@pytest.mark.parametrize("page", markdown_pages(), ids=lambda page: str(page.relative_to(REPO)))
def test_relative_links_point_to_files_of_the_repository(page):
    broken = []
    for target in links(page):
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.is_relative_to(REPO):
            broken.append(f"{target}: outside the repository")
        elif not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading with this anchor")
    assert broken == [], f"Broken links in {page.relative_to(REPO)}:\n" + "\n".join(broken)
