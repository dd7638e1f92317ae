"""Staff roles (DESIGN.md §1). Each role is a Django group of the same name."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OFFICE_MANAGER = "office_manager", _("Office manager")
    BUSINESS_MANAGER = "business_manager", _("Business manager")
    INTERNAL_SUPERVISOR = "internal_supervisor", _("Internal-affairs supervisor")
    STATISTICIAN = "statistician", _("Statistician")
    SALES_PLANNING = "sales_planning", _("Sales planning")
    MARKETING_VP = "marketing_vp", _("Marketing VP")


OFFICE_ROLES = (
    Role.OFFICE_MANAGER,
    Role.BUSINESS_MANAGER,
    Role.INTERNAL_SUPERVISOR,
    Role.STATISTICIAN,
)
COMPANY_ROLES = (Role.SALES_PLANNING, Role.MARKETING_VP)
# Who imports company-wide files (sales, dealers) in the browser.
IMPORT_ROLES = (Role.STATISTICIAN, Role.SALES_PLANNING)


def roles_of(user) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_evalsys_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._evalsys_roles = cached
    return cached


def has_role(user, *roles) -> bool:
    return bool(roles_of(user).intersection(roles))


def allowed(user, *roles) -> bool:
    """A superuser, or a holder of any of `roles`: the one rule of pages, buttons and menus."""
    return user.is_superuser or has_role(user, *roles)


def sees_all_offices(user) -> bool:
    return user.is_authenticated and allowed(user, *COMPANY_ROLES)


def office_id_of(user):
    """The id of the user's office, or None."""
    if not user.is_authenticated:
        return None
    cached = getattr(user, "_evalsys_office_id", False)
    if cached is False:
        from .models import StaffProfile

        cached = StaffProfile.objects.filter(user=user).values_list("office_id", flat=True).first()
        user._evalsys_office_id = cached
    return cached


def display_name(user) -> str:
    """How staff are named on pages, exports and e-mails: the full name, else the username."""
    return user.get_full_name() or user.get_username()
