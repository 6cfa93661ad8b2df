"""Territorial scopes: the hierarchy now lives in coopol/core/scopes.py (groups and events share it)."""

from coopol.core.scopes import DEFAULT_SCOPES, Scope, ScopeTree, init_scopes, scope_tree

__all__ = ["DEFAULT_SCOPES", "Scope", "ScopeTree", "init_scopes", "scope_tree"]
