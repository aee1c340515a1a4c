"""Money from user input and on the timeline: Decimal with two places, never float."""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from ..messages import stored
from ..models import MONETARY_KINDS, CompensationKind
from .errors import ServiceError

MAX_AMOUNT = Decimal("999999999999.99")  # 14 digits, 2 decimals


def parse_amount(value, *, kind: str | None = None) -> Decimal:
    """A money amount from user input: Decimal, at most two decimals, not negative; a money
    kind must be more than zero. Floats are refused (they cannot hold cents exactly)."""
    if isinstance(value, float):
        raise ServiceError(_("Give the amount as a decimal number, e.g. 199.50."))
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ServiceError(_("“%(value)s” is not an amount.") % {"value": value}) from None
    if not amount.is_finite():
        raise ServiceError(_("“%(value)s” is not an amount.") % {"value": value})
    if amount != amount.quantize(Decimal("0.01")):
        raise ServiceError(_("An amount has at most two decimal places."))
    if amount < 0:
        raise ServiceError(_("An amount cannot be negative."))
    if amount > MAX_AMOUNT:
        raise ServiceError(_("The amount is too large."))
    if kind in MONETARY_KINDS and amount == 0:
        raise ServiceError(_("A payment in money must be more than zero."))
    return amount.quantize(Decimal("0.01"))


def fmt(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def label_msgid(label) -> str:
    """The untranslated msgid behind a lazy choice label (to store it, not its translation)."""
    args = getattr(label, "_args", None)
    return str(args[0]) if args else str(label)


def kind_message(kind: str) -> dict:
    return stored(label_msgid(CompensationKind(kind).label))
