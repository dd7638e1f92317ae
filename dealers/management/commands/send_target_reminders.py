import datetime
import smtplib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dealers.targets.reminders import send_target_reminders


class Command(BaseCommand):
    help = "Run the target reminder job for a given day (default today): each person is told once a month."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to run for, YYYY-MM-DD")

    def handle(self, *args, date=None, **options):
        try:
            today = datetime.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError:
            raise CommandError(_("--date: not a date like 2026-09-25: %(date)s") % {"date": date}) from None
        try:
            result = send_target_reminders(today=today)
        except (smtplib.SMTPException, OSError) as exc:
            raise CommandError(
                _(
                    "The mail server %(host)s:%(port)s could not be used (%(error)s). Reminders already "
                    "sent stay sent; run the job again when the server is back: the others are sent then."
                )
                % {"host": settings.EMAIL_HOST, "port": settings.EMAIL_PORT, "error": exc}
            ) from None
        if result["kind"] is None:
            self.stdout.write(_("%(day)s: no target reminder is due on this day.") % {"day": today})
            return
        missing = ngettext(
            "%(count)s dealer without an agreed target",
            "%(count)s dealers without an agreed target",
            result["missing"],
        ) % {"count": result["missing"]}
        sent = ngettext("%(count)s person reminded", "%(count)s people reminded", result["sent"]) % {
            "count": result["sent"]
        }
        self.stdout.write(
            _("%(day)s: %(kind)s reminder for %(month)s: %(missing)s, %(sent)s.")
            % {
                "day": today,
                "kind": result["kind"],
                "month": result["month"],
                "missing": missing,
                "sent": sent,
            }
        )
