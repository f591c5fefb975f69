"""Loading on first use, the one mechanism for it (cold start: a Lambda container pays for a
module only when a request needs it, not when ``app.py`` registers the routes).

A domain package's ``__getattr__`` is ``lazy_exports(...)``: ``from chalicelib import members;
members.register(...)`` loads ``members.registration`` only when ``register`` is first used,
and never the package's other modules; ``members.consent`` loads that submodule on first use.
It goes through ``importlib.import_module``, so simultaneous first uses are safe.
"""
from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, exports: dict):
    """A package's ``__getattr__``: ``exports`` maps each public name to the submodule that
    defines it; a submodule's own name imports that submodule."""

    def __getattr__(name: str):
        module_name = exports.get(name)
        if module_name is None:
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError:
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(f"{package}.{module_name}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
