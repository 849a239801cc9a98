"""Fuzzing in the suite: the BER decoder, the config loader and the CSV import against
random and mutated input. Seeded (the same examples every run) and bounded; bench/fuzz.py
runs the same properties for 10 minutes each with fresh seeds."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, seed, settings

from tests.fuzzing import (
    ber_messages,
    check_ber,
    check_config,
    check_csv,
    config_directory,
    config_texts,
    csv_texts,
)

BOUNDED = settings(derandomize=False, database=None, deadline=None, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@seed(20261203)
@settings(BOUNDED, max_examples=6000)
@given(ber_messages)
def test_ber_decoder_never_raises_anything_but_its_own_error(data: bytes) -> None:
    check_ber(data)


_CONFIG_DIR = config_directory(Path(tempfile.mkdtemp(prefix="netwatch-fuzz-")))


@seed(20261203)
@settings(BOUNDED, max_examples=400)
@given(config_texts())
def test_config_loader_gives_file_line_errors_or_a_config(text: str) -> None:
    check_config(text, _CONFIG_DIR)


@seed(20261203)
@settings(BOUNDED, max_examples=600)
@given(csv_texts())
# found by bench/fuzz.py: a bare carriage return inside a line (csv.Error, a traceback)
@example("kode_kecamatan,kecamatan,kode\rdevice\n_kelurahan,kelurahan,lat,lon\n"
         "18.71.01,Kedaton,18.71.01.1003,Kedaton,-5.38,105.26\n")
@example('kode_wilayah,kelurahan,kecamatan,lat,lon\n18.71.01.1003,"Kedaton\n')
def test_csv_import_names_bad_rows_or_writes_valid_sites(text: str) -> None:
    check_csv(text)
