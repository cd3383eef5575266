#!/usr/bin/env python3
"""A lossy UDP proxy for SMP tests and benchmarks: client <-> proxy <-> target.

Every datagram, in either direction, is independently
  * dropped with probability --loss,
  * otherwise delayed by --delay-ms (one way: the round trip gains twice that),
  * duplicated with probability --dup (the copy arrives a little later: a late duplicate),
  * reordered with probability --reorder (held back --reorder-ms more, so that the
    datagrams after it overtake it).
Decisions come from one random.Random(--seed): a run is repeatable as far as the timing of
the endpoints allows.

Each client address gets its own upstream socket (as a NAT would), so that answers go back to
the client that asked even when several share the proxy. Upstream sockets are not connected:
an ICMP "port unreachable" while the target restarts does not break them.

Command line (prints "udp_proxy: listening on HOST:PORT" once ready, stats on exit):

    python tests/udp_proxy.py --listen 127.0.0.1:0 --target 127.0.0.1:1337 \\
        --delay-ms 2.5 --loss 0.1 --dup 0.05 --reorder 0.05 --seed 1

Importable:

    with UdpProxy(("127.0.0.1", 0), ("127.0.0.1", port), delay_ms=2.5, loss=0.1,
                  drop_if=lambda d, way: way == "down" and d[:1] == b"\x0b") as p:
        run_client(f"udp:127.0.0.1:{p.port}")
        print(p.stats)
"""
from __future__ import annotations

import argparse
import heapq
import itertools
import random
import select
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable


