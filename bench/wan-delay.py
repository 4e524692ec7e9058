#!/usr/bin/env python3
"""A WAN in user space for the bench (bench/wan.ts starts it; this kernel has no netem).

Opens two TUN devices (argv: NAME_A NAME_B ONE_WAY_MS) in the current network namespace
and forwards every IP packet read from one to the other after ONE_WAY_MS milliseconds, in
both directions. wan.ts then moves each device into a namespace of its own and gives the
two ends addresses of one point-to-point link, so real TCP between the namespaces sees a
round trip of 2 x ONE_WAY_MS. Nothing else is emulated: no loss, no reordering, no
bandwidth cap, no queue limit. Prints "ready" once both devices exist; a line on stdin sets
a new one-way delay in milliseconds; exits on SIGTERM or when stdin closes.
"""
import collections
import fcntl
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_PACKET = 65536


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    name_a, name_b, one_way_ms = sys.argv[1], sys.argv[2], float(sys.argv[3])
    delay = one_way_ms / 1000.0
    fd_a, fd_b = open_tun(name_a), open_tun(name_b)
    peer = {fd_a: fd_b, fd_b: fd_a}
    # One FIFO per direction: every packet waits the same time, so order is kept.
    queues = {fd_a: collections.deque(), fd_b: collections.deque()}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - now) if due else 1.0
        readable, _, _ = select.select([fd_a, fd_b, 0], [], [], timeout)
        now = time.monotonic()
        if 0 in readable:
            line = os.read(0, 4096)
            if not line:
                return
            delay = float(line.split()[-1]) / 1000.0
            print("delay", delay * 1000.0, flush=True)
            readable.remove(0)
        for fd in readable:
            q = queues[fd]
            while True:
                try:
                    packet = os.read(fd, MAX_PACKET)
                except BlockingIOError:
                    break
                q.append((now + delay, packet))
        now = time.monotonic()
        for fd, q in queues.items():
            out = peer[fd]
            while q and q[0][0] <= now:
                try:
                    os.write(out, q.popleft()[1])
                except (BlockingIOError, OSError):
                    pass  # the receiving side's queue is full: the packet is lost, as on a real link


if __name__ == "__main__":
    main()
