#!/usr/bin/env python3
"""Replays circuit timelines against alerts.yml as `promtool test rules` cases.

    python3 replay.py OUT.yml && promtool test rules OUT.yml

A timeline is what one circuit did, second by second: segments of (state, seconds, calls per
second by outcome). This script turns it into the series fusebox-prometheus exports, exactly
as a Prometheus scraping every N seconds would store them:

- `circuit_breaker_state{state}`: the one-hot gauge, as it is at each scrape instant, so a
  state held for less than a scrape interval can fall between two scrapes and go unseen;
- `circuit_breaker_state_transition_total{old_state,new_state}`: every transition counted,
  also those between two scrapes. The four automatic transitions exist from registration, at
  0; any other (an operator's command) appears when it first happens, at 1;
- `circuit_breaker_calls_total{outcome}`: calls so far.

The cases replay what a real circuit does in a hard outage, open 4 s then half_open 1 s
(a failed probe) again and again, at 1 s and 15 s scrape intervals, and the cases around it:
a recovery too short for any scrape to see, a real recovery, a forced-open circuit, disabled
and metrics_only circuits, and a circuit that keeps tripping. Each states which alerts fire
when, with their labels and annotations.
"""

import json
import os
import sys
from fractions import Fraction

STATES = ["closed", "open", "half_open", "metrics_only", "disabled", "forced_open"]
AUTOMATIC = [("closed", "open"), ("open", "half_open"), ("half_open", "closed"), ("half_open", "open")]
OUTCOMES = ["success", "failure", "ignored", "rejected"]
CIRCUIT = "payments"
# Rules are evaluated every 15 s, so an expected change shows at the first multiple of 15 s
# after the data allows it.
EVALUATION_INTERVAL = 15


# Segments. Rates are calls per second over the segment.
def closed(seconds, success=10, failure=0):
    return [("closed", seconds, {"success": success, "failure": failure})]


def probing(cycles, open_seconds=4, half_open_seconds=1):
    """A hard outage: rejects calls while open, then one probe fails in half_open."""
    return [("open", open_seconds, {"rejected": 10}),
            ("half_open", half_open_seconds, {"failure": Fraction(1, half_open_seconds)})] * cycles


def probe_succeeds(half_open_seconds=1):
    """A last cooldown, then the probe that closes the circuit."""
    return [("open", 4, {"rejected": 10}),
            ("half_open", half_open_seconds, {"success": Fraction(1, half_open_seconds)})]


def state(name, seconds):
    return [(name, seconds, {"rejected": 10} if name == "forced_open" else {})]


class Replay:
    """The series of one circuit's timeline, scraped every `scrape` seconds from 0; the
    scrapes at the times in `failed` fail (Prometheus marks every series stale)."""

    def __init__(self, segments, scrape, failed=()):
        self.scrape = Fraction(scrape)
        self.failed = {Fraction(t) for t in failed}
        self.segments = []
        at = Fraction(0)
        for name, seconds, rates in segments:
            assert name in STATES, name
            self.segments.append((at, at + Fraction(seconds), name, rates))
            at += Fraction(seconds)
        self.end = at
        assert self.segments[0][2] == "closed", "a circuit is registered closed"

    def transitions(self):
        """(time, old, new) of every transition."""
        out = []
        for (_, _, before, _), (start, _, after, _) in zip(self.segments, self.segments[1:]):
            if before != after:
                out.append((start, before, after))
        return out

    def state_at(self, t):
        for start, end, name, _ in self.segments:
            if start <= t < end:
                return name
        return self.segments[-1][2]

    def calls_at(self, t, outcome):
        total = Fraction(0)
        for start, end, _, rates in self.segments:
            if start < t:
                total += rates.get(outcome, 0) * (min(end, t) - start)
        return int(total)

    def scrapes(self):
        n = int(self.end / self.scrape)
        return [k * self.scrape for k in range(n + 1)]

    def series(self):
        return [(name, ["stale" if t in self.failed else v for t, v in zip(self.scrapes(), values)])
                for name, values in self.samples()]

    def samples(self):
        times = self.scrapes()
        out = []
        for name in STATES:
            values = [1 if self.state_at(t) == name else 0 for t in times]
            out.append((f'circuit_breaker_state{{circuit_name="{CIRCUIT}", state="{name}"}}', values))
        transitions = self.transitions()
        pairs = list(AUTOMATIC)
        for _, old, new in transitions:
            if (old, new) not in pairs:
                pairs.append((old, new))
        for old, new in pairs:
            born = None if (old, new) in AUTOMATIC else min(
                at for at, o, n in transitions if (o, n) == (old, new))
            values = []
            for t in times:
                count = sum(1 for at, o, n in transitions if (o, n) == (old, new) and at <= t)
                values.append(None if born is not None and t < born else count)
            out.append((f'circuit_breaker_state_transition_total{{circuit_name="{CIRCUIT}", '
                        f'old_state="{old}", new_state="{new}"}}', values))
        for outcome in OUTCOMES:
            values = [self.calls_at(t, outcome) for t in times]
            out.append((f'circuit_breaker_calls_total{{circuit_name="{CIRCUIT}", outcome="{outcome}"}}',
                        values))
        return out


