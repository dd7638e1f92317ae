"""Creating and updating staff users (DESIGN.md §1)."""

from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Office, StaffProfile
from .roles import COMPANY_ROLES, OFFICE_ROLES, Role, sees_all_offices


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
    if email:
        user.email = email
    if name:
        user.first_name = name
    if password:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise StaffError("--password: " + " ".join(exc.messages)) from None
        user.set_password(password)
    elif created:
        raise StaffError("a new user needs --password")
    user.save()
    StaffProfile.objects.update_or_create(user=user, defaults={"office": office})
    user.groups.set(Group.objects.filter(name__in=roles))
    return user, created


@dataclass(frozen=True)
class Person:
    """A user as a file names him: his office (None for company-wide staff) and whether he has a
    company-wide role."""

    user: object
    office_id: int | None
    company_wide: bool


def people_by_username(usernames) -> dict[str, Person]:
    """The active users among `usernames`, with their office and company-wide roles, in two queries."""
    User = get_user_model()
    users = list(
        User.objects.filter(username__in=set(usernames), is_active=True).select_related("staff_profile")
    )
    company = set(
        User.groups.through.objects.filter(
            user_id__in=[u.pk for u in users], group__name__in=list(COMPANY_ROLES)
        ).values_list("user_id", flat=True)
    )
    people = {}
    for user in users:
        profile = getattr(user, "staff_profile", None)
        people[user.username] = Person(user, profile.office_id if profile else None, user.pk in company)
    return people


def person_problem(
    person: Person | None, *, name: str, office, importer, company_wide_ok: bool = False
) -> str | None:
    """Why `person` may not be named on a row of `office`'s dealer, or None.

    He must be staff of that office (or, where `company_wide_ok`, hold a company-wide role).
    To an importer who sees one office, anyone outside it is an unknown user, exactly like a
    name that does not exist: a file does not tell him who works elsewhere.
    """
    if person is not None and (person.office_id == office.pk or (company_wide_ok and person.company_wide)):
        return None
    if person is None or (importer is not None and not sees_all_offices(importer)):
        return _("unknown user %(name)s") % {"name": name}
    return _("%(name)s is not staff of office %(office)s") % {"name": name, "office": office.code}


# What only a superuser grants, and nobody changes on himself.
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


def may_grant(actor, user) -> bool:
    """Whether `actor` may change `user`'s roles, permissions and staff or superuser status."""
    return actor.is_superuser and (user is None or user.pk != actor.pk)


def _privileges(user) -> tuple:
    if user.pk is None:
        return (False, False, frozenset(), frozenset())
    fresh = get_user_model().objects.get(pk=user.pk)
    return (
        fresh.is_staff,
        fresh.is_superuser,
        frozenset(fresh.groups.values_list("pk", flat=True)),
        frozenset(fresh.user_permissions.values_list("pk", flat=True)),
    )


@contextmanager
def guard_privileges(*, actor, user):
    """Refuse, inside the transaction, any change of `user`'s privileges that `actor` may not make."""
    if may_grant(actor, user):
        yield
        return
    before = _privileges(user)
    yield
    if _privileges(user) != before:
        raise PermissionDenied(
            _("Only a superuser grants roles, permissions or staff status, never to himself.")
        )
