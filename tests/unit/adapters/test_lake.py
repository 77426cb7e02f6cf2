from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest

from fraud_detection.adapters.lake import Lake, LakeError, PartitionExistsError
from fraud_detection.adapters.partition_files import decode
from fraud_detection.sources.synthetic import generate


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(str(tmp_path / "lake"))


def _frame(seed: int, rows: int = 200) -> pd.DataFrame:
    return generate(rows, month_index=1, seed=seed)[0]


def test_a_month_round_trips_with_the_hash_of_its_bytes(lake: Lake, tmp_path: Path) -> None:
    frame = _frame(1)
    ref = lake.write("2025-02", frame)
    stored = tmp_path / "lake" / "incoming" / "month=2025-02" / "applications.parquet"
    assert ref.path == str(stored)
    assert ref.sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
    data, back_ref = lake.fetch("2025-02")
    back = decode(back_ref, data)
    assert back.equals(frame) and back_ref == ref


def test_months_are_listed_in_order_and_csv_is_read(lake: Lake, tmp_path: Path) -> None:
    lake.write("2025-03", _frame(1))
    lake.write("2025-01", _frame(2))
    csv = tmp_path / "lake" / "incoming" / "month=2025-02" / "applications.csv"
    csv.parent.mkdir(parents=True)
    _frame(3).to_csv(csv, index=False)
    assert lake.list_months() == ["2025-01", "2025-02", "2025-03"]
    assert lake.read("2025-02").equals(_frame(3))


def test_a_month_is_never_overwritten(lake: Lake, tmp_path: Path) -> None:
    first = _frame(1)
    ref = lake.write("2025-02", first)
    assert lake.write("2025-02", first) == ref  # the same bytes again: a no-op
    with pytest.raises(PartitionExistsError, match=r"month=2025-02.*immutable"):
        lake.write("2025-02", _frame(2))
    assert lake.read("2025-02").equals(first)
    leftovers = [p.name for p in (tmp_path / "lake").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_failed_write_leaves_no_partial_file(
    lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_link(source: str, target: str) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "link", broken_link)
    with pytest.raises(OSError, match="disk full"):
        lake.write("2025-05", _frame(1))
    assert [p for p in (tmp_path / "lake").rglob("*") if p.is_file()] == []
    assert lake.list_months() == []


@pytest.mark.parametrize(
    ("data", "words"), [(b"", "empty file"), (b"PAR1 not really", "unreadable")]
)
def test_corrupt_or_empty_files_are_named(
    lake: Lake, tmp_path: Path, data: bytes, words: str
) -> None:
    path = tmp_path / "lake" / "incoming" / "month=2025-07" / "applications.parquet"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    with pytest.raises(LakeError, match=words) as error:
        lake.read("2025-07")
    assert str(path) in str(error.value)


def test_truth_is_kept_beside_the_data(lake: Lake) -> None:
    frame, truth = generate(100, month_index=1, seed=4)
    lake.write("2025-01", frame, truth)
    assert lake.read_truth("2025-01").equals(truth)
    assert "P_FRAUD" not in lake.read("2025-01").columns


def test_bad_month_names_are_refused(lake: Lake) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        lake.write("2025-13", _frame(1))
