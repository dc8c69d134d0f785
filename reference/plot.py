"""A village's days as an SVG picture, written by hand (no plotting dependency).

Per slot, three bars side by side, none hiding another: the village's import (its demand on the
grid), its PV export (stacked: the part neighbours may buy, then the part under a feed-in tariff
or another scheme, which cannot be sold) and the energy traded between neighbours; in kWh on the
left axis. The clearing price of each zone (a hamlet, named, with its substation's node id) is a
line in yen/kWh on the right axis. Times are JST; each day is labelled with its date.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from html import escape

from reference.ledger import SLOT_SECONDS
from reference.simulate import ZONE_NAMES, Simulation

WIDTH, HEIGHT = 1000, 540
LEFT, RIGHT, TOP, BOTTOM = 70, 70, 60, 90
PALETTE = ("#c0392b", "#8e44ad", "#d35400", "#2c3e50")
IMPORT, SELLABLE, UNSELLABLE, TRADED = "#5dade2", "#f4d03f", "#fcf3cf", "#27ae60"
JST = timezone(timedelta(hours=9))


def _nice_ceiling(value: float) -> float:
    step = 1.0
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 2.5, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def slot_time(slot: int) -> datetime:
    """The start of a slot in JST."""
    return datetime.fromtimestamp(slot * SLOT_SECONDS, UTC).astimezone(JST)


def zone_label(zone: int) -> str:
    name = ZONE_NAMES.get(zone)
    return f"{name} (zone {zone})" if name else f"zone {zone} (substation {zone})"


def render(simulation: Simulation) -> str:
    """The SVG document."""
    slots = simulation.slots
    n = len(slots)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top_kwh = _nice_ceiling(max(max(s.export_wh, s.import_wh) for s in slots) / 1000 or 1)
    prices = [p for s in slots for p in s.prices.values() if p is not None]
    top_yen = _nice_ceiling(max(prices) / 100 if prices else 30)
    zones = sorted({zone for s in slots for zone in s.prices})
    colours = {zone: PALETTE[k % len(PALETTE)] for k, zone in enumerate(zones)}
    slot_w = plot_w / n

    def x(i: float) -> float:
        return LEFT + i * slot_w

    def y_kwh(kwh: float) -> float:
        return TOP + plot_h - kwh / top_kwh * plot_h

    def y_yen(yen: float) -> float:
        return TOP + plot_h - yen / top_yen * plot_h

    days = f"{simulation.days} {'day' if simulation.days == 1 else 'days'}"
    first, last = slot_time(slots[0].slot), slot_time(slots[-1].slot)
    dates = first.strftime("%Y-%m-%d") + (
        f" to {last.strftime('%Y-%m-%d')}" if last.date() != first.date() else ""
    )
    title = (
        f"A village of {simulation.households} households, {days} ({dates}, "
        f"{', '.join(simulation.weather)}), seed {simulation.seed}"
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="16">{escape(title)}</text>',
    ]
    for k in range(6):  # grid and axes
        kwh = top_kwh * k / 5
        yy = y_kwh(kwh)
        out.append(
            f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{WIDTH - RIGHT}" y2="{yy:.1f}" stroke="#e5e5e5"/>'
        )
        out.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{kwh:g}</text>')
        yen = top_yen * k / 5
        out.append(f'<text x="{WIDTH - RIGHT + 6}" y="{yy + 4:.1f}">{yen:g}</text>')
    out.append(
        f'<text x="18" y="{TOP + plot_h / 2}" transform="rotate(-90 18 {TOP + plot_h / 2})" '
        'text-anchor="middle">kWh per 30 minutes</text>'
    )
    out.append(
        f'<text x="{WIDTH - 18}" y="{TOP + plot_h / 2}" '
        f'transform="rotate(90 {WIDTH - 18} {TOP + plot_h / 2})" text-anchor="middle">'
        "clearing price, yen/kWh</text>"
    )
    bar = slot_w * 0.9 / 3
    for i, s in enumerate(slots):
        x0 = x(i) + slot_w * 0.05
        # (left edge, bottom kWh, height kWh, colour, what): import, export stacked, traded.
        parts = (
            (x0, 0, s.import_wh, IMPORT, "import"),
            (x0 + bar, 0, s.sellable_wh, SELLABLE, "export offered to neighbours"),
            (
                x0 + bar,
                s.sellable_wh,
                s.export_wh - s.sellable_wh,
                UNSELLABLE,
                "export not sellable",
            ),
            (x0 + 2 * bar, 0, s.traded_wh, TRADED, "traded with neighbours"),
        )
        when = slot_time(s.slot).strftime("%Y-%m-%d %H:%M")
        for left, bottom, height, colour, what in parts:
            if height > 0:
                top = y_kwh((bottom + height) / 1000)
                low = y_kwh(bottom / 1000)
                out.append(
                    f'<rect x="{left:.1f}" y="{top:.1f}" width="{bar:.1f}" '
                    f'height="{low - top:.1f}" fill="{colour}" stroke="#7f8c8d" '
                    f'stroke-width="0.3"><title>{when} JST {what}: {height / 1000:.1f} kWh'
                    "</title></rect>"
                )
        period = i % 48
        if period % 12 == 0:
            at = slot_time(s.slot)
            out.append(
                f'<line x1="{x(i):.1f}" y1="{TOP + plot_h}" x2="{x(i):.1f}" '
                f'y2="{TOP + plot_h + 5}" stroke="black"/>'
            )
            out.append(
                f'<text x="{x(i):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">'
                f"{at.strftime('%H:%M')}</text>"
            )
            if period == 0:
                out.append(
                    f'<text x="{x(i):.1f}" y="{TOP + plot_h + 32}" text-anchor="start" '
                    f'font-weight="bold">{at.strftime("%a %d %b %Y")}</text>'
                )
    for zone in zones:
        points = []
        for i, s in enumerate(slots):
            price = s.prices.get(zone)
            if price is not None:
                points.append(f"{x(i + 0.5):.1f},{y_yen(price / 100):.1f}")
        for point in points:
            cx, cy = point.split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colours[zone]}"/>')
        if len(points) > 1:
            out.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colours[zone]}" '
                'stroke-width="1.2" stroke-opacity="0.6"/>'
            )
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="black"/>'
    )
    legend = [
        (IMPORT, "import (demand on the grid)"),
        (SELLABLE, "PV export offered"),
        (UNSELLABLE, "PV export under feed-in tariff or another scheme"),
        (TRADED, "traded with neighbours"),
    ] + [(colours[zone], f"price, {zone_label(zone)}") for zone in zones]
    lx, ly = float(LEFT), float(HEIGHT - 36)
    for colour, label in legend:
        width = 30 + 6.5 * len(label)
        if lx + width > WIDTH - 10:
            lx, ly = float(LEFT), ly + 18
        out.append(
            f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{colour}" stroke="#7f8c8d" '
            'stroke-width="0.3"/>'
        )
        out.append(f'<text x="{lx + 16}" y="{ly + 10}">{escape(label)}</text>')
        lx += width
    out.append(f'<text x="{WIDTH - RIGHT}" y="{TOP + plot_h + 18}" text-anchor="end">JST</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
