"""Integer units with explicit bounds.

No amount in the ledger is a float. Energy is whole Wh, prices are sen per kWh (the JEPX
tick: 25 yen per kWh is 2 500), and money is milli-sen, so that ``Wh x sen/kWh = milli-sen``
exactly. Every unit has an upper bound chosen so that the products the rules form stay below
``MONEY_MAX_MSEN``; a value outside its bound cannot be constructed, and the rules reject inputs
that would produce one (ENC-15, MNY-04) before they try.
"""

from __future__ import annotations

from typing import ClassVar, Final, Self

WH_MAX: Final = 10**12
"""1 TWh: far above a village's yearly output, small enough that Wh x price fits MONEY_MAX_MSEN."""
PRICE_MAX_SEN_PER_KWH: Final = 1_000_000
"""10 000 yen per kWh, fifty times the JEPX price cap."""
MONEY_MAX_MSEN: Final = 2**63 - 1
"""Largest balance, escrow or total in milli-sen (a signed 64-bit integer in other languages)."""
TIME_MAX_S: Final = 2**40 - 1
"""Largest Unix timestamp in seconds (year 36812)."""
COUNTER_MAX: Final = 2**63 - 1
"""Largest nonce, height or order id."""
ID_MAX: Final = 2**32 - 1
"""Largest grid node id or meter id."""

SLOT_SECONDS: Final = 1800
"""A trading slot is 30 minutes; Japan has no daylight saving, so a JST day has 48 slots."""
JST_OFFSET_S: Final = 9 * 3600


class Bounded(int):
    """An integer that cannot be constructed outside ``[MIN, MAX]``."""

    MIN: ClassVar[int] = 0
    MAX: ClassVar[int] = 0

    def __new__(cls, value: int) -> Self:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{cls.__name__} needs an int, not {type(value).__name__}")
        if not cls.MIN <= value <= cls.MAX:
            raise OverflowError(f"{cls.__name__} {value} outside [{cls.MIN}, {cls.MAX}]")
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"


class Wh(Bounded):
    """Energy in watt-hours."""

    MAX = WH_MAX


class PriceSenPerKwh(Bounded):
    """A price or a fee in sen per kWh."""

    MAX = PRICE_MAX_SEN_PER_KWH


class MilliSen(Bounded):
    """Money in milli-sen (1 yen = 100 sen = 100 000 milli-sen)."""

    MAX = MONEY_MAX_MSEN


class Timestamp(Bounded):
    """Unix time in whole seconds."""

    MAX = TIME_MAX_S


class Slot(Bounded):
    """A 30-minute trading period: ``slot = timestamp // 1800``."""

    MAX = TIME_MAX_S // SLOT_SECONDS


class Height(Bounded):
    """Block height; the genesis state has height 0."""

    MAX = COUNTER_MAX


class Nonce(Bounded):
    """Count of an account's accepted transactions."""

    MAX = COUNTER_MAX


class OrderId(Bounded):
    """Order ids are assigned in sequence by the ledger, starting at 1."""

    MIN = 1
    MAX = COUNTER_MAX


class NodeId(Bounded):
    """Grid node id, chosen by the operator."""

    MAX = ID_MAX


class MeterId(Bounded):
    """Meter id, chosen by the operator."""

    MAX = ID_MAX


def slot_of(t: int) -> Slot:
    """The slot a timestamp falls in."""
    return Slot(t // SLOT_SECONDS)


def slot_start(slot: int) -> int:
    """First second of a slot."""
    return slot * SLOT_SECONDS


def slot_end(slot: int) -> int:
    """First second after a slot: readings of the slot can be attested from here on."""
    return (slot + 1) * SLOT_SECONDS


def jst_period(slot: int) -> tuple[int, int, int, int]:
    """The JST calendar date and period 1..48 of a slot, as (year, month, day, period)."""
    days, seconds = divmod(slot_start(slot) + JST_OFFSET_S, 86_400)
    year, month, day = _civil_from_days(days)
    return year, month, day, seconds // SLOT_SECONDS + 1


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian date of a day count since 1970-01-01 (integer arithmetic only)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day
