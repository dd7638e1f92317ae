from .notifications import unread_count
from .roles import IMPORT_ROLES, allowed, roles_of, sees_all_offices


def navigation(request):
    """What the navigation bar needs: the user's roles and unread notifications."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_roles": roles_of(user),
        "sees_all_offices": sees_all_offices(user),
        "can_import": allowed(user, *IMPORT_ROLES),
        "unread_notifications": unread_count(user),
    }
