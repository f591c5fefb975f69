"""Marketing partners: the registry and API keys, referrals, reported transactions, members'
messages to partners, the offers members see, and the notices that tell partners of opt-outs.

Other packages use partners through the names below; only this package touches its tables.
"""
from chalicelib.platform.lazy import lazy_exports

_EXPORTS = {
    "MEMBER_TABLES": "records",
    "authenticate": "registry",
    "check_https_url": "registry",
    "create": "registry",
    "disable": "registry",
    "edit": "registry",
    "enable": "registry",
    "erase_member": "records",
    "export_member": "records",
    "get": "registry",
    "get_active": "registry",
    "get_many": "registry",
    "list_active": "registry",
    "list_all": "registry",
    "partner_json": "registry",
    "presented": "registry",
    "rotate_key": "registry",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
