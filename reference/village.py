"""Households of a rural village: PV output and consumption per 30-minute period, in whole Wh.

Integer arithmetic only and a seeded generator, so a village day is the same on every machine.
The shapes follow what Japanese household load and rooftop PV curves look like:

* **PV**: zero at night, a bell between sunrise and sunset (period 12 to 38 in autumn, JST),
  peaking at noon at about half the panel's kW rating per 30 minutes, scaled by the day's weather
  (clear, hazy, cloudy, rain) and a little noise per household.
* **Consumption**: a night base load (fridge, standby), a morning peak (breakfast, 6:30 to 8:30),
  a modest midday, and the evening peak (cooking, bath, heating, 17:30 to 22:30).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

PERIODS_PER_DAY: Final = 48
SUNRISE_PERIOD: Final = 12
"""First period (1-based JST period 13, 6:00) with light on the panels."""
SUNSET_PERIOD: Final = 38
"""First period without (19:00)."""
WEATHER: Final = (("clear", 100), ("hazy", 75), ("cloudy", 40), ("rain", 15))


@dataclass(frozen=True)
class Household:
    """One home: its panel (0 for none) and its appetite."""

    name: str
    pv_kw_tenths: int
    """Panel rating in tenths of a kW (45 = 4.5 kW); 0 without panels."""
    base_wh: int
    """Night base load per 30 minutes."""
    morning_wh: int
    evening_wh: int
    feed_in_tariff: bool
    """Still under a feed-in tariff: its export carries no sellable value (ASK-03)."""


def households(count: int, rng: random.Random) -> list[Household]:
    """A village: about half the homes with panels, a few of those still under a FIT contract."""
    homes = []
    for i in range(count):
        has_pv = rng.randrange(100) < 55
        homes.append(
            Household(
                name=f"home-{i:03d}",
                pv_kw_tenths=rng.randint(30, 70) if has_pv else 0,
                base_wh=rng.randint(90, 180),
                morning_wh=rng.randint(250, 550),
                evening_wh=rng.randint(450, 950),
                feed_in_tariff=has_pv and rng.randrange(100) < 15,
            )
        )
    return homes


def day_weather(rng: random.Random) -> tuple[str, int]:
    """Today's weather and the share of clear-sky PV output it lets through (percent)."""
    draw = rng.randrange(100)  # clear 45 %, hazy 25 %, cloudy 20 %, rain 10 %
    for (name, percent), threshold in zip(WEATHER, (45, 70, 90, 100), strict=True):
        if draw < threshold:
            return name, percent
    raise AssertionError("unreachable")


def pv_wh(home: Household, period: int, weather_percent: int, rng: random.Random) -> int:
    """PV output in one 30-minute period (0-based period of the JST day)."""
    if home.pv_kw_tenths == 0 or not SUNRISE_PERIOD <= period < SUNSET_PERIOD:
        return 0
    width = 2 * (SUNSET_PERIOD - SUNRISE_PERIOD)
    t = 2 * (period - SUNRISE_PERIOD) + 1
    parabola = 1000 * 4 * t * (width - t) // (width * width)  # 0..1000, 1000 at noon
    bell = (parabola + parabola * parabola // 1000) // 2  # narrower than a parabola
    # kW x 0.5 h, times 45 %: November sun angle and system losses (3 to 3.5 kWh per kW on a
    # clear day)
    peak_wh = home.pv_kw_tenths * 1000 // 10 // 2 * 45 // 100
    noise = rng.randint(90, 110)
    return peak_wh * bell // 1000 * weather_percent // 100 * noise // 100


def consumption_wh(home: Household, period: int, rng: random.Random) -> int:
    """Consumption in one 30-minute period."""
    wh = home.base_wh
    if 13 <= period < 17:  # 6:30 - 8:30
        wh += home.morning_wh
    elif 17 <= period < 35:  # daytime
        wh += home.base_wh // 2
    elif 35 <= period < 45:  # 17:30 - 22:30
        wh += home.evening_wh
    return wh * rng.randint(85, 115) // 100
