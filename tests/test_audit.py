"""``kwhledger audit`` can be run again in the same output folder."""

from __future__ import annotations

from pathlib import Path

from kwhledger.audit import clear_previous_village, plan


def test_a_second_audit_starts_its_village_from_an_empty_store(tmp_path: Path) -> None:
    village = next(step for step in plan(tmp_path) if step.name == "village day")
    store = tmp_path / "village.sqlite"
    assert str(store) in village.command  # the step writes the store the cleanup removes
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").write_bytes(b"an earlier audit's chain")
    (tmp_path / "proofs.json").write_text("{}")
    clear_previous_village(tmp_path)
    assert not any(Path(f"{store}{suffix}").exists() for suffix in ("", "-wal", "-shm"))
    assert (tmp_path / "proofs.json").exists()  # nothing else is touched
