"""Each link against its own normal: a baseline per device and reading, over days.

A signal of -61 dBm is fine on a 9 km link and bad on a 1 km one: no global threshold says
"degraded" for both. So the daemon keeps, per device and series (a radio's signal, CCQ or
capacity, a voltage, a router's RTT), the median of each bucket of readings (an hour by
default) in a ring of the last days (7 by default); the series' baseline is the median of
those bucket medians, trusted once `min_buckets` of them exist. Medians, so an outage of a few
hours or a burst of noise does not move a link's normal; buckets, so a link that is polled
more often does not weigh more.

    baselines = Baselines(settings)                  # thresholds file: `baselines`
    baselines.observe(key, value, at)                # every reading, on the loop
    baselines.normal(key) -> float | None            # the baseline (None: not yet known)
    baselines.dump(device) / baselines.load(device, text)   # persistence (the history file)

Bounded: a ring is `window_days * 86400 / bucket` float32 values (168 for a week of hours),
the running bucket at most CURRENT_CAP of them; at most `max_series` series are kept (the
others are refused and counted). The baseline is computed when a bucket closes (once an hour
per series), so reading it costs nothing. bench/causes.py has the memory figures.
"""

from __future__ import annotations

import base64
import json
import math
from array import array
from collections.abc import Callable, Iterable, Iterator
from statistics import median

from netwatch.config.thresholds import BaselineSettings

# (site, device, metric, labels): labels is the series' own label text beyond the device's
# (`ifname="wlan1"`, `ifname="wlan1",peer="aa:..."`), "" for a device-wide reading
SeriesKey = tuple[str, str, str, str]
DeviceKey = tuple[str, str]
CURRENT_CAP = 64  # readings of the running bucket kept (SNMP each minute: all of an hour)
RTT = "netwatch_icmp_rtt_seconds"  # the series of a device's RTT (each round's median)
_EMPTY = math.nan


class Series:
    """One series' ring of bucket medians, its running bucket, and its baseline."""

    __slots__ = ("bucket", "count", "current", "normal", "ring")

    def __init__(self, slots: int, bucket: int) -> None:
        self.ring = array("f", [_EMPTY]) * slots
        self.bucket = bucket  # index of the running bucket (time // bucket seconds)
        self.current = array("f")
        self.count = 0  # readings seen in the running bucket
        self.normal = _EMPTY  # median of the closed buckets in the window, when enough

    def add(self, value: float) -> None:
        if len(self.current) < CURRENT_CAP:
            self.current.append(value)
        else:  # keep the latest CURRENT_CAP: a fair sample of the bucket for its median
            self.current[self.count % CURRENT_CAP] = value
        self.count += 1

    def close(self, bucket: int, min_buckets: int) -> None:
        """Move on to bucket `bucket`: the running one's median enters the ring, the buckets
        skipped meanwhile (no readings) are emptied, the baseline is computed again."""
        slots = len(self.ring)
        if self.current:
            self.ring[self.bucket % slots] = median(self.current)
        for skipped in range(self.bucket + 1, min(bucket, self.bucket + slots + 1)):
            self.ring[skipped % slots] = _EMPTY
        self.ring[bucket % slots] = _EMPTY  # the new running bucket's slot: a week old
        self.bucket = bucket
        del self.current[:]
        self.count = 0
        values = [v for v in self.ring if v == v]
        self.normal = median(values) if len(values) >= min_buckets else _EMPTY


