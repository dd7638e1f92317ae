"""The dealer list's search, filters and sorting, shared by the page and its export."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import DealerKind, DealerStatus, Office

SORTS = {
    "code": "code",
    "-code": "-code",
    "name": "name",
    "-name": "-name",
    "office": "office__code",
    "-office": "-office__code",
    "joined": "joined",
    "-joined": "-joined",
    "tier": "tier",
    "-tier": "-tier",
}


class DealerFilterForm(forms.Form):
    q = forms.CharField(label=_("Code or name"), required=False)
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.none(), required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("All kinds"))] + DealerKind.choices, required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All statuses"))] + DealerStatus.choices, required=False
    )
    tier = forms.CharField(label=_("Tier"), required=False)
    sort = forms.ChoiceField(choices=[(k, k) for k in SORTS], required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = Office.objects.visible_to(user)
        self.fields["office"].empty_label = _("All offices")

    def apply(self, queryset):
        if not self.is_valid():
            return queryset.order_by("code")
        data = self.cleaned_data
        if data["q"]:
            queryset = queryset.filter(Q(code__icontains=data["q"]) | Q(name__icontains=data["q"]))
        if data["office"]:
            queryset = queryset.filter(office=data["office"])
        if data["kind"]:
            queryset = queryset.filter(kind=data["kind"])
        if data["status"]:
            queryset = queryset.filter(status=data["status"])
        if data["tier"]:
            queryset = queryset.filter(tier=data["tier"])
        sort = SORTS.get(data["sort"] or "code", "code")
        return queryset.order_by(sort, "code")
