"""Modules loaded on first attribute access (cold start: a Lambda container pays for a service
module only when a request needs it, not when ``app.py`` registers the routes)."""
from __future__ import annotations

import importlib.util
import sys


def lazy_module(name: str):
    """``name`` as a module object whose code runs the first time one of its names is used."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
