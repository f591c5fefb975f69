"""Operators: the people who run eSO from the console at ``/admin``. Their accounts, sessions
and second factors, and the append-only audit log of what they do.

Other packages use operators through the names below; only this package touches its tables.
"""
from chalicelib.platform.lazy import lazy_exports

_EXPORTS = {
    "add": "accounts",
    "disable": "accounts",
    "get_operator": "accounts",
    "list_all": "accounts",
    "operator_of_link": "accounts",
    "password_step": "accounts",
    "use_link": "accounts",
    "record": "audit",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
