"""The dealer list's search, filters and sorting, shared by the page and its export."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Dealer, DealerKind, DealerStatus, Office

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
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    sort = forms.ChoiceField(choices=[(k, k) for k in SORTS], required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = Office.objects.visible_to(user)
        self.fields["office"].empty_label = _("All offices")
        tiers = (
            Dealer.objects.visible_to(user)
            .exclude(tier="")
            .order_by("tier")
            .values_list("tier", flat=True)
            .distinct()
        )
        self.fields["tier"].choices = [("", _("All tiers"))] + [(tier, tier) for tier in tiers]

    def apply(self, queryset):
        """Narrow by the fields that are valid; a bad value in one field does not drop the others."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if data.get("q"):
            queryset = queryset.filter(Q(code__icontains=data["q"]) | Q(name__icontains=data["q"]))
        for field in ("office", "kind", "status", "tier"):
            if data.get(field):
                queryset = queryset.filter(**{field: data[field]})
        sort = SORTS.get(data.get("sort") or "code", "code")
        return queryset.order_by(sort, "code")
