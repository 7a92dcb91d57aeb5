#!/usr/bin/env python3
"""Where a relay round's time goes, hop by hop, from a system-call trace of the load generator, the server and the
webhook backend (recorded by relay_hops.sh, which says how).

A round of the relay scenario: the client writes an event with an ack, the server reads it and writes the `event`
webhook to the backend, the backend reads it and writes its reply, the server reads the reply and writes the ack to
the client (over polling: as a poll response, on the client's other connection), the client reads it. Each round is
rebuilt from the trace by following its bytes from socket to socket: every connection's two ends are paired through
the socket inodes in /proc/PID/fd and /proc/net/tcp, so a write on one end is matched with the first read at the
other end that ends after it. Reported, per hop, percentiles over the rounds and the mean of the slowest 5% of
rounds (by total) against the middle 20%:

- client -> server: from the client's write entering the kernel to the server's read of it returning;
- server: event to webhook: from that read returning to the server's webhook write entering the kernel;
- server -> backend, backend: webhook to reply, backend -> server: the same for the backend's side;
- server: reply to ack: from the reply's read returning to the ack's write entering the kernel;
- server -> client: from that write entering the kernel to the client's read of it returning;
- total, the server's own work (its two hops added up) and the total less it: what the same round would take if
  the server's own work cost nothing and nothing else changed.

The hops named "->" hold the loopback transfer and the wake-up of the reading thread (its scheduling on a core);
the others are the named process's own work, including any time it was preempted. Tracing adds a few microseconds
to every system call it records, so totals read higher than the load generator's own figures.

Usage: relay_hops.py DIR          (DIR holds trace.txt, roles, fds and tcp, as relay_hops.sh writes them)
       relay_hops.py --self-test
"""

import bisect
import collections
import os
import re
import sys

SENDS = {"sendto", "sendmsg", "write", "writev"}
RECEIVES = {"recvfrom", "recvmsg", "read", "readv"}
LINE = re.compile(r"^\s*(\S+)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$")
FD = re.compile(r"\bfd: 0x([0-9a-f]+)")
HOPS = [
    ("client -> server", "sent", "event_read"),
    ("server: event to webhook", "event_read", "hook_written"),
    ("server -> backend", "hook_written", "hook_read"),
    ("backend: webhook to reply", "hook_read", "reply_written"),
    ("backend -> server", "reply_written", "reply_read"),
    ("server: reply to ack", "reply_read", "ack_written"),
    ("server -> client", "ack_written", "ack_read"),
]


class Op:
    """One completed send or receive on a socket: who, when it entered and left the kernel, how many bytes."""

    __slots__ = ("enter", "exit", "tid", "fd", "send", "bytes")

    def __init__(self, enter, exit_, tid, fd, send, nbytes):
        self.enter, self.exit, self.tid, self.fd, self.send, self.bytes = enter, exit_, tid, fd, send, nbytes


class Actors:
    """Which of the three roles (server, backend, loadgen) a thread plays. A role is a process (`PID`), the threads of
    a process with one name (`PID/NAME`), or the threads of a process that no other role names (`PID/-`): the
    floor runs its client, middle and backend as threads of one process."""

    def __init__(self, roles):
        self.whole, self.named, self.rest = {}, {}, {}
        for role in ("server", "backend", "loadgen"):
            pid, _, name = roles[role].partition("/")
            if not name:
                self.whole[pid] = role
            elif name == "-":
                self.rest[pid] = role
            else:
                self.named[(pid, name)] = role

    def of(self, pid, comm):
        """The role of a thread of `pid` named `comm`, or None."""
        return self.whole.get(pid) or self.named.get((pid, comm)) or self.rest.get(pid)


def read_ops(lines, actors):
    """The sends and receives of the three roles with at least one byte, per role, ordered by entry (times in µs),
    and the process of each role."""
    ops = collections.defaultdict(list)
    pid_of = {}
    entered = {}
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        comm, pid, tid, _cpu, when, event, args = m.groups()
        role = actors.of(pid, comm)
        if role is None:
            continue
        pid_of[role] = pid
        when = float(when) * 1e6
        if event.startswith("syscalls:sys_enter_"):
            fd = FD.search(args)
            entered[tid] = (event[len("syscalls:sys_enter_"):], when, int(fd.group(1), 16) if fd else None)
        elif event.startswith("syscalls:sys_exit_"):
            name = event[len("syscalls:sys_exit_"):]
            start = entered.pop(tid, None)
            if start is None or start[0] != name or start[2] is None or name not in SENDS | RECEIVES:
                continue
            ret = int(args.strip(), 16)
            if ret <= 0 or ret >= 1 << 63:
                continue
            ops[role].append(Op(start[1], when, tid, start[2], name in SENDS, ret))
    for role in ops:
        ops[role].sort(key=lambda op: op.enter)
    return ops, pid_of


