"""Where the apps plug into `dealers`: the dashboard's panels, the customer file's sections and
`seed_demo`'s seeders.

`dealers` is the base app and imports no app above it: each app (dealers itself included)
registers its pieces in its `AppConfig.ready`, with a number that places them on the page
(or in the seeding order).

- A panel is `panel(request)`, a section `section(request, dealer)`: each returns a dict
  with "template" and its context, or None when it has nothing to show this user.
- A seeder is `seed(*, stdout, today)`, idempotent: a second run adds nothing.
- A role flag names the roles of a view's `role_required`, so that the navigation shows a
  link exactly to those the page lets in: `{% if may.log_visit %}` in a template.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    order: int
    function: Callable
    label: str = ""


class Slots:
    """Functions registered by the apps, in their `order`."""

    def __init__(self, name: str):
        self.name = name
        self._entries: dict[str, Entry] = {}

    def register(self, order: int, function: Callable, label: str = "") -> None:
        # Keyed by the function's dotted name, so a second `ready()` (test runners) adds nothing.
        self._entries[f"{function.__module__}.{function.__qualname__}"] = Entry(order, function, label)

    def entries(self) -> list[Entry]:
        return sorted(self._entries.values(), key=lambda e: e.order)

    def __iter__(self) -> Iterator[Callable]:
        return (entry.function for entry in self.entries())


dashboard_panels = Slots("dashboard panels")
customer_file_sections = Slots("customer file sections")
demo_seeders = Slots("demo seeders")


# flag name -> the roles (a superuser is always allowed), for the templates' `may`
role_flags: dict[str, tuple[str, ...]] = {}


def register_role_flag(name: str, roles) -> None:
    role_flags[name] = tuple(roles)
