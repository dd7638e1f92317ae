"""The what-if's draft: weights per dealer kind and a classification policy, bounded and checked."""

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from dealers.models import Dealer, DealerKind, Office
from evalsys.periods import Quarter

from ..models import Indicator, PolicyMethod
from . import rules
from .whatif import Baseline, Draft

BOUNDS = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]
FUTURE_QUARTERS = 4


def _number(label, **kwargs):
    return forms.DecimalField(
        label=label,
        max_digits=5,
        decimal_places=2,
        validators=BOUNDS,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100"}),
        **kwargs,
    )


def weight_field_name(kind: str, indicator: Indicator) -> str:
    return f"w-{kind}-{indicator.code}"


class DraftForm(forms.Form):
    """Weights of each kind's indicators (0 drops one) and the policy, prefilled with what the quarter used."""

    method = forms.ChoiceField(label=gettext_lazy("Classification"), choices=PolicyMethod.choices)
    band_a = _number(gettext_lazy("A from total"))
    band_b = _number(gettext_lazy("B from total"))
    quota_a = _number(gettext_lazy("A share (%)"))
    quota_b = _number(gettext_lazy("B share (%)"))

    def __init__(self, *args, base: Baseline, indicators: list[Indicator], **kwargs):
        policy = base.policy
        initial = {
            "method": policy.method,
            "band_a": policy.band_a,
            "band_b": policy.band_b,
            "quota_a": policy.quota_a,
            "quota_b": policy.quota_b,
        }
        self.sections = []
        for kind, label in DealerKind.choices:
            applying = [i for i in indicators if i.applies_to(kind)]
            weights = base.weights.get(kind, {})
            for indicator in applying:
                initial[weight_field_name(kind, indicator)] = weights.get(indicator.pk, Decimal(0))
            self.sections.append({"kind": kind, "label": label, "indicators": applying, "weights": weights})
        if args and args[0] is not None:
            args = (_completed(args[0], initial, self.sections), *args[1:])
        super().__init__(*args, initial=initial, **kwargs)
        for section in self.sections:
            rows = []
            for indicator in section["indicators"]:
                name = weight_field_name(section["kind"], indicator)
                self.fields[name] = _number(indicator.name, required=False)
                self.fields[name].widget.attrs.update(
                    {"data-kind": section["kind"], "class": "form-control form-control-sm num weight"}
                )
                rows.append(
                    {"indicator": indicator, "name": name, "in_force": section["weights"].get(indicator.pk)}
                )
            section["rows"] = rows
        for section in self.sections:
            for row in section["rows"]:
                row["field"] = self[row["name"]]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data["method"] == PolicyMethod.BANDS and not data["band_a"] > data["band_b"]:
            self.add_error("band_b", _("Thresholds must satisfy 100 ≥ A > B ≥ 0."))
        if data["method"] == PolicyMethod.QUOTA and data["quota_a"] + data["quota_b"] > 100:
            self.add_error("quota_b", _("Quota shares must be at least 0 and add up to at most 100."))
        for section in self.sections:
            if section["rows"] and not any(data.get(row["name"]) for row in section["rows"]):
                self.add_error(None, _("Give at least one weight for %(kind)s.") % {"kind": section["label"]})
        return data

    def draft(self) -> Draft:
        data = self.cleaned_data
        weights = {
            section["kind"]: {
                row["indicator"].pk: data.get(row["name"]) or Decimal(0) for row in section["rows"]
            }
            for section in self.sections
        }
        if data["method"] == PolicyMethod.QUOTA:
            policy = rules.Policy(rules.QUOTA, data["quota_a"], data["quota_b"])
        else:
            policy = rules.Policy(rules.BANDS, data["band_a"], data["band_b"])
        return Draft(weights=weights, policy=policy)

    def totals(self) -> dict[str, Decimal]:
        """Each kind's weights added up, as entered (to say when a draft cannot be saved as it is)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else self.initial
        return {
            section["kind"]: sum((data.get(row["name"]) or Decimal(0) for row in section["rows"]), Decimal(0))
            for section in self.sections
        }


def _completed(data, initial, sections):
    """`data` with what the quarter was graded with for a kind (or the policy) it says nothing about.

    A link from the admin tries one kind's weights: the other kind keeps its scheme.
    """
    data = data.copy()
    groups = [[weight_field_name(s["kind"], i) for i in s["indicators"]] for s in sections]
    groups.append(["method", "band_a", "band_b", "quota_a", "quota_b"])
    for names in groups:
        if not any(name in data for name in names):
            for name in names:
                data[name] = initial[name]
    return data


def effective_quarters(today=None) -> list[Quarter]:
    """The quarters a saved draft may take effect from: the current one and the next few."""
    quarters = [Quarter.containing(today or timezone.localdate())]
    while len(quarters) <= FUTURE_QUARTERS:
        quarters.append(quarters[-1].next())
    return quarters


class ChangeFilterForm(forms.Form):
    """Filters of the dealers whose class would change; unknown values are ignored."""

    office = forms.ModelChoiceField(
        label=gettext_lazy("Office"), queryset=Office.objects.all(), to_field_name="code", required=False
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=[("", "---------"), *DealerKind.choices], required=False
    )
    direction = forms.ChoiceField(
        label=pgettext_lazy("class movement", "Change"),
        choices=[
            ("", "---------"),
            ("up", gettext_lazy("Up")),
            ("down", gettext_lazy("Down")),
            ("other", gettext_lazy("Evaluated or not")),
        ],
        required=False,
    )
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=50)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = Office.objects.visible_to(user)

    def apply(self, changes):
        if not self.is_valid():
            return changes
        data = self.cleaned_data
        if data["office"]:
            changes = [c for c in changes if c.office_id == data["office"].pk]
        if data["kind"]:
            changes = [c for c in changes if c.kind == data["kind"]]
        if data["direction"]:
            changes = [c for c in changes if c.direction == data["direction"]]
        if data["q"].strip():
            q = data["q"].strip()
            found = set(
                Dealer.objects.filter(Q(code__icontains=q) | Q(name__icontains=q)).values_list(
                    "pk", flat=True
                )
            )
            changes = [c for c in changes if c.dealer_id in found]
        return changes