class Baselines:
    def __init__(self, settings: BaselineSettings) -> None:
        self.settings = settings
        self.series: dict[SeriesKey, Series] = {}
        # each device's series keys: a device's series are found without a scan of all
        self.keys: dict[DeviceKey, set[SeriesKey]] = {}
        self.refused = 0  # series not kept: max_series reached
        self.dirty: set[DeviceKey] = set()  # devices with a bucket closed since the last save
        self.on_normal: list[Callable[[DeviceKey], None]] = []  # a device's baselines moved

    def configure(self, settings: BaselineSettings) -> None:
        """A reload: other buckets or window start every series again; other numbers apply."""
        old, self.settings = self.settings, settings
        if (old.bucket, old.slots) != (settings.bucket, settings.slots):
            self.series.clear()
            self.keys.clear()

    def _bucket(self, at: float) -> int:
        return int(at // self.settings.bucket)

    def observe(self, key: SeriesKey, value: float, at: float) -> None:
        if value != value or math.isinf(value):
            return
        bucket = self._bucket(at)
        series = self.series.get(key)
        if series is None:
            if len(self.series) >= self.settings.max_series:
                self.refused += 1
                return
            series = self.series[key] = Series(self.settings.slots, bucket)
            self.keys.setdefault((key[0], key[1]), set()).add(key)
        elif bucket > series.bucket:
            series.close(bucket, self.settings.min_buckets)
            self._moved((key[0], key[1]))
        series.add(value)

    def _moved(self, device: DeviceKey) -> None:
        self.dirty.add(device)
        for listener in self.on_normal:
            listener(device)

    def normal(self, key: SeriesKey) -> float | None:
        """The series' baseline, or None while it has fewer than min_buckets buckets."""
        series = self.series.get(key)
        if series is None or series.normal != series.normal:
            return None
        return float(series.normal)

    def of_device(self, device: DeviceKey) -> Iterator[tuple[SeriesKey, float]]:
        """The known baselines of one device's series."""
        for key in sorted(self.keys.get(device, ())):
            series = self.series[key]
            if series.normal == series.normal:
                yield key, float(series.normal)

    def keep(self, devices: Iterable[DeviceKey]) -> None:
        """Forget the series of devices no longer configured."""
        wanted = set(devices)
        for device in [d for d in self.keys if d not in wanted]:
            for key in self.keys.pop(device):
                del self.series[key]
        self.dirty &= wanted

    # --- persistence -----------------------------------------------------------------------
    def dump(self, device: DeviceKey) -> str:
        """A device's series as JSON text (the ring as base64 float32), for the history file."""
        rows = [[key[2], key[3], self.series[key].bucket,
                 base64.b64encode(self.series[key].ring.tobytes()).decode()]
                for key in sorted(self.keys.get(device, ()))]
        return json.dumps({"bucket": self.settings.bucket, "slots": self.settings.slots,
                           "series": rows}, separators=(",", ":"))

    def load(self, device: DeviceKey, text: str, now: float) -> int:
        """A device's series from dump(); ignored when stored with other buckets or window.
        Returns the series restored. The buckets since the save count as empty."""
        try:
            data = json.loads(text)
            if (data["bucket"], data["slots"]) != (self.settings.bucket, self.settings.slots):
                return 0
            rows = [(str(m), str(lab), int(b), base64.b64decode(r)) for m, lab, b, r
                    in data["series"]]
        except (ValueError, KeyError, TypeError):
            return 0
        restored = 0
        for metric, labels, bucket, raw in rows:
            if len(self.series) >= self.settings.max_series:
                break
            series = Series(self.settings.slots, bucket)
            ring = array("f")
            ring.frombytes(raw[: len(series.ring) * ring.itemsize])
            if len(ring) != len(series.ring):
                continue
            series.ring = ring
            series.close(max(bucket, self._bucket(now)), self.settings.min_buckets)
            key = (device[0], device[1], metric, labels)
            self.series[key] = series
            self.keys.setdefault(device, set()).add(key)
            restored += 1
        if restored:
            self._moved(device)
            self.dirty.discard(device)
        return restored

    def take_dirty(self) -> dict[DeviceKey, str]:
        """The devices whose buckets closed since the last call, dumped."""
        dirty, self.dirty = self.dirty, set()
        return {device: self.dump(device) for device in sorted(dirty)}

    def memory_bytes(self) -> int:
        """What the series hold (rings and running buckets), for the bench."""
        return sum(s.ring.itemsize * (len(s.ring) + len(s.current))
                   for s in self.series.values())


def baseline_family(metric: str, unit: str) -> str:
    """The catalog name of a series' baseline: the unit stays last
    (netwatch_radio_signal_dbm -> netwatch_radio_signal_baseline_dbm)."""
    stem = metric[: -len(unit) - 1] if unit and metric.endswith("_" + unit) else metric
    return f"{stem}_baseline_{unit}" if unit else f"{stem}_baseline"
