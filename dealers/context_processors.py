from .notifications import unread_count
from .plugins import role_flags
from .roles import IMPORT_ROLES, allowed, sees_all_offices


def navigation(request):
    """What the navigation bar needs: what the user may open (`may`) and unread notifications."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "sees_all_offices": sees_all_offices(user),
        "can_import": allowed(user, *IMPORT_ROLES),
        "may": {name: allowed(user, *roles) for name, roles in role_flags.items()},
        "unread_notifications": unread_count(user),
    }
