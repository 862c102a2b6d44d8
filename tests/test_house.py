"""The house stays straight: every module's imports run down the floors of ARCHITECTURE.md.

core (framework plumbing) <- registry <- outcomes <- quality <- analysis, demo, interop <- config. A module may use its
own app and the floors below; a lower app learns of a higher one's interests through signals. The
imports are read from the source (inside functions too), and so are dotted strings that name a
module (``include("outcomes.urls")``), since those are imports by another name.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each app and the apps it may use besides itself.
MAY_USE = {
    "core": set(),
    "registry": {"core"},
    "outcomes": {"core", "registry"},
    "quality": {"core", "registry", "outcomes"},
    "analysis": {"core", "registry", "outcomes", "quality"},
    "demo": {"core", "registry", "outcomes", "quality"},
    "interop": {"core", "registry", "outcomes", "quality"},
    "config": {"core", "registry", "outcomes", "quality", "analysis", "demo", "interop"},
}
DATA_MODULES = {"demo/data.py"}
MAX_MODULE_LINES = 500
MAX_APP_SHARE = 0.35
DOTTED = re.compile(rf"^({'|'.join(MAY_USE)})(\.[A-Za-z_]\w*)+$")


def app_modules() -> list[Path]:
    """Every Python module of the apps and config, tests and conftest files left out."""
    return sorted(
        path
        for app in MAY_USE
        for path in (ROOT / app).rglob("*.py")
        if "tests" not in path.relative_to(ROOT).parts and path.name != "conftest.py"
    )


def used_apps(path: Path) -> set[tuple[int, str]]:
    """(line, app) for each import or dotted module string of ``path`` that names a project app."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.match(node.value):
            names = [node.value]
        found |= {(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in MAY_USE}
    return found


def test_it_reads_imports_inside_functions_and_dotted_module_strings(tmp_path):
    module = tmp_path / "sample.py"
    module.write_text(
        "import os\nfrom registry.models import Patient\n\n\n"
        "def later():\n    from analysis.services import stats_refresh_schedule\n\n\n"
        'urls = include("outcomes.urls")\nname = "plain text. Not a module"\n'
    )

    assert used_apps(module) == {(2, "registry"), (6, "analysis"), (9, "outcomes")}
    assert len(app_modules()) > 40


def test_no_module_imports_an_app_above_its_own():
    wrong = []
    for path in app_modules():
        own = path.relative_to(ROOT).parts[0]
        for line, app in sorted(used_apps(path)):
            if app != own and app not in MAY_USE[own]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} uses {app}")
    assert wrong == [], "Imports against the floors:\n" + "\n".join(wrong)


def test_no_app_module_is_over_500_lines_except_data_and_migrations():
    long = [
        f"{path.relative_to(ROOT)}: {lines}"
        for path in app_modules()
        if "migrations" not in path.parts
        and path.relative_to(ROOT).as_posix() not in DATA_MODULES
        and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


def test_no_app_holds_more_than_35_percent_of_the_code():
    lines = dict.fromkeys(MAY_USE, 0)
    for path in app_modules():
        lines[path.relative_to(ROOT).parts[0]] += len(path.read_text().splitlines())
    total = sum(lines.values())
    shares = {app: round(count / total, 3) for app, count in lines.items()}
    assert max(shares.values()) < MAX_APP_SHARE, shares
