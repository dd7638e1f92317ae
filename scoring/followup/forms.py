from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dealers.models import Dealer, Office
from evalsys.tabular import CellError, parse_amount

from .models import CLASS_CHOICES, AppealStatus, ProposalStatus, SupportKind, WatchStatus

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ANY = [("", "---------")]


class DealerCodeField(forms.CharField):
    """A dealer typed by its code (lists of 100,000 dealers make no drop-down): among `dealers`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, max_length=30, **kwargs)
        self.dealers = Dealer.objects.none()

    def clean(self, value):
        code = super().clean(value).strip().upper()
        dealer = self.dealers.filter(code__iexact=code).first()
        if dealer is None:
            raise forms.ValidationError(_("Unknown dealer code %(code)s.") % {"code": code})
        return dealer


class SupportForm(forms.Form):
    dealer = DealerCodeField(label=_("Dealer code"))
    date = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    kind = forms.ChoiceField(label=_("Kind of support"), choices=SupportKind.choices)
    value = forms.CharField(label=_("Value (yuan)"), max_length=20)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, dealers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dealer"].dealers = dealers
        self.fields["date"].initial = timezone.localdate()

    def clean_value(self):
        try:
            return parse_amount(self.cleaned_data["value"])
        except CellError as exc:
            raise forms.ValidationError(str(exc)) from None


class SupportFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none(), required=False)
    kind = forms.ChoiceField(label=_("Kind of support"), choices=ANY + SupportKind.choices, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE_WIDGET)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = Office.objects.visible_to(user)

    def apply(self, entries):
        if not self.is_valid():
            return entries
        data = self.cleaned_data
        if data["q"]:
            entries = entries.filter(
                Q(dealer__code__icontains=data["q"]) | Q(dealer__name__icontains=data["q"])
            )
        if data["office"]:
            entries = entries.filter(dealer__office=data["office"])
        if data["kind"]:
            entries = entries.filter(kind=data["kind"])
        if data["date_from"]:
            entries = entries.filter(date__gte=data["date_from"])
        if data["date_to"]:
            entries = entries.filter(date__lte=data["date_to"])
        return entries


class WatchFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none(), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=ANY + WatchStatus.choices, required=False)
    proposal = forms.ChoiceField(
        label=_("Elimination proposal"), choices=ANY + ProposalStatus.choices, required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = Office.objects.visible_to(user)

    def apply(self, entries):
        if not self.is_valid():
            return entries
        data = self.cleaned_data
        if data["q"]:
            entries = entries.filter(
                Q(dealer__code__icontains=data["q"]) | Q(dealer__name__icontains=data["q"])
            )
        if data["office"]:
            entries = entries.filter(dealer__office=data["office"])
        if data["status"]:
            entries = entries.filter(status=data["status"])
        if data["proposal"]:
            entries = entries.filter(proposal=data["proposal"])
        return entries


class PlanForm(forms.Form):
    problems = forms.CharField(label=_("Problems"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    actions = forms.CharField(label=_("Actions"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    owner = forms.CharField(label=_("Owner"), max_length=100)
    plan_due = forms.DateField(label=_("Due date"), widget=DATE_WIDGET)


class NoteForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    text = forms.CharField(label=_("Progress"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate()


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (ProposalStatus.ACCEPTED, _("Accept: eliminate")),
            (ProposalStatus.REJECTED, _("Reject: keep")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label=_("Reason"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class AppealForm(forms.Form):
    requested_class = forms.ChoiceField(
        label=_("Class you ask for"), choices=[("", _("(no proposal)")), *CLASS_CHOICES], required=False
    )
    reason = forms.CharField(label=_("Reason"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))


class AppealDecisionForm(forms.Form):
    final_class = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("", _("Reject: keep the class")),
            ("A", _("Override: class A")),
            ("B", _("Override: class B")),
            ("C", _("Override: class C")),
        ],
        required=False,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label=_("Reason"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class AppealFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ANY + AppealStatus.choices, required=False)
    quarter = forms.CharField(label=_("Quarter"), required=False, max_length=6)

    def apply(self, appeals):
        if not self.is_valid():
            return appeals
        if self.cleaned_data["status"]:
            appeals = appeals.filter(status=self.cleaned_data["status"])
        if self.cleaned_data["quarter"]:
            appeals = appeals.filter(quarter=self.cleaned_data["quarter"].upper())
        return appeals
