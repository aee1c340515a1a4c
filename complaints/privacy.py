"""Personal data and how it is masked: one definition, evaluated in Python and compiled to SQL.

Readers without the personal-data right (staff without `complaints.view_pii`, API clients
without `pii:read`) see a customer's name, phone and email masked: 张*, +86138****5678,
z***@qq.com. Each rule below is written once as a small expression tree; `mask()` evaluates it
in Python (admin pages, API responses, the export's Python path) and `MaskSQL` compiles the
same tree to PostgreSQL (the export's COPY path), so the two cannot drift apart.

Those readers can neither search nor sort by these fields: a search that answers "is there a
customer called X / with phone Y" would reveal what the mask hides (admin lists drop these
searches and orderings for them; see `can_read`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Func, TextField

# What str.strip() removes (str.isspace()), so that SQL trims exactly like Python
# (tests/complaints/test_privacy.py checks the list against str.isspace).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)

# The personal fields of a customer, by kind (the kind names the rule).
PERSONAL_FIELDS = {"name": "name", "phone": "phone", "email": "email"}
PII_PERMISSION = "complaints.view_pii"


def can_read(user) -> bool:
    """May this staff user read customers' personal data unmasked?"""
    return bool(user is not None and user.has_perm(PII_PERMISSION))


# -- the expression language (text and integer expressions) ---------------------------------


class Expr:
    def py(self, value: str):
        raise NotImplementedError

    def sql(self, x: str) -> str:
        raise NotImplementedError


def _lift(value) -> Expr:
    if isinstance(value, Expr):
        return value
    return Lit(value)


@dataclass(frozen=True)
class Input(Expr):
    def py(self, value):
        return value

    def sql(self, x):
        return x


@dataclass(frozen=True)
class Lit(Expr):
    value: str | int

    def py(self, value):
        return self.value

    def sql(self, x):
        if isinstance(self.value, int):
            return str(int(self.value))
        return "'" + self.value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Strip(Expr):
    text: Expr

    def py(self, value):
        return self.text.py(value).strip()

    def sql(self, x):
        chars = " || ".join(f"chr({ord(c)})" for c in WHITESPACE)
        return f"btrim({self.text.sql(x)}, ({chars}))"


@dataclass(frozen=True)
class Length(Expr):
    text: Expr

    def py(self, value):
        return len(self.text.py(value))

    def sql(self, x):
        return f"char_length({self.text.sql(x)})"


@dataclass(frozen=True)
class Left(Expr):
    """The first n characters; a negative n: all but the last -n (PostgreSQL's left())."""

    text: Expr
    n: int

    def py(self, value):
        text = self.text.py(value)
        return text[: self.n] if self.n >= 0 else text[: max(len(text) + self.n, 0)]

    def sql(self, x):
        return f"left({self.text.sql(x)}, {int(self.n)})"


@dataclass(frozen=True)
class Right(Expr):
    text: Expr
    n: int

    def py(self, value):
        text = self.text.py(value)
        return text[-self.n :] if self.n > 0 else ""

    def sql(self, x):
        return f"right({self.text.sql(x)}, {int(self.n)})"


@dataclass(frozen=True)
class Repeat(Expr):
    text: str
    times: Expr

    def py(self, value):
        return self.text * max(self.times.py(value), 0)

    def sql(self, x):
        return f"repeat({Lit(self.text).sql(x)}, {self.times.sql(x)})"


@dataclass(frozen=True)
class Concat(Expr):
    parts: tuple

    def py(self, value):
        return "".join(_lift(p).py(value) for p in self.parts)

    def sql(self, x):
        return "(" + " || ".join(_lift(p).sql(x) for p in self.parts) + ")"


@dataclass(frozen=True)
class Clamp(Expr):
    """An integer expression held between low and high."""

    n: Expr
    low: int
    high: int

    def py(self, value):
        return min(max(self.n.py(value), self.low), self.high)

    def sql(self, x):
        return f"least(greatest({self.n.sql(x)}, {self.low}), {self.high})"


@dataclass(frozen=True)
class Minus(Expr):
    n: Expr
    k: int

    def py(self, value):
        return self.n.py(value) - self.k

    def sql(self, x):
        return f"({self.n.sql(x)} - {int(self.k)})"