def expand(values):
    """promtool's notation: runs of a constant step as `a+bxn`, missing samples as `_`,
    failed scrapes as `stale`."""
    parts = []
    i = 0
    while i < len(values):
        if values[i] == "stale":
            parts.append("stale")
            i += 1
            continue
        if values[i] is None:
            j = i
            while j < len(values) and values[j] is None:
                j += 1
            parts.append(f"_x{j - i}" if j - i > 1 else "_")
            i = j
            continue
        j = i + 1
        def number(k):
            return k < len(values) and values[k] is not None and values[k] != "stale"
        step = values[j] - values[i] if number(j) else 0
        while number(j) and values[j] - values[j - 1] == step:
            j += 1
        n = j - i - 1
        if n == 0:
            parts.append(f"{values[i]}")
        elif step == 0:
            parts.append(f"{values[i]}x{n}")
        else:
            parts.append(f"{values[i]}{step:+d}x{n}")
        i = j
    return " ".join(parts)


def at(seconds):
    return f"{seconds}s"


def timestamp(seconds):
    """How Prometheus' humanizeTimestamp writes a time of the replay (which starts at 0)."""
    return f"1970-01-01 {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d} +0000 UTC"


# The alerts as the rules write them for the replayed circuit.
def open_alert(since, failure_rate="100% of the calls let through in 5 minutes failed"):
    return ("CircuitBreakerOpen", {"severity": "warning", "circuit_name": CIRCUIT}, {
        "summary": f"Circuit {CIRCUIT} has been open for 5 minutes without closing",
        "description": f"Calls through circuit {CIRCUIT} are being rejected, and every probe since it "
                       "tripped has failed. Check the protected dependency; the circuit keeps probing "
                       "by itself per its retry policy and closes when a probe succeeds.",
        "state": "open, probing (half_open) after each cooldown",
        "since": timestamp(since),
        "failure_rate": failure_rate,
    })


def forced_open_alert(since):
    return ("CircuitBreakerForcedOpen", {"severity": "info", "circuit_name": CIRCUIT}, {
        "summary": f"Circuit {CIRCUIT} is forced open: every call is rejected",
        "description": f"An operator forced circuit {CIRCUIT} open. It rejects every call and does not "
                       "probe until it is reset (admin dashboard or API: reset).",
        "state": "forced_open",
        "since": timestamp(since),
        "failure_rate": "none measured: a forced-open circuit lets no call through",
    })


def flapping_alert(trips, now_state, failure_rate):
    return ("CircuitBreakerFlapping", {"severity": "warning", "circuit_name": CIRCUIT}, {
        "summary": f"Circuit {CIRCUIT} tripped {trips} times in 15 minutes",
        "description": "The circuit keeps tripping after recovering. The dependency is unstable, or "
                       "the trip rule / close_after are too eager.",
        "state": f"{now_state} now, closing and tripping again",
        "since": "the last 15 minutes (the window the trips are counted in)",
        "failure_rate": failure_rate,
    })


ALERTS = ["CircuitBreakerOpen", "CircuitBreakerForcedOpen", "CircuitBreakerFlapping",
          "ManyCircuitBreakersOpen"]


def case(name, scrape, segments, firing, failed=()):
    """`firing`: {eval time in seconds: [alerts firing then]}; every alert not listed is
    checked to be silent at those times."""
    return {"name": name, "replay": Replay(segments, scrape, failed), "firing": firing}


# A circuit closed for a minute, then its dependency goes down for good: it trips at 60 s
# (failing calls first) and probes every 5 s for 7 minutes, then a probe succeeds.
HARD_OUTAGE = closed(57) + closed(3, success=0, failure=10) + probing(83) + probe_succeeds() + closed(180)
# Recovered at 60 + 83 * 5 + 5 = 480 s.

