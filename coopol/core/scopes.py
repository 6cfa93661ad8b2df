"""Territorial scopes: the hierarchy an instance configures (Europe › country › region › city).

`SCOPES` in coopol.toml is a list of `{code, name, parent}` tables; a scope without a parent is a root.
Filtering by a scope includes all its descendants. A pure reader of the configuration, in core so that
every domain (ideas, groups, events) validates scopes against the same tree without importing another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

DEFAULT_SCOPES = [
    {"code": "eu", "name": "Europe", "parent": None},
    {"code": "be", "name": "Belgium", "parent": "eu"},
    {"code": "de", "name": "Germany", "parent": "eu"},
    {"code": "es", "name": "Spain", "parent": "eu"},
    {"code": "fr", "name": "France", "parent": "eu"},
    {"code": "it", "name": "Italy", "parent": "eu"},
    {"code": "fr-idf", "name": "Île-de-France", "parent": "fr"},
    {"code": "fr-paris", "name": "Paris", "parent": "fr-idf"},
    {"code": "es-ct", "name": "Catalonia", "parent": "es"},
    {"code": "es-barcelona", "name": "Barcelona", "parent": "es-ct"},
]


@dataclass(frozen=True)
class Scope:
    code: str
    name: str
    parent: str | None
    depth: int = 0


@dataclass
class ScopeTree:
    scopes: dict[str, Scope] = field(default_factory=dict)
    children: dict[str | None, list[str]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, entries: list[dict]) -> ScopeTree:
        raw = {str(e["code"]): (str(e.get("name") or e["code"]), e.get("parent") or None) for e in entries}
        for code, (_name, parent) in raw.items():
            if parent is not None and parent not in raw:
                raise ValueError(f"SCOPES: '{code}' has an unknown parent '{parent}'")
        tree = cls()
        for code, (_name, parent) in raw.items():
            tree.children.setdefault(parent, []).append(code)

        def visit(code: str, depth: int, seen: frozenset[str]) -> None:
            if code in seen:
                raise ValueError(f"SCOPES: '{code}' is its own ancestor")
            name, parent = raw[code]
            tree.scopes[code] = Scope(code, name, parent, depth)
            for child in tree.children.get(code, []):
                visit(child, depth + 1, seen | {code})

        for root in tree.children.get(None, []):
            visit(root, 0, frozenset())
        if len(tree.scopes) != len(raw):
            raise ValueError("SCOPES: the parents form a cycle")
        return tree

    def __contains__(self, code: object) -> bool:
        return code in self.scopes

    def descendants(self, code: str) -> list[str]:
        """The scope and everything below it."""
        found, stack = [], [code]
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(self.children.get(current, []))
        return found

    def path(self, code: str | None) -> list[Scope]:
        """From the root down to the scope, for a breadcrumb (Europe › France › Paris)."""
        path = []
        while code is not None and code in self.scopes:
            path.append(self.scopes[code])
            code = self.scopes[code].parent
        return list(reversed(path))

    def ordered(self) -> list[Scope]:
        """Depth-first, for a select box with indentation."""
        out: list[Scope] = []

        def visit(code: str) -> None:
            out.append(self.scopes[code])
            for child in self.children.get(code, []):
                visit(child)

        for root in self.children.get(None, []):
            visit(root)
        return out

    def name(self, code: str | None) -> str:
        return self.scopes[code].name if code in self.scopes else (code or "")


def scope_tree() -> ScopeTree:
    return current_app.extensions["coopol.scopes"]


def init_scopes(app) -> None:
    """Read the hierarchy once per app; every module that needs it calls this from its `register(app)`."""
    if "coopol.scopes" in app.extensions:
        return
    app.config.setdefault("SCOPES", DEFAULT_SCOPES)
    app.extensions["coopol.scopes"] = ScopeTree.from_config(app.config["SCOPES"])