@dataclass(frozen=True)
class Before(Expr):
    """The text before the first `sep` (all of it without one)."""

    text: Expr
    sep: str

    def py(self, value):
        return self.text.py(value).split(self.sep, 1)[0]

    def sql(self, x):
        return f"split_part({self.text.sql(x)}, {Lit(self.sep).sql(x)}, 1)"


@dataclass(frozen=True)
class After(Expr):
    """The text after the first `sep` ("" without one)."""

    text: Expr
    sep: str

    def py(self, value):
        parts = self.text.py(value).split(self.sep, 1)
        return parts[1] if len(parts) == 2 else ""

    def sql(self, x):
        text, sep = self.text.sql(x), Lit(self.sep).sql(x)
        return (
            f"CASE WHEN strpos({text}, {sep}) = 0 THEN '' "
            f"ELSE substr({text}, strpos({text}, {sep}) + {len(self.sep)}) END"
        )


# Conditions


@dataclass(frozen=True)
class LengthAtMost(Expr):
    text: Expr
    n: int

    def py(self, value):
        return len(self.text.py(value)) <= self.n

    def sql(self, x):
        return f"char_length({self.text.sql(x)}) <= {int(self.n)}"


@dataclass(frozen=True)
class Contains(Expr):
    text: Expr
    part: str

    def py(self, value):
        return self.part in self.text.py(value)

    def sql(self, x):
        return f"strpos({self.text.sql(x)}, {Lit(self.part).sql(x)}) > 0"


@dataclass(frozen=True)
class Case(Expr):
    """(condition, result) pairs tried in order, then `default`."""

    whens: tuple
    default: Expr | str

    def py(self, value):
        for condition, result in self.whens:
            if condition.py(value):
                return _lift(result).py(value)
        return _lift(self.default).py(value)

    def sql(self, x):
        whens = " ".join(
            f"WHEN {condition.sql(x)} THEN {_lift(result).sql(x)}"
            for condition, result in self.whens
        )
        return f"CASE {whens} ELSE {_lift(self.default).sql(x)} END"


# -- the rules ---------------------------------------------------------------------------------

X = Input()
_name = Strip(X)
RULES: dict[str, Expr] = {
    # 张伟 -> 张*, 欧阳娜娜 -> 欧***, Li Na -> L***: first character, then 1 to 3 stars.
    "name": Case(
        whens=((LengthAtMost(_name, 0), ""),),
        default=Concat((Left(_name, 1), Repeat("*", Clamp(Minus(Length(_name), 1), 1, 3)))),
    ),
    # +8613812345678 -> +86138****5678: the four digits before the last four hidden.
    "phone": Case(
        whens=(
            (LengthAtMost(X, 4), Repeat("*", Length(X))),
            (LengthAtMost(X, 8), Concat((Repeat("*", Minus(Length(X), 4)), Right(X, 4)))),
        ),
        default=Concat((Left(X, -8), "****", Right(X, 4))),
    ),
    # zhang.wei@qq.com -> z***@qq.com; not an address -> nothing.
    "email": Case(
        whens=((Contains(X, "@"), Concat((Left(Before(X, "@"), 1), "***@", After(X, "@")))),),
        default="",
    ),
}


def mask(kind: str, value: str | None) -> str:
    return RULES[kind].py(value or "")


def mask_name(name: str) -> str:
    return mask("name", name)


def mask_phone(phone: str) -> str:
    return mask("phone", phone)


def mask_email(email: str) -> str:
    return mask("email", email)


def customer_label(customer, *, pii: bool) -> str:
    """How a customer is named in pickers and links (models.Customer.__str__ when allowed)."""
    if pii:
        return str(customer)
    name = mask("name", customer.name)
    return f"{name} ({mask('phone', customer.phone)})" if customer.phone else name


def shown(kind: str, value: str | None, *, pii: bool) -> str:
    """The value as a reader with (pii=True) or without the right sees it."""
    return (value or "") if pii else mask(kind, value)


class MaskSQL(Func):
    """The rule of `kind` applied in SQL (PostgreSQL) to one column expression."""

    output_field = TextField()

    def __init__(self, kind: str, expression, **extra):
        self.kind = kind
        super().__init__(expression, **extra)

    def as_sql(self, compiler, connection, **extra):
        argument, params = compiler.compile(self.source_expressions[0])
        if params:
            raise ValueError("MaskSQL takes a column, not parameters")
        return RULES[self.kind].sql(f"({argument})"), ()
