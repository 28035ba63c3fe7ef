"""House rules that reviews keep catching by hand, checked mechanically."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b.+\b(FROM|INTO|SET)\b", re.S)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_pipeline_never_imports_streamlit():
    offenders = [p.name for p in (ROOT / "pipeline").rglob("*.py") if "streamlit" in _imports(p)]
    assert offenders == []


def test_pages_have_no_sql_and_no_duckdb():
    for page in (ROOT / "pages").glob("*.py"):
        assert "duckdb" not in _imports(page), page.name
        strings = [n.value for n in ast.walk(ast.parse(page.read_text(encoding="utf-8")))
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        assert not [s for s in strings if SQL.search(s)], f"SQL string in {page.name}"


def test_every_page_starts_with_the_router_guard_and_its_own_permission():
    # Without it a cold deep link runs the page directly, skipping app.py and its sign-in (see
    # ui/core.page_guard); the permission is the page's own: page:<file name>, listed in data/roles.csv.
    from pipeline import auth

    known = set().union(*auth.role_permissions().values())
    for page in (ROOT / "pages").glob("*.py"):
        first = next(n for n in ast.parse(page.read_text(encoding="utf-8")).body
                     if isinstance(n, (ast.Expr, ast.Assign)) and isinstance(n.value, ast.Call))
        assert ast.unparse(first.value) == f"core.page_guard('page:{page.stem}')", page.name
        assert f"page:{page.stem}" in known, page.name


def test_app_is_only_a_router():
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert not {"duckdb", "pandas", "plotly"} & _imports(ROOT / "app.py")


def test_readme_lists_every_setting_with_its_default():
    from pipeline import settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(SC_[A-Z_]+)` \| `([^`]*)` \|", readme, re.M))
    for name, default, _ in settings.SETTINGS:
        assert f"SC_{name}" in rows, name
        if default and name not in ("INBOX", "AUTH_DB"):
            assert rows[f"SC_{name}"] == default, (name, rows[f"SC_{name}"], default)


def test_screens_write_numbers_through_one_formatter():
    """Counts, shares and decimals on screen go through pipeline.grammar (ui.core.num / pct / share /
    decimal): a browser review found 16.0 % beside the briefing's 16,8 % and '1553' beside '1 553'.
    Format specs that would write a number another way: thousands (':,'), percent (':.0%'), a fixed
    decimal followed by a percent sign. SVG coordinates and widths (':.1f}' not before '%' as text)
    are not numbers a person reads."""
    spec = re.compile(r"\{[^{}]*:(?:[+]?,|[+]?\.\d+%|[+]?,?\.\d+f)\}(?:\\u202f|\s)?%|\{[^{}]*:[+]?,[^{}]*\}|\{[^{}]*:\.\d+%\}")
    offenders = []
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                text = ast.unparse(node)
                if spec.search(text) and "style=" not in text:  # a CSS width in percent is layout
                    offenders.append(f"{path.name}:{node.lineno}: {text[:90]}")
    assert offenders == []
