"""A village's days as an SVG picture, written by hand (no plotting dependency).

Per slot: PV export offered to neighbours, import (demand), energy traded locally (bars, kWh), and
the clearing price of each zone (lines, yen/kWh, right axis). Times are JST.
"""

from __future__ import annotations

from html import escape

from reference.simulate import Simulation

WIDTH, HEIGHT = 1000, 520
LEFT, RIGHT, TOP, BOTTOM = 70, 70, 60, 70
ZONE_COLOURS = {1: "#c0392b", 10: "#8e44ad"}


def _nice_ceiling(value: float) -> float:
    step = 1.0
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 2.5, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def render(simulation: Simulation) -> str:
    """The SVG document."""
    slots = simulation.slots
    n = len(slots)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top_kwh = _nice_ceiling(max(max(s.sellable_wh, s.import_wh) for s in slots) / 1000 or 1)
    prices = [p for s in slots for p in s.prices.values() if p is not None]
    top_yen = _nice_ceiling(max(prices) / 100 if prices else 30)
    slot_w = plot_w / n

    def x(i: float) -> float:
        return LEFT + i * slot_w

    def y_kwh(kwh: float) -> float:
        return TOP + plot_h - kwh / top_kwh * plot_h

    def y_yen(yen: float) -> float:
        return TOP + plot_h - yen / top_yen * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="16">'
        f"{escape(f'A village of {simulation.households} households, {simulation.days} day(s) ')}"
        f"{escape('(' + ', '.join(simulation.weather) + '), seed ' + str(simulation.seed))}</text>",
    ]
    for k in range(6):  # grid and left axis
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
    for i, s in enumerate(slots):
        bar = slot_w * 0.8
        x0 = x(i) + slot_w * 0.1
        for value, colour, offset, width in (
            (s.import_wh, "#aed6f1", 0.0, bar),
            (s.sellable_wh, "#f9e79f", 0.0, bar / 2),
            (s.traded_wh, "#27ae60", bar / 2, bar / 2),
        ):
            if value:
                top = y_kwh(value / 1000)
                out.append(
                    f'<rect x="{x0 + offset:.1f}" y="{top:.1f}" width="{width:.1f}" '
                    f'height="{TOP + plot_h - top:.1f}" fill="{colour}"/>'
                )
        period = i % 48
        if period % 12 == 0:
            out.append(
                f'<line x1="{x(i):.1f}" y1="{TOP + plot_h}" x2="{x(i):.1f}" '
                f'y2="{TOP + plot_h + 5}" stroke="black"/>'
            )
            label = f"{period // 2:02d}:00" + (f" d{i // 48 + 1}" if period == 0 else "")
            out.append(
                f'<text x="{x(i):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{label}</text>'
            )
    for zone, colour in ZONE_COLOURS.items():
        points = []
        for i, s in enumerate(slots):
            price = s.prices.get(zone)
            if price is not None:
                points.append(f"{x(i + 0.5):.1f},{y_yen(price / 100):.1f}")
        for point in points:
            cx, cy = point.split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
        if len(points) > 1:
            out.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                'stroke-width="1.2" stroke-opacity="0.6"/>'
            )
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="black"/>'
    )
    legend = [
        ("#aed6f1", "import (demand)"),
        ("#f9e79f", "PV export offered"),
        ("#27ae60", "traded with neighbours"),
        (ZONE_COLOURS[1], "price, zone 1"),
        (ZONE_COLOURS[10], "price, zone 10"),
    ]
    lx = LEFT
    for colour, label in legend:
        out.append(f'<rect x="{lx}" y="{HEIGHT - 28}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{HEIGHT - 18}">{escape(label)}</text>')
        lx += 30 + 7 * len(label)
    out.append(f'<text x="{WIDTH - RIGHT}" y="{TOP + plot_h + 34}" text-anchor="end">JST</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
