"""The census feature schema: the one declaration the loader, model, server and monitor read.

Category lists are the UCI documentation's (adult.names), in its order; the order fixes the
integer codes the model sees, so appending is safe and reordering is a breaking change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class Feature:
    name: str
    kind: Kind
    categories: tuple[str, ...] = ()
    # numeric: the inclusive range a real person's value lies in; outside it, a row is
    # quarantined (a typo or a unit mistake, not a person), wherever it is parsed
    plausible: tuple[float, float] | None = None

    @property
    def plausible_text(self) -> str:
        """The plausible range as messages quote it: "0 to 120"."""
        if self.plausible is None:
            return "any number"
        return " to ".join(
            f"{int(b):,}" if float(b).is_integer() else str(b) for b in self.plausible
        )

    @property
    def is_categorical(self) -> bool:
        return self.kind == "categorical"

    def code_of(self, value: str) -> int | None:
        """Integer code the model uses for a category, None when unknown."""
        return _CODES[self.name].get(value)


def _num(name: str, low: float, high: float) -> Feature:
    return Feature(name, "numeric", plausible=(low, high))


def _cat(name: str, categories: str) -> Feature:
    return Feature(name, "categorical", tuple(c.strip() for c in categories.split(",")))


FEATURES: tuple[Feature, ...] = (
    _num("age", 0, 120),
    _cat(
        "workclass",
        "Private, Self-emp-not-inc, Self-emp-inc, Federal-gov, Local-gov, State-gov, "
        "Without-pay, Never-worked",
    ),
    _num("fnlwgt", 0, 1e8),  # a census sampling weight: the data's largest is 1,484,705
    _cat(
        "education",
        "Bachelors, Some-college, 11th, HS-grad, Prof-school, Assoc-acdm, Assoc-voc, 9th, "
        "7th-8th, 12th, Masters, 1st-4th, 10th, Doctorate, 5th-6th, Preschool",
    ),
    _num("education_num", 1, 16),  # the 16 education levels, coded 1 to 16
    _cat(
        "marital_status",
        "Married-civ-spouse, Divorced, Never-married, Separated, Widowed, "
        "Married-spouse-absent, Married-AF-spouse",
    ),
    _cat(
        "occupation",
        "Tech-support, Craft-repair, Other-service, Sales, Exec-managerial, Prof-specialty, "
        "Handlers-cleaners, Machine-op-inspct, Adm-clerical, Farming-fishing, "
        "Transport-moving, Priv-house-serv, Protective-serv, Armed-Forces",
    ),
    _cat(
        "relationship",
        "Wife, Own-child, Husband, Not-in-family, Other-relative, Unmarried",
    ),
    _cat("race", "White, Asian-Pac-Islander, Amer-Indian-Eskimo, Other, Black"),
    _cat("sex", "Female, Male"),
    _num("capital_gain", 0, 1e7),  # dollars a year: the data caps at 99,999
    _num("capital_loss", 0, 1e7),
    _num("hours_per_week", 0, 168),  # the hours in a week
    _cat(
        "native_country",
        "United-States, Cambodia, England, Puerto-Rico, Canada, Germany, "
        "Outlying-US(Guam-USVI-etc), India, Japan, Greece, South, China, Cuba, Iran, "
        "Honduras, Philippines, Italy, Poland, Jamaica, Vietnam, Mexico, Portugal, Ireland, "
        "France, Dominican-Republic, Laos, Ecuador, Taiwan, Haiti, Columbia, Hungary, "
        "Guatemala, Nicaragua, Scotland, Thailand, Yugoslavia, El-Salvador, Trinadad&Tobago, "
        "Peru, Hong, Holand-Netherlands",
    ),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)

LABEL = "income_bracket"
NEGATIVE_CLASS = "<=50K"
POSITIVE_CLASS = ">50K"
CLASSES: tuple[str, str] = (NEGATIVE_CLASS, POSITIVE_CLASS)

# Columns of the raw UCI files, in file order.
RAW_COLUMNS: tuple[str, ...] = (*FEATURE_NAMES, LABEL)

# Slices evaluated for fairness gaps.
SLICE_FEATURES: tuple[str, ...] = ("sex", "race")

_CODES: dict[str, dict[str, int]] = {
    f.name: {c: i for i, c in enumerate(f.categories)} for f in FEATURES if f.is_categorical
}


def as_dict() -> dict:
    """JSON form, embedded in model artifacts so a loaded model can check compatibility."""
    return {
        "features": [
            {"name": f.name, "kind": f.kind, "categories": list(f.categories)} for f in FEATURES
        ],
        "label": LABEL,
        "classes": list(CLASSES),
    }
