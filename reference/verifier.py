"""Signature checks on other cores: worker processes that decode and verify.

Threads do not serve here: libsodium drops Python's global lock while it verifies, but a verifying
thread must take the lock back between two signatures, and the main thread (decoding, applying,
hashing: Python code) holds it for a whole switch interval at a time. Measured on the reference
machine: 8 900 verifications/s alone, 191/s beside a busy main thread. Worker processes have
their own interpreter; they receive a block's transaction bytes and return one verdict each.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from reference.errors import Rejected
from reference.ledger import verify
from reference.wire import decode_tx


def verdicts(datas: list[bytes]) -> list[bool | None]:
    """Each transaction's signature verdict, or None if it does not decode (the node then rejects
    it with the decoder's rule; the verdict is never used)."""
    out: list[bool | None] = []
    for data in datas:
        try:
            tx = decode_tx(data)
        except Rejected:
            out.append(None)
            continue
        # Against the sender's id: the node verifies again for an account whose key rotated.
        out.append(verify(tx.sender, tx.signing_bytes(), tx.signature))
    return out


class Pending:
    """The verdicts of one ``check``, to come."""

    def __init__(self, parts: list[Any], count: int) -> None:
        self.parts = parts
        self.count = count

    def result(self) -> list[bool | None]:
        out: list[bool | None] = [None] * self.count
        step = len(self.parts)
        for offset, part in enumerate(self.parts):
            out[offset::step] = part.get()
        return out


class SignatureChecker:
    """``processes`` worker processes (forked: they start with this process's modules loaded)."""

    def __init__(self, processes: int = 1) -> None:
        if processes < 1:
            raise ValueError("at least one process")
        self.processes = processes
        self.pool = multiprocessing.get_context("fork").Pool(processes)

    def check(self, datas: list[bytes]) -> Pending:
        """Start checking ``datas``, spread over the workers (interleaved, so equal shares)."""
        step = self.processes
        parts = [self.pool.apply_async(verdicts, (datas[i::step],)) for i in range(step)]
        return Pending(parts, len(datas))

    def close(self) -> None:
        self.pool.close()
        self.pool.join()

    def __enter__(self) -> SignatureChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
