"""Data has one owner: every SQL statement in the code touches only tables of its own package.

The map is `hotline.db.TABLE_OWNERS`. The SQL is found by reading the packages' source (every
string constant that is SQL, module-level fragments pasted into the f-strings that use them) and
parsed for the tables it names after FROM, JOIN, INTO, UPDATE, DELETE FROM and TABLE, leaving out
the names a WITH clause defines. Foreign keys across packages live in the migrations and are fine;
reads and writes are not.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

from hotline.db import TABLE_OWNERS

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agents", "cti", "customers", "hotline", "ivr", "knowledge_base", "tickets", "web_agent")

_TOKEN = re.compile(
    r"""
    (?P<skip>\s+|--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$|\$\d+)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*|"(?:[^"]|"")+")
    | (?P<mark>[(),.;])
    | (?P<other>.)
    """,
    re.S | re.X,
)
# A statement, or a fragment of WITH clauses ("name AS (...)") pasted into one.
_LOOKS_LIKE_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|TRUNCATE|CREATE|ALTER)\b|^\s*\w+ AS \(")
# Functions whose arguments use FROM without naming a table: EXTRACT(MONTH FROM birthday).
_FROM_IN_ARGUMENTS = {"EXTRACT", "SUBSTRING", "TRIM", "POSITION", "OVERLAY"}
# Words that end a FROM list (after them comes no further table of the list).
_CLAUSE = {
    "WHERE", "GROUP", "ORDER", "LIMIT", "HAVING", "JOIN", "LEFT", "RIGHT", "INNER", "FULL", "CROSS",
    "NATURAL", "ON", "USING", "RETURNING", "SET", "UNION", "EXCEPT", "INTERSECT", "WINDOW", "FOR",
    "OFFSET", "FETCH", "SELECT", "INSERT", "UPDATE", "DELETE", "VALUES", "DO",
}  # fmt: skip


@dataclass(frozen=True)
class Statement:
    """One SQL text of the code, and the package whose source holds it."""

    package: str
    where: str
    sql: str


@dataclass(frozen=True)
class Tables:
    """The tables one SQL text names: the ones it reads or writes, and the ones it creates."""

    used: frozenset[str]
    created: frozenset[str]


def _tokens(sql: str) -> list[str]:
    """Words (upper-cased keywords and identifiers alike, quotes removed) and marks; no literals."""
    found = []
    for match in _TOKEN.finditer(sql):
        if match.group("word"):
            word = match.group("word")
            found.append(word[1:-1].replace('""', '"') if word.startswith('"') else word.upper())
        elif match.group("mark"):
            found.append(match.group("mark"))
    return found


def tables_in(sql: str) -> Tables:
    """The tables `sql` names after FROM, JOIN, INTO, UPDATE, DELETE FROM and TABLE, less its WITH names."""
    tokens = _tokens(sql)
    named: list[str] = []
    created: list[str] = []
    ctes: set[str] = set()
    openers: list[str] = []

    def at(i: int) -> str:
        return tokens[i] if 0 <= i < len(tokens) else ""

    def item(i: int, *, calls: bool = True) -> tuple[str | None, int]:
        """The table named at `i` (None: a subquery, or with `calls` a function such as unnest(...))."""
        while at(i) in ("ONLY", "LATERAL"):
            i += 1
        if at(i) in ("", "(", ")", ",", ";") or (calls and at(i + 1) == "("):
            return None, i
        name = at(i)
        while at(i + 1) == "." and at(i + 2) not in ("", "("):
            i += 2
            name = at(i)
        return name.lower(), i + 1

    def rest_of_list(i: int) -> int | None:
        """Skip one item's alias, arguments and such; the index after a comma that goes on, else None."""
        depth = 0
        while i < len(tokens):
            token = tokens[i]
            if token == "(":
                depth += 1
            elif token == ")":
                if depth == 0:
                    return None
                depth -= 1
            elif depth == 0 and (token in _CLAUSE or token == ";"):
                return None
            elif depth == 0 and token == ",":
                return i + 1
            i += 1
        return None

    for i, token in enumerate(tokens):
        before = at(i - 1)
        if token == "(":
            openers.append(before)
        elif token == ")":
            if openers:
                openers.pop()
        elif at(i + 1) == "AS" and (at(i + 2) == "(" or at(i + 2) in ("MATERIALIZED", "NOT")):
            if before in ("", "WITH", "RECURSIVE", ","):
                ctes.add(token.lower())
        elif token == "FROM":
            if (openers and openers[-1] in _FROM_IN_ARGUMENTS) or before == "DISTINCT":
                continue
            j: int | None = i + 1
            while j is not None:
                name, j = item(j)
                if name is not None:
                    named.append(name)
                j = rest_of_list(j)
        elif token == "JOIN" or (token == "UPDATE" and before not in ("FOR", "KEY", "DO")):
            name, _ = item(i + 1)
            if name is not None:
                named.append(name)
        elif token == "INTO":
            # INSERT INTO t (columns): a parenthesis after the name is its column list.
            name, _ = item(i + 1, calls=False)
            if name is not None:
                named.append(name)
        elif token == "TRUNCATE":
            j = i + 2 if at(i + 1) == "TABLE" else i + 1
            while j is not None:
                name, j = item(j)
                if name is not None:
                    named.append(name)
                j = rest_of_list(j)
        elif token == "TABLE" and before != "TRUNCATE":
            j = i + 1
            while at(j) in ("IF", "NOT", "EXISTS", "ONLY"):
                j += 1
            name, _ = item(j, calls=False)
            if name is not None:
                (created if before in ("CREATE", "UNLOGGED", "TEMP", "TEMPORARY") else named).append(name)
    return Tables(frozenset(named) - ctes, frozenset(created))


