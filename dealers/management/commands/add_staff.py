from django.core.management.base import BaseCommand, CommandError

from dealers.roles import Role
from dealers.staff import StaffError, save_staff


class Command(BaseCommand):
    help = "Create or update a staff user with an office and one or more roles."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument(
            "--password", help="required for a new user; changes an existing user's password (validated)"
        )
        parser.add_argument("--email", default="")
        parser.add_argument("--name", default="", help="full name as shown in the application")
        parser.add_argument("--office", help="office code (not for sales planning or the VP)")
        parser.add_argument("--role", action="append", default=[], choices=Role.values, required=True)

    def handle(self, *args, username, password, email, name, office, role, **options):
        try:
            user, created = save_staff(
                username=username, password=password, roles=role, email=email, name=name, office_code=office
            )
        except StaffError as exc:
            raise CommandError(str(exc)) from None
        verb = "created" if created else "updated"
        self.stdout.write(f"{user.username} {verb}: {', '.join(role)}" + (f" @ {office}" if office else ""))
        if password and not created:
            self.stdout.write(f"{user.username}: password changed")