CASES = [
    case("hard outage, probing every 5 s, scraped every 1 s: fires after 5 minutes, resolves "
         "at the first evaluation after the recovery", 1, HARD_OUTAGE, {
             # 5 minutes after the trip, the scrape 5 minutes ago (45 s) still saw it closed.
             345: [],
             # `since`: the last 15 s step of the lookup that saw it closed.
             360: [open_alert(since=45)],
             465: [open_alert(since=45)],
             480: [],
             600: [],
         }),
    case("hard outage scraped every 15 s, every scrape landing in half_open: fires", 15,
         closed(57) + closed(3.5, success=0, failure=10) + probing(83) + probe_succeeds() + closed(180), {
             360: [],
             375: [open_alert(since=60)],
             465: [open_alert(since=60)],
             495: [],
         }),
    case("hard outage scraped every 15 s, every scrape landing in open: fires", 15,
         closed(57) + closed(5, success=0, failure=10) + probing(83) + probe_succeeds() + closed(180), {
             360: [],
             375: [open_alert(since=60)],
             465: [open_alert(since=60)],
             495: [],
         }),
    case("a recovery shorter than a scrape interval restarts the outage: the counters saw it", 15,
         closed(57) + closed(3, success=0, failure=10) + probing(68)
         # 400 s: a probe succeeds after 2 s, the circuit closes at 406 s, and trips again at
         # 408 s; the scrapes at 405 s (half_open) and 420 s (open) never see it closed.
         + probe_succeeds(half_open_seconds=2) + closed(2, success=0, failure=10)
         + probing(100) + probe_succeeds() + closed(120), {
             360: [open_alert(since=45)],
             405: [open_alert(since=45)],
             # The half_open → closed counter moved between the scrapes at 405 s and 420 s.
             420: [],
             705: [],
             # 5 minutes after the scrape at 420 s: the new outage, counted from that scrape.
             720: [open_alert(since=420)],
         }),
    case("a failed scrape during the outage does not end the alert", 15, HARD_OUTAGE, {
             360: [open_alert(since=45)],
             420: [open_alert(since=45)],
             435: [open_alert(since=45)],
         }, failed=[420]),
    case("a recovery that stays: the alert resolves and the outage does not count as flapping", 15,
         HARD_OUTAGE, {
             600: [],
             900: [],
         }),
    case("an operator forces the circuit open: not an outage, but an info alert after 1 minute", 15,
         closed(60) + state("forced_open", 600) + closed(60), {
             105: [],
             120: [forced_open_alert(since=45)],
             600: [forced_open_alert(since=45)],
             675: [],
         }),
    case("forced open during an outage: the outage alert gives way to the forced-open one", 1,
         closed(57) + closed(3, success=0, failure=10) + probing(70) + state("forced_open", 300), {
             360: [open_alert(since=45)],
             # forced at 410 s
             420: [],
             480: [forced_open_alert(since=405)],
         }),
    case("disabled and metrics_only circuits never alert", 15,
         closed(60) + state("disabled", 400) + state("metrics_only", 400) + closed(60), {
             420: [],
             840: [],
         }),
    case("tripping three times in 15 minutes is flapping; the count is a whole number", 15,
         closed(60) + closed(3, success=0, failure=10) + probing(2) + probe_succeeds() + closed(120)
         + closed(3, success=0, failure=10) + probing(2) + probe_succeeds() + closed(120)
         + closed(3, success=0, failure=10) + probing(2) + probe_succeeds() + closed(900), {
             # Trips at 63 s, 201 s and 339 s.
             330: [],
             # 95 failures, 3002 successes.
             345: [flapping_alert(3, "open", "3.067% of the calls let through in 15 minutes failed")],
             # The counter at 960 s minus the counter at 60 s: still the three trips. The calls
             # of the same 15 minutes: 96 failures, 8463 successes.
             960: [flapping_alert(3, "closed", "1.122% of the calls let through in 15 minutes failed")],
             # From 150 s: two trips.
             1050: [],
         }),
]


def render(rule_file):
    lines = [
        "# Generated by replay.py; run by ../check.",
        "rule_files:",
        f"  - {json.dumps(rule_file)}",
        f"evaluation_interval: {EVALUATION_INTERVAL}s",
        "tests:",
    ]
    for c in CASES:
        replay = c["replay"]
        lines += [f"  - name: {json.dumps(c['name'])}",
                  f"    interval: {replay.scrape}s",
                  "    input_series:"]
        for series, values in replay.series():
            lines += [f"      - series: {json.dumps(series)}",
                      f"        values: {json.dumps(expand(values))}"]
        lines.append("    alert_rule_test:")
        for seconds, alerts in sorted(c["firing"].items()):
            for alertname in ALERTS:
                expected = [a for a in alerts if a[0] == alertname]
                lines += [f"      - eval_time: {at(seconds)}",
                          f"        alertname: {alertname}"]
                if not expected:
                    lines.append("        exp_alerts: []")
                    continue
                lines.append("        exp_alerts:")
                for _, labels, annotations in expected:
                    lines.append(f"          - exp_labels: {json.dumps(labels)}")
                    lines.append(f"            exp_annotations: {json.dumps(annotations, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: replay.py OUT.yml  (then: promtool test rules OUT.yml)")
    rules = os.path.join(os.path.dirname(os.path.abspath(__file__)), "alerts.yml")
    with open(sys.argv[1], "w") as out:
        out.write(render(rules))
    print(f"{len(CASES)} replayed timelines written to {sys.argv[1]}")


if __name__ == "__main__":
    main()