def _module_strings(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names bound to a string, an f-string or a `Literal[...]` alias."""
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found[node.target.id] = node.value
    return found


def _literal_strings(annotation: ast.expr | None, names: Mapping[str, ast.expr]) -> tuple[str, ...]:
    """The strings of a `Literal["a", "b"]` annotation (or of an alias of one); () for any other."""
    if isinstance(annotation, ast.Name) and annotation.id in names:
        annotation = names[annotation.id]
    if not (isinstance(annotation, ast.Subscript) and ast.unparse(annotation.value).endswith("Literal")):
        return ()
    values = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
    return tuple(v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str))


def _texts(
    node: ast.expr, names: Mapping[str, ast.expr], choices: Mapping[str, tuple[str, ...]]
) -> list[str]:
    """The texts a string or f-string can be: a module-level fragment in `{...}` is pasted in, a
    parameter typed `Literal[...]` gives one text per value, anything else stands as `_`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if not isinstance(node, ast.JoinedStr):
        return [" _ "]
    texts = [""]
    for part in node.values:
        options = [" _ "]
        if isinstance(part, ast.Constant):
            options = [str(part.value)]
        elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name):
            name = part.value.id
            if name in choices:
                options = list(choices[name])
            elif name in names:
                options = _texts(names[name], names, choices)
        texts = [text + option for text in texts for option in options]
    return texts


