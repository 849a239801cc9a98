"""What one ICMP round yields, and the per-target series accumulated from rounds."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import partial
from itertools import accumulate

from netwatch.base.errors import Reason
from netwatch.base.exposition import Family, Fragment, MetricStore, fmt
from netwatch.scheduler.prober import Result

# smokeping_prober's buckets: 50 us doubling up to ~26 s
RTT_BUCKETS: tuple[float, ...] = tuple(0.00005 * 2**i for i in range(20))
_BUCKET_LABELS = [fmt(b) for b in RTT_BUCKETS] + ["+Inf"]


@dataclass(frozen=True, slots=True)
class IcmpResult:
    """One round: `sent` echoes, the RTTs (seconds) of those answered within the timeout."""

    sent: int
    rtts: tuple[float, ...]
    duplicates: int = 0  # repeated replies seen during the round
    unreachable: int = 0  # echoes answered with an ICMP error (destination unreachable, ...)
    late: int = 0  # replies slower than the timeout that came in while the round still ran

    @property
    def ok(self) -> bool:
        return bool(self.rtts)

    @property
    def reason(self) -> Reason | None:
        if self.rtts:
            return None
        return "unreachable" if self.unreachable else "timeout"

    @property
    def received(self) -> int:
        return len(self.rtts)

    @property
    def loss_ratio(self) -> float:
        return 1.0 - len(self.rtts) / self.sent if self.sent else 1.0

    def stats(self) -> tuple[float, float, float, float] | None:
        """(min, avg, max, mdev) of the RTTs as ping prints them, or None when none answered."""
        if not self.rtts:
            return None
        n = len(self.rtts)
        avg = sum(self.rtts) / n
        mdev = math.sqrt(max(0.0, sum(r * r for r in self.rtts) / n - avg * avg))
        return (min(self.rtts), avg, max(self.rtts), mdev)


class IcmpFamilies:
    """The ICMP families of the catalog (origin "icmp"), declared once per store."""

    def __init__(self, store: MetricStore) -> None:
        self.rtt = store.family("netwatch_icmp_rtt_seconds", lazy=True)
        self.requests = store.family("netwatch_icmp_requests_total")
        self.responses = store.family("netwatch_icmp_responses_total")
        self.late = store.family("netwatch_icmp_late_responses_total", lazy=True)
        self.duplicates = store.family("netwatch_icmp_duplicate_responses_total", lazy=True)
        self.round_rtt = store.family("netwatch_icmp_round_rtt_seconds")
        self.round_loss = store.family("netwatch_icmp_round_loss_ratio")
        # %-templates shared by every series (labels go in as an argument): each round
        # re-renders ~35 lines per target, so one formatting call per family beats a line
        # at a time, and no series keeps label-prefixed copies of its own
        name = self.rtt.name
        self.histogram = ("".join(f'{name}_bucket{{%s,le="{le}"}} %d\n' for le in _BUCKET_LABELS)
                          + f"{name}_sum{{%s}} %s\n{name}_count{{%s}} %d\n")
        self.round_stats = "".join(f'{self.round_rtt.name}{{%s,stat="{stat}"}} %s\n'
                                   for stat in ("min", "avg", "max", "mdev"))


class IcmpSeries:
    """Counters and the RTT histogram of one target; renders its lines after each round."""

    __slots__ = (
        "__weakref__",
        "_families",
        "_labels",
        "buckets",
        "duplicates",
        "last",
        "late",
        "requests",
        "responses",
        "rtt_sum",
    )

    def __init__(self, families: IcmpFamilies, labels: str) -> None:
        self._families = families
        self._labels = labels
        self.buckets = [0] * (len(RTT_BUCKETS) + 1)  # per bucket, not cumulative; last is +Inf
        self.rtt_sum = 0.0
        self.requests = 0
        self.responses = 0
        self.late = 0
        self.duplicates = 0
        self.last: IcmpResult | None = None

    def apply(self, result: Result) -> None:
        if not isinstance(result, IcmpResult):
            return  # a failed poll (deadline, internal error) sent nothing we can count
        self.requests += result.sent
        self.responses += len(result.rtts)
        self.duplicates += result.duplicates
        self.late += result.late
        for rtt in result.rtts:
            self.buckets[bisect.bisect_left(RTT_BUCKETS, rtt)] += 1
            self.rtt_sum += rtt
        self.last = result

    def count_late(self, n: int = 1) -> None:
        """A reply arrived after its round ended (called by the engine, any time; replies
        that are late while the round still runs come in `IcmpResult.late`)."""
        self.late += n

    def count_duplicate(self, n: int = 1) -> None:
        """A repeated reply arrived after its round ended (called by the engine)."""
        self.duplicates += n

    def histogram_text(self) -> str:
        """The RTT histogram's lines, rendered at scrape time (a lazy family): 22 lines per
        target would otherwise sit in memory as text and be rebuilt on every poll."""
        labels = self._labels
        cumulative = list(accumulate(list(self.buckets)))  # one copy: count == +Inf bucket
        args: list[object] = [labels] * (2 * len(cumulative))
        args[1::2] = cumulative
        args += (labels, fmt(self.rtt_sum), labels, cumulative[-1])
        return self._families.histogram % tuple(args)

    def counters_text(self, family: Family) -> str:
        """Late or duplicate replies, rendered at scrape time: the engine counts them at any
        moment (after rounds end too), and they are almost always unchanged."""
        value = self.late if family is self._families.late else self.duplicates
        return f"{family.name}{{{self._labels}}} {value}\n"

    def render(self, full: bool = True) -> list[tuple[Family, Fragment]]:
        """The series' lines after a round; `full` adds the lazy families' renderers (set
        once: they read the counters themselves at scrape time)."""
        f, labels = self._families, self._labels
        out: list[tuple[Family, Fragment]] = [
            (f.requests, f"{f.requests.name}{{{labels}}} {self.requests}\n"),
            (f.responses, f"{f.responses.name}{{{labels}}} {self.responses}\n"),
        ]
        if full:
            out += [(f.rtt, self.histogram_text), (f.late, partial(self.counters_text, f.late)),
                    (f.duplicates, partial(self.counters_text, f.duplicates))]
        last = self.last
        if last is not None:
            out.append((f.round_loss,
                        f"{f.round_loss.name}{{{labels}}} {fmt(last.loss_ratio)}\n"))
            stats = last.stats()
            text = ""
            if stats is not None:
                low, avg, high, mdev = stats
                text = f.round_stats % (labels, fmt(low), labels, fmt(avg), labels, fmt(high),
                                        labels, fmt(mdev))
            out.append((f.round_rtt, text))
        return out