def socket_peers(fd_lines, tcp_lines):
    """(pid, fd) -> (pid, fd) of the connection's other end, for connections with both ends in the listed pids."""
    inode_of = {}
    for line in fd_lines:
        parts = line.split()
        if len(parts) == 3 and parts[2].startswith("socket:["):
            inode_of[(parts[0], int(parts[1]))] = parts[2][len("socket:["):-1]
    ends = {}
    for line in tcp_lines[1:]:
        parts = line.split()
        if len(parts) > 9:
            ends[parts[9]] = (parts[1], parts[2])
    inode_at = {addresses: inode for inode, addresses in ends.items()}
    holder = {inode: key for key, inode in inode_of.items()}
    peers = {}
    for key, inode in inode_of.items():
        if inode not in ends:
            continue
        local, remote = ends[inode]
        other = holder.get(inode_at.get((remote, local)))
        if other is not None:
            peers[key] = other
    return peers


class Timeline:
    """One process's operations, searchable by time."""

    def __init__(self, ops):
        self.ops = ops
        self.enters = [op.enter for op in ops]

    def first_after(self, when, keep, limit=2000):
        """The first operation entering after `when` for which `keep` holds."""
        start = bisect.bisect_right(self.enters, when)
        for op in self.ops[start:start + limit]:
            if keep(op):
                return op
        return None

    def last_before(self, when, keep, limit=2000):
        """The last operation entering before `when` for which `keep` holds."""
        end = bisect.bisect_left(self.enters, when)
        for op in reversed(self.ops[max(0, end - limit):end]):
            if keep(op):
                return op
        return None


def rounds(traced, peers, ack_elsewhere):
    """Every round found in the trace, as a dict of timestamps (µs) named as HOPS names them. `ack_elsewhere`: the
    ack goes to the client on another connection than the event came on (a long-polling client's GET)."""
    ops, pid_of = traced
    server, backend, client = "server", "backend", "loadgen"
    line = {role: Timeline(ops.get(role, [])) for role in (server, backend, client)}
    owner = {}
    for role, role_ops in ops.items():
        for op in role_ops:
            owner[(pid_of[role], op.fd)] = role

    def peer_pid(role, fd):
        return owner.get(peers.get((pid_of.get(role), fd)))

    def peer_fd(role, fd):
        return peers[(pid_of[role], fd)][1]

    found = []
    for hook in line[server].ops:
        if not hook.send or peer_pid(server, hook.fd) != backend:
            continue
        event = line[server].last_before(
            hook.enter,
            lambda op: not op.send and op.tid == hook.tid and peer_pid(server, op.fd) == client,
        )
        if event is None or hook.enter - event.exit > 5000:
            continue
        client_fd = peer_fd(server, event.fd)
        sent = line[client].last_before(event.exit, lambda op: op.send and op.fd == client_fd)
        backend_fd = peer_fd(server, hook.fd)
        hook_read = line[backend].first_after(
            hook.enter - 1, lambda op: not op.send and op.fd == backend_fd and op.exit > hook.enter
        )
        if sent is None or hook_read is None:
            continue
        reply = line[backend].first_after(hook_read.enter, lambda op: op.send and op.fd == backend_fd)
        if reply is None:
            continue
        reply_read = line[server].first_after(
            reply.enter - 1, lambda op: not op.send and op.fd == hook.fd and op.exit > reply.enter
        )
        if reply_read is None:
            continue

        def is_ack(op):
            if not op.send or op.enter < reply_read.exit or peer_pid(server, op.fd) != client:
                return False
            return (op.fd != event.fd) if ack_elsewhere else (op.fd == event.fd)

        ack = line[server].first_after(reply_read.exit, is_ack)
        if ack is None:
            continue
        ack_fd = peer_fd(server, ack.fd)
        ack_read = line[client].first_after(
            ack.enter - 1, lambda op: not op.send and op.fd == ack_fd and op.exit > ack.enter
        )
        if ack_read is None:
            continue
        found.append(
            {
                "sent": sent.enter,
                "event_read": event.exit,
                "hook_written": hook.enter,
                "hook_read": hook_read.exit,
                "reply_written": reply.enter,
                "reply_read": reply_read.exit,
                "ack_written": ack.enter,
                "ack_read": ack_read.exit,
                "event_fd": event.fd,
                "ack_fd": ack.fd,
            }
        )
    if ack_elsewhere:
        found = keep_usual_long_polls(found)
    return found


