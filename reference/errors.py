"""Rejections of the reference node: a rule id and its numeric code, nothing else.

The table of codes is the reference's own copy of the rule book's validity rules; a test checks it
against the rule book, so a renumbering in one place cannot go unnoticed.
"""

from __future__ import annotations

from typing import Final

RULE_CODES: Final[dict[str, int]] = {
    "ENC-01": 101, "ENC-02": 102, "ENC-03": 103, "ENC-04": 104, "ENC-05": 105,
    "ENC-06": 106, "ENC-07": 107, "ENC-08": 108, "ENC-09": 109, "ENC-10": 110,
    "ENC-11": 111, "ENC-12": 112, "ENC-13": 113, "ENC-14": 114, "ENC-15": 115,
    "ENC-16": 116,
    "TX-01": 201, "TX-02": 202, "TX-03": 203, "TX-04": 204, "TX-05": 205, "TX-06": 206,
    "TX-09": 209,
    "ACC-01": 301, "ACC-02": 302, "ACC-03": 303,
    "ROL-01": 1801, "ROL-02": 1802, "ROL-03": 1803, "ROL-04": 1804,
    "GRD-01": 311, "GRD-02": 312, "GRD-03": 313, "GRD-04": 314, "GRD-05": 315,
    "MTR-01": 321, "MTR-02": 322, "MTR-03": 323, "MTR-04": 324, "MTR-05": 325,
    "MTR-06": 326, "MTR-07": 327, "MTR-08": 328, "MTR-09": 329, "MTR-10": 330,
    "MTR-11": 331,
    "ATT-01": 401, "ATT-02": 402, "ATT-03": 403, "ATT-04": 404, "ATT-05": 405,
    "ATT-06": 406, "ATT-07": 407, "ATT-10": 408, "ATT-11": 409,
    "ORD-01": 501, "ORD-02": 502, "ORD-03": 503, "ORD-05": 504, "ORD-06": 505, "ORD-07": 506,
    "ASK-01": 511, "ASK-02": 512, "ASK-03": 513, "ASK-04": 514,
    "BID-01": 521, "BID-02": 522, "BID-04": 523, "BID-05": 524,
    "CAN-01": 531, "CAN-02": 532, "CAN-03": 533,
    "MNY-01": 601, "MNY-02": 602, "MNY-03": 603, "MNY-04": 604,
    "BLK-01": 701, "BLK-02": 702, "BLK-03": 703, "BLK-04": 704, "BLK-05": 705,
    "BLK-06": 706, "BLK-07": 707, "BLK-08": 708, "BLK-09": 709, "BLK-10": 710,
    "BLK-11": 711, "BLK-13": 713, "BLK-15": 715,
    "PRE-01": 1501, "PRE-02": 1502, "PRE-03": 1503, "PRE-04": 1504, "PRE-05": 1505,
    "PRE-06": 1506, "PRE-07": 1507, "PRE-08": 1508, "PRE-09": 1509, "PRE-10": 1510,
    "PRE-11": 1511,
    "PRE-12": 1512,
    "VAL-01": 1601, "VAL-02": 1602, "VAL-03": 1603, "VAL-04": 1604, "VAL-05": 1605,
    "VAL-06": 1606, "VAL-07": 1607,
    "TIM-01": 2101, "TIM-02": 2102,
    "KEY-01": 2201, "KEY-02": 2202, "KEY-03": 2203, "KEY-04": 2204, "KEY-07": 2207,
    "COR-01": 2401, "COR-02": 2402, "COR-03": 2403, "COR-04": 2404, "COR-05": 2405,
}  # fmt: skip


class Rejected(Exception):
    """An input broke the validity rule ``rule_id``; nothing was changed."""

    __slots__ = ("code", "detail", "rule_id")

    def __init__(self, rule_id: str, detail: str = "") -> None:
        super().__init__(f"{rule_id}: {detail}" if detail else rule_id)
        self.rule_id = rule_id
        self.code = RULE_CODES[rule_id]
        self.detail = detail