def parse_addr(text: str) -> tuple[str, int]:
    """"HOST:PORT" or "[V6]:PORT" -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


@dataclass
class Stats:
    """Datagrams seen and what was done to them, per direction ("up": to the target)."""
    received: dict = field(default_factory=lambda: {"up": 0, "down": 0})
    dropped: dict = field(default_factory=lambda: {"up": 0, "down": 0})
    duplicated: dict = field(default_factory=lambda: {"up": 0, "down": 0})
    reordered: dict = field(default_factory=lambda: {"up": 0, "down": 0})
    sent: dict = field(default_factory=lambda: {"up": 0, "down": 0})

    def __str__(self) -> str:
        return " ".join(f"{k}={v['up']}/{v['down']}" for k, v in vars(self).items()) + \
            " (up/down)"


class UdpProxy:
    def __init__(self, listen: tuple[str, int], target: tuple[str, int], *,
                 delay_ms: float = 0.0, loss: float = 0.0, dup: float = 0.0,
                 reorder: float = 0.0, reorder_ms: float | None = None,
                 seed: int | None = None,
                 drop_if: Callable[[bytes, str], bool] | None = None):
        for name, p in (("loss", loss), ("dup", dup), ("reorder", reorder)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability, got {p}")
        if delay_ms < 0:
            raise ValueError("delay_ms must be >= 0")
        self.target = target
        self.delay = delay_ms / 1000.0
        self.loss, self.dup, self.reorder = loss, dup, reorder
        # Held back long enough for the next datagrams of a window to overtake it.
        self.reorder_extra = (reorder_ms if reorder_ms is not None
                              else max(2 * delay_ms, 1.0)) / 1000.0
        self.rng = random.Random(seed)
        # A targeted loss on top of the random ones: drop_if(datagram, "up" | "down") -> True
        # drops it (the answer to one particular request, say).
        self.drop_if = drop_if
        self.stats = Stats()
        family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(listen)
        self.addr = self.sock.getsockname()[:2]
        self.port = self.addr[1]
        self._upstream: dict[tuple, socket.socket] = {}   # client address -> socket
        self._client_of: dict[socket.socket, tuple] = {}
        self._queue: list = []                            # (due, n, sock, data, dest, dir)
        self._n = itertools.count()
        self._stop_r, self._stop_w = socket.socketpair()
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "UdpProxy":
        self._thread = threading.Thread(target=self.serve, name="udp_proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        try:
            self._stop_w.send(b"x")
        except OSError:
            pass
        if self._thread:
            self._thread.join(5)
            self._thread = None
        for s in [self.sock, *self._upstream.values(), self._stop_r, self._stop_w]:
            s.close()
        self._upstream.clear()

    def __enter__(self) -> "UdpProxy":
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- the loop ----------------------------------------------------------------------------

    def _schedule(self, data: bytes, sock: socket.socket, dest: tuple, direction: str):
        st = self.stats
        st.received[direction] += 1
        if self.rng.random() < self.loss or (self.drop_if and self.drop_if(data, direction)):
            st.dropped[direction] += 1
            return
        now = time.monotonic()
        due = now + self.delay
        if self.rng.random() < self.reorder:
            st.reordered[direction] += 1
            due += self.reorder_extra
        heapq.heappush(self._queue, (due, next(self._n), sock, data, dest, direction))
        if self.rng.random() < self.dup:
            st.duplicated[direction] += 1
            late = due + self.rng.uniform(0.0005, self.reorder_extra + 0.002)
            heapq.heappush(self._queue, (late, next(self._n), sock, data, dest, direction))

    def _upstream_for(self, client: tuple) -> socket.socket:
        s = self._upstream.get(client)
        if s is None:
            family = socket.AF_INET6 if ":" in self.target[0] else socket.AF_INET
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            self._upstream[client] = s
            self._client_of[s] = client
        return s

    def serve(self):
        while True:
            now = time.monotonic()
            while self._queue and self._queue[0][0] <= now:
                _, _, sock, data, dest, direction = heapq.heappop(self._queue)
                try:
                    sock.sendto(data, dest)
                    self.stats.sent[direction] += 1
                except OSError:
                    pass  # target down, client gone: a loss like any other
            timeout = max(0.0, self._queue[0][0] - now) if self._queue else 0.5
            # select() takes microseconds; epoll would round a 2.5 ms delay up to 3 ms.
            ready, _, _ = select.select([self.sock, self._stop_r, *self._upstream.values()],
                                        [], [], timeout)
            if self._stop_r in ready:
                return
            for s in ready:
                try:
                    data, src = s.recvfrom(65536)
                except OSError:
                    continue  # ICMP error reported on this socket
                if s is self.sock:
                    self._schedule(data, self._upstream_for(src), self.target, "up")
                else:
                    self._schedule(data, self.sock, self._client_of[s], "down")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", required=True, help="HOST:PORT to listen on (port 0: any)")
    ap.add_argument("--target", required=True, help="HOST:PORT of the SMP server")
    ap.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay (RTT = 2x)")
    ap.add_argument("--loss", type=float, default=0.0, help="drop probability per datagram")
    ap.add_argument("--dup", type=float, default=0.0, help="duplication probability")
    ap.add_argument("--reorder", type=float, default=0.0, help="reordering probability")
    ap.add_argument("--reorder-ms", type=float, default=None,
                    help="extra delay of a reordered datagram (default max(2*delay, 1))")
    ap.add_argument("--seed", type=int, default=None, help="random seed (repeatable runs)")
    a = ap.parse_args(argv)
    try:
        proxy = UdpProxy(parse_addr(a.listen), parse_addr(a.target), delay_ms=a.delay_ms,
                         loss=a.loss, dup=a.dup, reorder=a.reorder, reorder_ms=a.reorder_ms,
                         seed=a.seed)
    except (ValueError, OSError) as e:
        print(f"udp_proxy: {e}", file=sys.stderr)
        return 2
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    proxy.start()
    host, port = proxy.addr
    shown = f"[{host}]" if ":" in host else host
    print(f"udp_proxy: listening on {shown}:{port}", flush=True)
    done.wait()
    proxy.stop()
    print(f"udp_proxy: {proxy.stats}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
