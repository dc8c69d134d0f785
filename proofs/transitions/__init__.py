"""One module per transaction kind (and clearing, and the clock), each beside its spec function.

Every module defines the kind's transaction fields (``Tx``), their wire domain (``domain``), the
transition (``step``, the spec function's checks in order and its writes) and the keys it touches
(``touched``), which is where obligations instantiate the pre-state invariant.
"""