class _SqlReader(ast.NodeVisitor):
    """Collects the SQL texts of one module, knowing each function's `Literal[...]` parameters."""

    def __init__(self, tree: ast.Module, package: str, where: str) -> None:
        self.found: list[Statement] = []
        self._package, self._where = package, where
        self._names = _module_strings(tree)
        self._choices: list[dict[str, tuple[str, ...]]] = [{}]
        self._docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope = dict(self._choices[-1])
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
            values = _literal_strings(arg.annotation, self._names)
            if values:
                scope[arg.arg] = values
        self._choices.append(scope)
        self.generic_visit(node)
        self._choices.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._keep(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and id(node) not in self._docstrings:
            self._keep(node)

    def _keep(self, node: ast.Constant | ast.JoinedStr) -> None:
        for text in _texts(node, self._names, self._choices[-1]):
            if _LOOKS_LIKE_SQL.search(text):
                self.found.append(Statement(self._package, f"{self._where}:{node.lineno}", text))


def statements_in(source: str, package: str, where: str) -> list[Statement]:
    """Every SQL text of one module: its string constants and f-strings, docstrings left out."""
    tree = ast.parse(source)
    reader = _SqlReader(tree, package, where)
    reader.visit(tree)
    return reader.found


def code_statements() -> list[Statement]:
    """The SQL of every module of the application's packages."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found += statements_in(path.read_text("utf-8"), package, str(path.relative_to(ROOT)))
    return found


def trespasses(statements: list[Statement], owners: Mapping[str, str]) -> list[str]:
    """Each table a statement uses whose owner is another package (or nobody: not in the map)."""
    return [
        f"{s.where}: {s.package} uses {table}, which "
        + (
            f"belongs to {owners[table]}"
            if table in owners
            else "is in no package's map (named at run time?)"
        )
        for s in statements
        for table in sorted(tables_in(s.sql).used)
        if owners.get(table) != s.package
    ]


def created_tables() -> set[str]:
    """Every table the migrations (and the migration runner itself) create."""
    texts = [
        m.read_text("utf-8")
        for m in resources.files("hotline.migrations").iterdir()
        if m.name.endswith(".sql")
    ]
    texts += [s.sql for s in code_statements()]
    return {table for text in texts for table in tables_in(text).created}


def test_every_package_touches_only_its_own_tables() -> None:
    statements = code_statements()
    # The reader must see the SQL at all, or this test could not fail.
    assert len(statements) > 100
    assert trespasses(statements, TABLE_OWNERS) == []


def test_every_table_a_migration_creates_has_an_owner() -> None:
    assert sorted(created_tables() - set(TABLE_OWNERS)) == []
    assert sorted(set(TABLE_OWNERS) - created_tables()) == [], "the map names tables nobody creates"
    assert set(TABLE_OWNERS.values()) <= set(PACKAGES)


# -- the checker itself --------------------------------------------------------------------------

OWNERS = {"agents": "agents", "tickets": "tickets", "alerts": "tickets", "customers": "customers"}


@pytest.mark.parametrize(
    ("sql", "used"),
    [
        ("SELECT a.id FROM agents a WHERE a.username = $1", {"agents"}),
        ("SELECT * FROM tickets t JOIN public.customers c ON c.id = t.customer_id", {"tickets", "customers"}),
        (
            "INSERT INTO alerts AS a (kind) VALUES ('FROM agents') ON CONFLICT (kind) DO UPDATE SET kind = 'x'",
            {"alerts"},
        ),
        (
            "UPDATE tickets SET status = 'open' FROM unnest($1::bigint[]) AS v(id) WHERE tickets.id = v.id",
            {"tickets"},
        ),
        ("DELETE FROM alerts WHERE id = $1", {"alerts"}),
        ("TRUNCATE alerts, tickets RESTART IDENTITY", {"alerts", "tickets"}),
        ("SELECT id FROM tickets WHERE check_at <= $1 FOR UPDATE SKIP LOCKED", {"tickets"}),
        ("SELECT id FROM customers WHERE EXTRACT(MONTH FROM birthday) = 3", {"customers"}),
        ("SELECT sum(extract(epoch FROM least(a, b))) FROM tickets", {"tickets"}),
        ("SELECT 1 FROM tickets t, customers c, unnest($1::text[]) AS n", {"tickets", "customers"}),
        (
            "SELECT * FROM (SELECT id FROM alerts) x CROSS JOIN LATERAL (SELECT 1 FROM agents) y",
            {"alerts", "agents"},
        ),
        # CTE names are not tables; a WITH fragment alone ("a AS (...)") defines them too.
        (
            "WITH a AS (INSERT INTO agents (u) VALUES ($1) RETURNING *), i AS (SELECT 1) SELECT * FROM a, i",
            {"agents"},
        ),
        (
            "due AS (SELECT id FROM tickets), claimed AS (UPDATE alerts SET x = 1 FROM due RETURNING *)",
            {"tickets", "alerts"},
        ),
        ("SELECT * FROM \"tickets\" WHERE note = 'JOIN agents' -- JOIN customers", {"tickets"}),
    ],
)
def test_the_reader_names_the_tables_a_statement_uses(sql: str, used: set[str]) -> None:
    assert tables_in(sql).used == used


def test_the_reader_names_the_tables_a_migration_creates() -> None:
    sql = "CREATE TABLE IF NOT EXISTS a (id int); CREATE UNLOGGED TABLE b (a_id int REFERENCES a (id)); ALTER TABLE a ADD c int"
    assert tables_in(sql).created == {"a", "b"}


def test_a_package_reading_another_packages_table_is_reported() -> None:
    source = '''
"""A module whose docstring says SELECT * FROM agents and is not SQL."""
_COLUMNS = "t.id, t.subject"
_OWNER = "SELECT id FROM agents WHERE username = $1"


async def claim(pool, limit):
    return await pool.fetch(f"WITH due AS (SELECT {_COLUMNS} FROM tickets t) SELECT * FROM due LIMIT {limit}")


async def owner(pool, name):
    return await pool.fetchval(f"SELECT ({_OWNER}) AS owner, t.id FROM tickets t")


Outbox: TypeAlias = Literal["alerts", "agents"]


async def mark(pool, table: Outbox, row_id):
    await pool.execute(f"UPDATE {table} SET status = 'sent' WHERE id = $1", row_id)


async def forget(pool, table: str):
    await pool.execute(f"DELETE FROM {table}")
'''
    statements = statements_in(source, "tickets", "tickets/bad_store.py")
    assert trespasses(statements, OWNERS) == [
        "tickets/bad_store.py:4: tickets uses agents, which belongs to agents",
        "tickets/bad_store.py:12: tickets uses agents, which belongs to agents",
        "tickets/bad_store.py:19: tickets uses agents, which belongs to agents",
        "tickets/bad_store.py:23: tickets uses _, which is in no package's map (named at run time?)",
    ]
    assert trespasses(statements_in('SQL = "SELECT * FROM leads"', "cti", "cti/x.py"), OWNERS) == [
        "cti/x.py:1: cti uses leads, which is in no package's map (named at run time?)"
    ]
