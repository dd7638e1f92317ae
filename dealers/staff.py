"""Creating and updating staff users (DESIGN.md §1)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from .models import Office, StaffProfile
from .roles import COMPANY_ROLES, OFFICE_ROLES, Role


class StaffError(ValueError):
    pass


@transaction.atomic
def save_staff(
    *,
    username: str,
    password: str | None,
    roles: list[str],
    email: str = "",
    name: str = "",
    office_code: str | None = None,
):
    """Create or update a user with its office membership and roles; returns (user, created)."""
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise StaffError(
            f"unknown role(s): {', '.join(sorted(unknown))}; choose from {', '.join(Role.values)}"
        )
    if not roles:
        raise StaffError("at least one --role is required")
    office = None
    if office_code:
        office = Office.objects.filter(code=office_code).first()
        if office is None:
            raise StaffError(f"unknown office code {office_code}")
    if office is None and set(roles) & set(OFFICE_ROLES):
        raise StaffError("office roles need --office")
    if office is not None and set(roles) <= set(COMPANY_ROLES):
        raise StaffError("sales planning and the VP belong to no office; leave out --office")
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if password:
        user.set_password(password)
    elif created:
        raise StaffError("a new user needs --password")
    if email:
        user.email = email
    if name:
        user.first_name = name
    user.save()
    StaffProfile.objects.update_or_create(user=user, defaults={"office": office})
    user.groups.set(Group.objects.filter(name__in=roles))
    return user, created
