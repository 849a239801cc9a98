"""The text exposition: escaping, number formats, and a render prometheus-client parses."""

from __future__ import annotations

import math
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from netwatch.base.catalog import METRICS
from netwatch.base.exposition import (
    MetricStore,
    escape_label,
    fmt,
    label_text,
    parse_labels,
    sample,
)


@pytest.mark.parametrize(("value", "text"), [
    (1, "1"), (0.5, "0.5"), (2.0, "2"), (1e-05, "1e-05"), (math.inf, "+Inf"),
    (-math.inf, "-Inf"), (math.nan, "NaN"), (1e20, "1e+20"),
    # arithmetic noise never shows: 15 significant digits, shortest text
    (1 - 0.8, "0.2"), (214 * 0.1, "21.4"), (0.1 + 0.2, "0.3"), (6 * 0.01, "0.06"),
    (0.999999999999999999, "1"), (1 / 3, "0.333333333333333"), (-2.675e-7, "-2.675e-07"),
    (2**53 + 1, "9007199254740993"), (1.5e300, "1.5e+300"), (123456789.123, "123456789.123")])
def test_fmt(value: float, text: str) -> None:
    assert fmt(value) == text


def test_labels_are_escaped() -> None:
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    text = label_text(("ifalias", "x"), ('uplink "ISP"\nA', "1"))
    store = MetricStore()
    fam = store.family("netwatch_interface_info")
    store.set(fam, "o", sample(fam.name, text, 1))
    [family] = text_string_to_metric_families(store.render().decode())
    assert family.samples[0].labels == {"ifalias": 'uplink "ISP"\nA', "x": "1"}


def test_families_group_fragments_and_owners_drop_cleanly() -> None:
    store = MetricStore()
    up = store.family("netwatch_up")
    errors = store.family("netwatch_poll_errors_total")
    for owner in ("a", "b"):
        store.set(up, owner, sample(up.name, f'device="{owner}"', 1))
        store.set(errors, owner, sample(errors.name, f'device="{owner}",reason="timeout"', 3))
    assert store.family("netwatch_up") is up
    with pytest.raises(ValueError, match="declared twice"):
        store.family("netwatch_up", lazy=True)
    text = store.render().decode()
    assert text.count("# TYPE netwatch_up gauge") == 1
    assert store.series_count() == 4
    store.drop_owner("a")
    families = {f.name: f for f in text_string_to_metric_families(store.render().decode())}
    assert [s.labels["device"] for s in families["netwatch_up"].samples] == ["b"]
    assert families["netwatch_poll_errors"].type == "counter"


def test_render_while_the_loop_updates() -> None:
    store = MetricStore()
    fam = store.family("netwatch_up")
    stop = threading.Event()

    def churn() -> None:
        i = 0
        while not stop.is_set() and i < 200_000:
            store.set(fam, i % 5000, sample(fam.name, f'd="{i % 5000}"', i))
            if i % 7 == 0:
                store.drop_owner((i * 13) % 5000)
            i += 1

    for owner in range(5000):
        store.set(fam, owner, sample(fam.name, f'd="{owner}"', owner))
    writer = threading.Thread(target=churn)
    writer.start()
    sizes = []
    try:
        for _ in range(20):
            families = list(text_string_to_metric_families(store.render().decode()))
            samples = [s for family in families for s in family.samples]
            # whole fragments only: owner i % 5000 always holds a line written with value i
            assert all(int(s.labels["d"]) == s.value % 5000 for s in samples)
            sizes.append(len(samples))
    finally:
        stop.set()
        writer.join()
    assert min(sizes) > 0  # no render came out empty


def test_families_come_from_the_catalog() -> None:
    store = MetricStore()
    with pytest.raises(ValueError, match=r"not in netwatch/base/catalog\.py"):
        store.family("netwatch_undeclared")
    state = store.family("netwatch_site_state")
    cpu = store.family("netwatch_device_cpu_utilization_ratio", sources=["A::b (1.2)", "3.4"])
    store.set(state, "s", sample(state.name, 'site="1",kecamatan="K",state="up"', 1))
    store.set(cpu, "d", sample(cpu.name, 'site="1"', 0.5))
    text = store.render().decode()
    site_state = METRICS["netwatch_site_state"]
    assert f"# HELP netwatch_site_state {site_state.help}\n" in text
    assert "# TYPE netwatch_site_state gauge\n" in text  # 0.0.4 has no stateset type
    assert cpu.help == f"{METRICS[cpu.name].help} From A::b (1.2), 3.4."
    with pytest.raises(ValueError, match="declared twice"):
        store.family("netwatch_device_cpu_utilization_ratio")  # another HELP: a bug


def test_labels_read_back_as_written() -> None:
    values = ['plain', 'a "quoted" name', 'C:\\flash', 'two\nlines', '\\n is not a break']
    names = [f"l{i}" for i in range(len(values))]
    assert parse_labels(label_text(names, values)) == dict(zip(names, values, strict=True))
