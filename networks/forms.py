import uuid

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dealers.models import Dealer
from evalsys.periods import MonthFormField

from .models import ChurnReason, Verification

EFFECT_CHOICES = [
    (1, _("1 · no effect")),
    (2, _("2 · weak")),
    (3, _("3 · fair")),
    (4, _("4 · good")),
    (5, _("5 · excellent")),
]
PURPOSE_SUGGESTIONS = [
    _("Routine visit"),
    _("Target negotiation"),
    _("Collecting payment"),
    _("Product training"),
    _("Handling a complaint"),
    _("Market survey"),
]


class DealerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name}"


class VisitForm(forms.Form):
    dealer = DealerChoiceField(label=_("Dealer"), queryset=Dealer.objects.none())
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    purpose = forms.CharField(
        label=_("Purpose"), max_length=200, widget=forms.TextInput(attrs={"list": "purposes"})
    )
    effect = forms.TypedChoiceField(
        label=_("Effect"), choices=EFFECT_CHOICES, coerce=int, widget=forms.RadioSelect
    )
    findings = forms.CharField(label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    follow_up = forms.CharField(
        label=_("Follow-up"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, dealers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dealer"].queryset = dealers
        self.fields["date"].initial = timezone.localdate()
        self.fields["token"].initial = uuid.uuid4


class ChurnReportForm(forms.Form):
    churned_on = forms.DateField(
        label=_("Churn date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=ChurnReason.choices, widget=forms.RadioSelect)
    narrative = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 4}))
    last_sales_month = MonthFormField(label=_("Last month with sales"))

    def __init__(self, *args, dealer, **kwargs):
        super().__init__(*args, **kwargs)
        if dealer.churned_on:
            self.fields["churned_on"].disabled = True
            self.fields["churned_on"].initial = dealer.churned_on
        else:
            self.fields["churned_on"].required = True
            self.fields["churned_on"].initial = timezone.localdate()


class VerificationForm(forms.Form):
    verification = forms.ChoiceField(
        label=_("Verification"),
        choices=[
            (Verification.CONFIRMED, Verification.CONFIRMED.label),
            (Verification.DISPUTED, _("Dispute")),
        ],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when disputing."),
    )
    countermeasures = forms.CharField(
        label=_("Countermeasures"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


RATING = {"min_value": 0, "max_value": 100, "max_digits": 5, "decimal_places": 2}


class AuditForm(forms.Form):
    customer_growth_rating = forms.DecimalField(label=_("Customer growth (0–100)"), **RATING)
    key_customer_growth_rating = forms.DecimalField(label=_("Key-customer growth (0–100)"), **RATING)
    maintenance_rating = forms.DecimalField(label=_("Maintenance effect (0–100)"), **RATING)
    findings = forms.CharField(label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 4}))


class SummaryForm(forms.Form):
    analysis = forms.CharField(label=_("Analysis"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    problems = forms.CharField(label=_("Problems"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    next_steps = forms.CharField(
        label=_("Next steps"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class CommentForm(forms.Form):
    comment = forms.CharField(label=_("Sales planning comment"), widget=forms.Textarea(attrs={"rows": 3}))


class VisitFilterForm(forms.Form):
    """The visit list's filters; `who=mine` (a business manager's default) shows the user's own visits."""

    who = forms.ChoiceField(choices=[("mine", _("My visits")), ("all", _("All I can see"))], required=False)
    office = forms.ModelChoiceField(label=_("Office"), queryset=None, required=False)
    visitor = forms.ModelChoiceField(label=_("Business manager"), queryset=None, required=False)
    q = forms.CharField(label=_("Dealer code or name"), required=False, max_length=100)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, user, offices, visitors, default_who, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.default_who = user, default_who
        self.fields["office"].queryset = offices
        self.fields["visitor"].queryset = visitors
        self.fields["visitor"].label_from_instance = lambda u: u.get_full_name() or u.username

    def apply(self, visits):
        data = self.cleaned_data if self.is_valid() else {}
        if (data.get("who") or self.default_who) == "mine":
            visits = visits.filter(visitor=self.user)
        if data.get("office"):
            visits = visits.filter(dealer__office=data["office"])
        if data.get("visitor"):
            visits = visits.filter(visitor=data["visitor"])
        if data.get("q"):
            q = data["q"].strip()
            visits = visits.filter(Q(dealer__code__icontains=q) | Q(dealer__name__icontains=q))
        if data.get("date_from"):
            visits = visits.filter(date__gte=data["date_from"])
        if data.get("date_to"):
            visits = visits.filter(date__lte=data["date_to"])
        return visits

    def chosen_who(self) -> str:
        return (self.cleaned_data.get("who") if self.is_valid() else "") or self.default_who
