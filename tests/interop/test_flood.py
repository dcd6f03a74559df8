"""Flood protection at the transport (issue 6): a SIPp flood from one loopback address
(127.0.0.2) is limited while another (127.0.0.3) is served normally; the ban is logged
once, outlives the flood and then expires; memory stays bounded during a 60 s flood
from many addresses (three SIPp floods, a sender cycling through 10 000 source
addresses, TCP connection churn).

The first test runs the default limits (200 messages/s, a burst of 1000, 20 new
connections/s with a burst of 100) with a shorter ban, so that it sees the ban end;
the memory test lower ones (see MEM_CONFIG)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from conftest import running_herald
from flood_tools import (
    AddressCycler,
    ConnectionChurn,
    RssSampler,
    SteadyClient,
    UdpProbe,
    sipp_counts,
    sipp_flood,
    tcp_options,
)

FLOODER = "127.0.0.2"
NEIGHBOUR = "127.0.0.3"
BAN_SECS = 4
# The defaults, except for the ban's length.
DEFAULT_BURST = 1000
DEFAULT_RATE = 200
FLOOD_RATE = 2000
FLOOD_SECS = 5


def ban_lines(server, ip: str) -> list[str]:
    return [line for line in server.log_lines if f"flood: banning {ip} " in line]


def test_a_flood_from_one_address_is_banned_while_another_is_served(tmp_path: Path):
    with running_herald(f"[flood]\nban_secs = {BAN_SECS}\n") as server:
        target = (server.host, server.sip_port)
        flooder_probe = UdpProbe(FLOODER, target)
        assert flooder_probe.ask(2.0), "the flooder's address is served before the flood"

        neighbour = SteadyClient(NEIGHBOUR, target, interval=0.05).start()
        started = time.monotonic()
        sipp = sipp_flood(FLOODER, server.sip_port, FLOOD_RATE, FLOOD_RATE * FLOOD_SECS, tmp_path)
        try:
            _, errors = sipp.communicate(timeout=FLOOD_SECS * 4 + 20)
        finally:
            if sipp.poll() is None:
                sipp.kill()
                sipp.wait(5)
        flood_ended = time.monotonic()
        # Still banned right after: the flood kept the ban going.
        still_banned = not flooder_probe.ask(1.0)
        neighbour.stop()

        counts = sipp_counts(tmp_path)
        seconds = flood_ended - started
        print(
            f"\nflood from {FLOODER}: {counts.total_sent} OPTIONS in {seconds:.1f} s "
            f"({counts.total_sent / seconds:.0f}/s sent), {counts.total_answered} answered; "
            f"per second sent {_steps(counts.sent)}, answered {_steps(counts.answered)}\n"
            f"neighbour {NEIGHBOUR}: {neighbour.sent} sent, {neighbour.ok} answered 200"
        )
        # At least twice what the limits let through in that time, or nothing is tested.
        assert counts.total_sent >= 2 * (DEFAULT_BURST + DEFAULT_RATE * FLOOD_SECS), (
            f"SIPp sent too slowly to test anything: {counts.total_sent}; {errors[-2000:]}"
        )
        # The burst and what the rate earned until the bucket ran dry, nothing after.
        assert DEFAULT_BURST <= counts.total_answered <= DEFAULT_BURST + 2 * DEFAULT_RATE, counts
        # The flood's last two seconds got no answer at all.
        last_row = counts.sent.index(counts.total_sent)
        answered_late = counts.total_answered - counts.answered[max(0, last_row - 2)]
        assert answered_late == 0, f"answers in the flood's last two seconds: {counts}"
        assert still_banned

        assert neighbour.sent >= 40
        assert neighbour.ok == neighbour.sent, f"the neighbour was not served: {neighbour}"

        bans = ban_lines(server, FLOODER)
        assert len(bans) == 1, f"one warning per ban, not per packet: {bans}"
        assert "over the limit of 200/s with a burst of 1000" in bans[0], bans[0]
        assert not ban_lines(server, NEIGHBOUR)

        # Once the flood has stopped, the ban ends within a ban period (and a sweep).
        deadline = flood_ended + 2 * BAN_SECS + 3
        while not flooder_probe.ask(0.5):
            assert time.monotonic() < deadline, "the ban never ended"
        unbanned_after = time.monotonic() - flood_ended
        print(f"{FLOODER} served again {unbanned_after:.1f} s after its flood ended")
        assert any(f"flood: ban on {FLOODER} lifted" in line for line in server.log_lines)
        flooder_probe.close()


def _steps(totals: list[int]) -> list[int]:
    """Per-interval increments of cumulative counts."""
    return [b - a for a, b in zip([0] + totals, totals)]


MEMORY_FLOOD_SECS = 60
# Peak RSS allowed during the memory test. Measured on a shared 2-core machine: idle
# 13 MB, peaks of 38, 41, 43, 49 and 51 MB in five runs (the event queue filling while
# the cycler's first pass is admitted); the bound is about twice the highest.
MAX_PEAK_RSS_MB = 100
SIPP_FLOODERS = ["127.0.0.4", "127.0.0.5", "127.0.0.6"]
CHURNER = "127.0.0.7"
LATECOMER = "127.0.0.9"


# The memory test's limits: every source of the flood goes over them, the address
# cycler's included (12 datagrams per visit against a burst of 10 and 5/s), so what
# is measured is the cost of refusing a flood from many addresses, not of serving it.
# (Sources that each stay under their limits are served: with 10 000 of them the
# server's memory is what it takes to answer them, transactions kept 32 s for UDP
# retransmissions; that is overload control's business, not the guard's.)
MEM_RATE = 5
MEM_BURST = 10
MEM_CONFIG = f"""[flood]
requests_per_sec = {MEM_RATE}
burst = {MEM_BURST}
ban_secs = 10
"""
CYCLED_ADDRESSES = 10_000


def test_memory_stays_bounded_during_a_60_s_flood_from_many_addresses(tmp_path: Path):
    with running_herald(MEM_CONFIG) as server:
        target = (server.host, server.sip_port)
        assert server.proc is not None
        time.sleep(1)
        rss = RssSampler(server.proc.pid).start()
        idle_kb = rss.rss_kb()
        floods = [
            sipp_flood(ip, server.sip_port, 1000, 1000 * MEMORY_FLOOD_SECS, tmp_path / ip)
            for ip in SIPP_FLOODERS
        ]
        cycler = AddressCycler(
            target, count=CYCLED_ADDRESSES, per_address=12, burst_every=0
        ).start()
        churn = ConnectionChurn(CHURNER, target).start()
        neighbour = SteadyClient(NEIGHBOUR, target, interval=0.5).start()
        try:
            time.sleep(MEMORY_FLOOD_SECS)
        finally:
            cycler.stop()
            churn.stop()
            neighbour.stop()
            for sipp in floods:
                sipp.kill()
                sipp.wait(5)
        time.sleep(1)
        rss.stop()
        assert server.alive(), "the server died under the flood:\n" + server.log()[-3000:]

        peak_kb = rss.peak_kb
        banned = {
            m.group(1)
            for line in server.log_lines
            if (m := re.search(r"flood: banning (127\.1\.\d+\.\d+) ", line))
        }
        sipp_totals = [sipp_counts(tmp_path / ip) for ip in SIPP_FLOODERS]
        print(
            f"\nidle RSS {idle_kb / 1024:.1f} MB, peak {peak_kb / 1024:.1f} MB over "
            f"{len(rss.samples)} samples; after {rss.samples[-1][1] / 1024:.1f} MB\n"
            f"SIPp floods sent/answered: "
            f"{[(c.total_sent, c.total_answered) for c in sipp_totals]}\n"
            f"address cycler: {cycler.datagrams} datagrams from {cycler.addresses} addresses "
            f"({CYCLED_ADDRESSES} distinct), {len(banned)} of them banned\n"
            f"TCP churn from {CHURNER}: {churn.connections} connections, "
            f"{churn.answered} answered\n"
            f"neighbour {NEIGHBOUR}: {neighbour.sent} sent, {neighbour.answered} answered, "
            f"{neighbour.ok} of them 200 (the others 503: server behind)\n"
            f"RSS MB every 5 s: {[round(kb / 1024) for _, kb in rss.samples[::10]]}"
        )
        assert len(rss.samples) >= MEMORY_FLOOD_SECS  # two a second, some slack
        assert peak_kb < MAX_PEAK_RSS_MB * 1024, f"peak RSS {peak_kb} kB"
        for ip, counts in zip(SIPP_FLOODERS, sipp_totals):
            assert counts.total_answered <= MEM_BURST + 2 * MEM_RATE, (ip, counts)
            assert len(ban_lines(server, ip)) == 1
        # Banned at its eleventh message (one per connection).
        assert churn.answered <= MEM_BURST + 2 * MEM_RATE, churn
        assert len(ban_lines(server, CHURNER)) == 1
        # Each cycled address is banned on its first visit and stays banned while it
        # keeps coming back faster than its rate.
        assert len(banned) >= CYCLED_ADDRESSES * 0.9, len(banned)
        # A neighbour under its limit always gets an answer: 200, or 503 while the
        # server is behind (overload control: the cycler's first pass admits 100 000
        # datagrams in a second or two, and the flood's senders share the two cores).
        # The kernel may drop some of its datagrams from a receive queue shared with
        # the flood: it retransmits.
        assert neighbour.answered == neighbour.sent, neighbour
        assert neighbour.ok >= neighbour.sent // 2, neighbour

        # Afterwards the server answers normally, over UDP and TCP.
        latecomer = UdpProbe(LATECOMER, target)
        assert latecomer.ask(3.0)
        latecomer.close()
        assert tcp_options(LATECOMER, target) == 200
