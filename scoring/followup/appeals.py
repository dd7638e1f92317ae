"""Appeals (DESIGN.md §5a): an office manager asks sales planning to review a computed class."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dealers.notifications import notify
from dealers.roles import Role, allowed
from evalsys.bulk import update_rows
from evalsys.periods import Quarter
from scoring import services
from scoring.models import Grade, GradingStatus, QuarterGrading
from scoring.services import ScoringError

from .models import Appeal, AppealStatus

REASON_MAX = 5000


def _reason(text: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ScoringError(message)
    if len(text) > REASON_MAX:
        raise ScoringError(_("The reason is longer than %(n)s characters.") % {"n": REASON_MAX})
    return text


def _refuse_unless_open_for_appeals(quarter: str) -> None:
    """Lock the quarter's grading row and refuse unless it is graded and not yet published."""
    grading = QuarterGrading.objects.select_for_update().filter(quarter=quarter).first()
    if grading is None:
        raise ScoringError(_("%(quarter)s has not been graded yet.") % {"quarter": quarter})
    if grading.status == GradingStatus.PUBLISHED:
        raise ScoringError(
            _("%(quarter)s is published; its classes can no longer be appealed.") % {"quarter": quarter}
        )


def request_review(*, grade: Grade, requested_class: str = "", reason: str, user) -> Appeal:
    """The office manager asks for a review of `grade`'s class before the quarter is published."""
    reason = _reason(reason, _("Give the reason for the appeal."))
    if requested_class not in ("", "A", "B", "C"):
        raise ScoringError(_("Choose class A, B or C."))
    with transaction.atomic():
        if (
            not allowed(user, Role.OFFICE_MANAGER)
            or not Grade.objects.visible_to(user).filter(pk=grade.pk).exists()
        ):
            raise ScoringError(_("You may not appeal this dealer's class."))
        _refuse_unless_open_for_appeals(grade.quarter)
        existing = Appeal.objects.filter(
            dealer_id=grade.dealer_id, quarter=grade.quarter, status=AppealStatus.OPEN
        ).first()
        if existing is not None:
            if existing.reason == reason and existing.requested_by_id == user.pk:
                return existing  # the same request sent twice
            raise ScoringError(_("An appeal for this dealer and quarter is already open."))
        appeal = Appeal(
            dealer_id=grade.dealer_id,
            quarter=grade.quarter,
            computed_class=grade.computed_class,
            final_class=grade.final_class,
            requested_class=requested_class,
            reason=reason,
            requested_by=user,
        )
        appeal._history_user = user
        try:
            with transaction.atomic():
                appeal.save()
        except IntegrityError:
            raise ScoringError(_("An appeal for this dealer and quarter is already open.")) from None
        for planner in get_user_model().objects.filter(groups__name=Role.SALES_PLANNING, is_active=True):
            notify(
                user=planner,
                key=f"appeal:new:{appeal.pk}",
                title=_("Appeal: %(dealer)s, %(quarter)s")
                % {"dealer": grade.dealer, "quarter": grade.quarter},
                body=reason,
                url=appeal.get_absolute_url(),
            )
    return appeal


def decide(*, appeal: Appeal, final_class: str = "", reason: str, user) -> Appeal:
    """Sales planning decides: with `final_class`, the dealer's final class is overridden with the
    reason; without, the appeal is rejected. The office managers are told either way."""
    reason = _reason(reason, _("Give the reason for the decision."))
    if final_class not in ("", "A", "B", "C"):
        raise ScoringError(_("Choose class A, B or C."))
    status = AppealStatus.OVERRIDDEN if final_class else AppealStatus.REJECTED
    with transaction.atomic():
        if not allowed(user, Role.SALES_PLANNING):
            raise ScoringError(_("Only sales planning decides appeals."))
        locked = Appeal.objects.select_for_update().select_related("dealer").get(pk=appeal.pk)
        if locked.status != AppealStatus.OPEN:
            if (locked.status, locked.decided_class, locked.decision_reason) == (status, final_class, reason):
                return locked  # the same decision sent twice
            raise ScoringError(_("This appeal has already been decided."))
        _refuse_unless_open_for_appeals(locked.quarter)
        if final_class:
            grade = (
                Grade.objects.select_for_update()
                .filter(dealer_id=locked.dealer_id, quarter=locked.quarter)
                .first()
            )
            if grade is None:
                raise ScoringError(
                    _("The dealer has no grade for %(quarter)s.") % {"quarter": locked.quarter}
                )
            services.override_class(grade=grade, final_class=final_class, reason=reason, user=user)
        locked.status = status
        locked.decided_class = final_class
        locked.decision_reason = reason
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked._history_user = user
        locked.save()
        _tell_office(locked)
    return locked


def _tell_office(appeal: Appeal) -> None:
    if appeal.status == AppealStatus.OVERRIDDEN:
        title = _("Appeal for %(dealer)s granted: class %(cls)s") % {
            "dealer": appeal.dealer,
            "cls": appeal.decided_class,
        }
    elif appeal.status == AppealStatus.REJECTED:
        title = _("Appeal for %(dealer)s rejected") % {"dealer": appeal.dealer}
    else:
        title = _("Appeal for %(dealer)s not decided before %(quarter)s was published") % {
            "dealer": appeal.dealer,
            "quarter": appeal.quarter,
        }
    managers = set(
        get_user_model()
        .objects.filter(
            groups__name=Role.OFFICE_MANAGER, staff_profile__office_id=appeal.dealer.office_id, is_active=True
        )
        .values_list("pk", flat=True)
    )
    managers.add(appeal.requested_by_id)
    for user_id in sorted(managers):
        notify(
            user=get_user_model()(pk=user_id),
            key=f"appeal:decided:{appeal.pk}",
            title=title,
            body=appeal.decision_reason,
            url=appeal.get_absolute_url(),
        )


def open_appeals(quarter: Quarter):
    """The quarter's appeals awaiting a decision, for the publish confirmation."""
    return Appeal.objects.filter(quarter=str(quarter), status=AppealStatus.OPEN).select_related(
        "dealer__office", "requested_by"
    )


def on_publish(*, quarter: Quarter, user=None) -> int:
    """Appeals still open when their quarter is published lapse; their office managers are told."""
    lapsed = list(open_appeals(quarter))
    for appeal in lapsed:
        appeal.status = AppealStatus.LAPSED
    update_rows(Appeal, lapsed, ["status"], user=user)
    for appeal in lapsed:
        _tell_office(appeal)
    return len(lapsed)
