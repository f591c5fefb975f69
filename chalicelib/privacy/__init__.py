"""Privacy: the export of a member's data, its erasure, and account deletion, orchestrated
across the owners of member data (members, partners, promotions)."""
from chalicelib.platform.lazy import lazy_exports

_EXPORTS = {
    "OWNERS": "erasure",
    "delete_account": "account_deletion",
    "erase_member": "erasure",
    "erase_on_request": "account_deletion",
    "export_member": "export",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
