"""The reference node: a second, independent and fast implementation of the kwhledger rules.

It never imports the executable specification (``spec/``); agreement is established from the
outside, by the conformance vectors and by differential fuzzing against the spec.

Modules: ``cbor`` (deterministic encoder, strict first-violation decoder, fast path), ``wire``
(transaction and block schemas), ``ledger`` (indexed state, every rule, clearing, blocks,
incremental LtHash root), ``lthash`` (lane sums in NumPy), ``store`` (SQLite), ``node`` (mempool,
block production and import, restart), ``verifier`` (signature checks in worker processes),
``adapter`` (conformance adapter), ``client`` (signing), ``devchain``,
``village``/``simulate``/``plot`` (``kwhledger simulate``) and ``bench`` (``kwhledger bench``).
"""