def keep_usual_long_polls(found):
    """Over polling, a poll response written right after a reply may be another round's when rounds overlap: keep
    the rounds whose ack went to the connection that most often carries the acks of events from that connection."""
    usual = collections.defaultdict(collections.Counter)
    for r in found:
        usual[r["event_fd"]][r["ack_fd"]] += 1
    return [r for r in found if usual[r["event_fd"]].most_common(1)[0][0] == r["ack_fd"]]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def table(found):
    """The hop table, as markdown lines."""
    spans = [(name, [r[end] - r[start] for r in found]) for name, start, end in HOPS]
    totals = [r["ack_read"] - r["sent"] for r in found]
    own = [sum(r[end] - r[start] for name, start, end in HOPS if name.startswith("server:")) for r in found]
    without_own = [total - mine for total, mine in zip(totals, own)]
    order = sorted(range(len(found)), key=lambda i: totals[i])
    middle = order[int(len(order) * 0.4):int(len(order) * 0.6)] or order
    slowest = order[int(len(order) * 0.95):] or order
    rows = [
        "| hop (µs) | p10 | p50 | p90 | p99 | mean, middle 20% of rounds | mean, slowest 5% of rounds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    extra = [("total", totals), ("the server's own work (its two hops)", own), ("total less the server's own work", without_own)]
    for name, values in spans + extra:
        cells = [f"{percentile(values, p):.0f}" for p in (10, 50, 90, 99)]
        cells += [f"{sum(values[i] for i in chosen) / len(chosen):.0f}" for chosen in (middle, slowest)]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def analyse(directory):
    def lines(name):
        with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as f:
            return f.readlines()

    roles = dict(part.split("=", 1) for part in " ".join(lines("roles")).split())
    traced = read_ops(lines("trace.txt"), Actors(roles))
    found = rounds(traced, socket_peers(lines("fds"), lines("tcp")), roles["ack"] == "elsewhere")
    if not found:
        sys.exit("relay_hops: no complete round found in the trace")
    print(f"{len(found)} rounds of {roles['transport']} relay traced ({roles.get('kind', 'server')})")
    print("\n".join(table(found)))


def synthetic_rounds(processes, ack_fd):
    """Two rounds with known hop times, traced as if the server (threads 101, 102), backend (201) and load generator
    (301, 302) ran as `processes` says ({role: (pid, thread name)}), the ack written to the server's `ack_fd`
    (10: the event's connection; 11: the client's other one), and the rounds found in it."""
    # Connections: client fd 7 <-> server 10, client fd 8 <-> server 11, server 12 <-> backend 20.
    fds = [f"{processes[role][0]} {fd} socket:[{inode}]" for role, fd, inode in (
        ("loadgen", 7, 1), ("server", 10, 2), ("loadgen", 8, 3), ("server", 11, 4), ("server", 12, 5),
        ("backend", 20, 6))]
    tcp = ["header"] + [f"0: {local} {remote} 01 0:0 0:0 0 0 0 {inode}" for inode, local, remote in (
        (1, "A", "B"), (2, "B", "A"), (3, "C", "D"), (4, "D", "C"), (5, "E", "F"), (6, "F", "E"))]
    trace = []

    def call(role, tid, name, fd, enter, exit_, nbytes):
        pid, comm = processes[role]
        for event, when, value in ((f"sys_enter_{name}", enter, f"fd: 0x{fd:x}, len: 1"),
                                   (f"sys_exit_{name}", exit_, f"0x{nbytes:x}")):
            trace.append(f" {comm} {pid}/{tid} [000] {when / 1e6:.6f}: syscalls:{event}: {value}")

    client_ack_fd = {10: 7, 11: 8}[ack_fd]
    for base in (1000.0, 5000.0):
        call("loadgen", 301, "sendto", 7, base, base + 2, 218)
        call("server", 101, "recvfrom", 10, base + 30, base + 40, 218)
        call("server", 101, "writev", 12, base + 55, base + 60, 432)
        if ack_fd != 10:
            call("server", 101, "sendto", 10, base + 62, base + 64, 150)
        call("backend", 201, "recvfrom", 20, base + 80, base + 90, 432)
        call("backend", 201, "sendto", 20, base + 96, base + 99, 125)
        call("server", 102, "recvfrom", 12, base + 140, base + 150, 125)
        call("server", 102, "sendto", ack_fd, base + 161, base + 165, 215)
        call("loadgen", 302, "recvfrom", client_ack_fd, base + 200, base + 230, 215)
    trace.sort(key=lambda line: float(line.split()[3].rstrip(":")))
    roles = {role: pid if comm == "x" else f"{pid}/{comm}" for role, (pid, comm) in processes.items()}
    return rounds(read_ops(trace, Actors(roles)), socket_peers(fds, tcp), ack_elsewhere=ack_fd != 10)


def self_test():
    """Synthetic traces with known hop times must come back exactly: three processes with the ack on the client's
    other connection (polling), and one process whose threads play the roles with the ack on the event's
    connection (the floor)."""
    expected = [40 - 0, 55 - 40, 90 - 55, 96 - 90, 150 - 96, 161 - 150, 230 - 161]
    processes = {"server": ("100", "x"), "backend": ("200", "x"), "loadgen": ("300", "x")}
    threads = {"server": ("100", "floor-middle"), "backend": ("100", "floor-backend"), "loadgen": ("100", "-")}
    for shape, ack_fd in ((processes, 11), (threads, 10)):
        found = synthetic_rounds(shape, ack_fd)
        assert len(found) == 2, found
        for r in found:
            got = [r[end] - r[start] for _name, start, end in HOPS]
            assert [round(v) for v in got] == expected, (got, expected)
        assert table(found)[-3].startswith("| total | 230 | 230 |"), table(found)[-3]
        assert table(found)[-1].startswith("| total less the server's own work | 204 | 204 |"), table(found)[-1]
    print("relay_hops self-test: ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    elif len(sys.argv) == 2:
        analyse(sys.argv[1])
    else:
        sys.exit(__doc__)
