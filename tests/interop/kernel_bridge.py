#!/usr/bin/env python3
"""Bridge between tests/interop/kernel_tcp_test.ts and the real Linux TCP stack.

Run as root inside a fresh network namespace, standard library only:

    unshare -n python3 kernel_bridge.py --tou-ports 20001,20002

Topology (both namespaces die with their processes; the host network is never touched):

    namespace "tou" (this process)             namespace "kernel" (child: unshare -n ... --kernel-side)
    tou0 192.0.2.2/24  <----- veth pair ----->  kern0 192.0.2.1/24
    raw socket: relays TCP segments             kernel TCP sockets (servers, clients)
    to/from the test over stdin/stdout

Why a veth pair and not 127.0.0.1: on `lo` the kernel offloads TCP checksums (CHECKSUM_PARTIAL:
the field holds only the pseudo-header sum) and sends TSO super-segments, and `lo` refuses to turn
either off (ETHTOOL_STXCSUM: EOPNOTSUPP). On `kern0` checksum offload (and with it TSO) is turned
off, so every segment the kernel sends carries a checksum it computed in software and at most one
MSS of payload, as on a NIC without offload. The kernel verifies the checksum of every segment it
receives on either path.

The tou namespace's own kernel has no socket on the tou ports, so it would answer every kernel
segment to them with a RST. A classic-BPF tc filter on tou0 egress (clsact, direct action) drops
RSTs whose source port is a tou port; it is checked at start-up (SYNs from the kernel side to a tou
port must not be refused, a SYN to another port must be).

Protocol, one line each.
stdin (from the test):
    S <hex>      send a TCP segment (its checksum already for 192.0.2.2 -> 192.0.2.1)
    K <json>     a command for the kernel side:
                 {"op": "serve", "port": P}    accept one connection on 192.0.2.1:P, read to EOF,
                                               write everything back, shut down writing, wait for
                                               CLOSE, report "served"
                 {"op": "connect", "port": P, "bytes": N, "offer": {...}}
                                               connect to 192.0.2.2:P (the SYN optionally offering
                                               ECN, Fast Open, MPTCP), send N bytes (in parallel
                                               read the echo to EOF), shut down writing, report
                                               "echoed"
                 {"op": "stats"}               report the namespace's Tcp and TcpExt counters
stdout (to the test):
    READY <json> set-up done
    R <hex>      a TCP segment 192.0.2.1 -> 192.0.2.2:<tou port>, IPv4 header removed
    K <json>     a report of the kernel side ({"event": ...})
    E <text>     a fatal error (the bridge exits)
Exit status 77 with a "SKIP: <reason>" line on stderr: this machine cannot run the test.
"""

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import random
import select
import socket
import struct
import subprocess
import sys
import threading
import time

TOU_ADDR = "192.0.2.2"
KERNEL_ADDR = "192.0.2.1"
TOU_DEV = "tou0"
KERNEL_DEV = "kern0"
SKIP = 77

SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM = 0x16
ETHTOOL_STXCSUM = 0x17
ETHTOOL_GTSO = 0x1E
PR_SET_PDEATHSIG = 1
SO_RCVBUFFORCE = 33  # not exported by the socket module
TCP_INFO = 11
TCP_FASTOPEN_CONNECT = 30
IPPROTO_MPTCP = 262
TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
    6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}


class Skip(Exception):
    """This machine lacks something the test needs (not a bug of the bridge)."""


def run(*args):
    try:
        subprocess.run(args, check=True, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise Skip(f"{args[0]} not found") from e
    except subprocess.CalledProcessError as e:
        raise Skip(f"`{' '.join(args)}` failed: {e.stderr.strip()}") from e


def wait_link_up(dev, timeout=3.0):
    """Waits until `dev` is operationally up with its qdisc attached (linkwatch runs late;
    until then the noop qdisc drops everything)."""
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(["ip", "-o", "link", "show", "dev", dev], capture_output=True,
                             text=True).stdout
        if "state UP" in out and "qdisc noop" not in out:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{dev} not up after {timeout} s: {out.strip()}")
        time.sleep(0.01)


def ethtool(dev, cmd, data=0):
    """One legacy ethtool ioctl (struct ethtool_value); returns its data field."""
    value = ctypes.create_string_buffer(struct.pack("II", cmd, data), 8)
    ifreq = struct.pack("16sP", dev.encode(), ctypes.addressof(value)).ljust(40, b"\0")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifreq)
    finally:
        s.close()
    return struct.unpack("II", value.raw)[1]


# ---- kernel side (namespace "kernel") ------------------------------------------------------


def tcp_info(sock):
    """The leading fields of Linux struct tcp_info (include/uapi/linux/tcp.h)."""
    b = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 232)
    u8 = struct.unpack_from("8B", b, 0)
    u32 = struct.unpack_from("24I", b, 8)
    u64 = struct.unpack_from("4Q", b, 104)
    return {
        "state": TCP_STATES.get(u8[0], str(u8[0])),
        "options": u8[5],  # TCPI_OPT_TIMESTAMPS 1, _SACK 2, _WSCALE 4, _ECN 8
        "sndWscale": u8[6] & 0x0F,
        "rcvWscale": u8[6] >> 4,
        "rto": u32[0],
        "sndMss": u32[2],
        "rcvMss": u32[3],
        "pmtu": u32[13],
        "advmss": u32[19],
        "totalRetrans": u32[23],
        "bytesAcked": u64[2],
        "bytesReceived": u64[3],
        "segsOut": struct.unpack_from("I", b, 136)[0],
        "segsIn": struct.unpack_from("I", b, 140)[0],
    }


def counters():
    """Tcp (/proc/net/snmp) and TcpExt (/proc/net/netstat) of this namespace."""
    out = {}
    for path, prefix in (("/proc/net/snmp", "Tcp:"), ("/proc/net/netstat", "TcpExt:")):
        with open(path) as f:
            rows = [line.split() for line in f if line.startswith(prefix)]
        out[prefix[:-1]] = dict(zip(rows[0][1:], map(int, rows[1][1:])))
    return out


def time_wait_entries(remote_port):
    """(local port, remote port) of TIME_WAIT sockets (state 06) in /proc/net/tcp."""
    found = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if state == "06" and int(remote.split(":")[1], 16) == remote_port:
                found.append([int(local.split(":")[1], 16), remote_port])
    return found


class KernelSide:
    def __init__(self):
        self.lock = threading.Lock()

    def report(self, obj):
        with self.lock:
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()

    def guarded(self, fn, *args):
        def body():
            try:
                fn(*args)
            except Exception as e:  # reported, the test fails with it
                self.report({"event": "error", "detail": f"{fn.__name__}: {e!r}"})

        threading.Thread(target=body, daemon=True).start()

    def setup(self):
        run("ip", "link", "set", "lo", "up")
        run("ip", "addr", "add", f"{KERNEL_ADDR}/24", "dev", KERNEL_DEV)
        run("ip", "link", "set", KERNEL_DEV, "up")
        try:
            ethtool(KERNEL_DEV, ETHTOOL_STXCSUM, 0)
        except OSError as e:
            raise Skip(f"cannot turn off checksum offload on veth: {e}") from e
        if ethtool(KERNEL_DEV, ETHTOOL_GTXCSUM) or ethtool(KERNEL_DEV, ETHTOOL_GTSO):
            raise Skip("checksum offload or TSO still on after ETHTOOL_STXCSUM 0")
        wait_link_up(KERNEL_DEV)

    def probe_rst(self, blocked, control):
        """Nonblocking connects: refused promptly unless the tou side's RSTs are dropped."""
        result = {}
        socks = {}
        for port in [*blocked, control]:
            s = socket.socket()
            s.setblocking(False)
            s.bind((KERNEL_ADDR, 0))
            try:
                s.connect((TOU_ADDR, port))
            except BlockingIOError:
                pass
            socks[port] = s
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and control not in result:
            err = socks[control].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                result[control] = errno.errorcode.get(err, str(err))
            time.sleep(0.005)
        time.sleep(0.05)  # a RST to a blocked port would have been as fast as the control's
        for port in blocked:
            err = socks[port].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            result[port] = errno.errorcode.get(err, str(err)) if err else "pending"
        for s in socks.values():
            s.close()  # in SYN_SENT: closes silently, no RST, no SYN retransmission later
        self.report({"event": "rst-probe", "result": {str(k): v for k, v in result.items()}})

    def serve(self, port):
        lst = socket.socket()
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind((KERNEL_ADDR, port))
        lst.listen(1)
        self.report({"event": "listening", "port": port})
        lst.settimeout(20)
        conn, peer = lst.accept()
        lst.close()
        established = tcp_info(conn)
        chunks = []
        while True:
            b = conn.recv(1 << 16)
            if not b:
                break
            chunks.append(b)
        data = b"".join(chunks)
        self.report({"event": "eof", "received": len(data)})
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 20
        info = tcp_info(conn)
        while info["state"] != "CLOSE" and time.monotonic() < deadline:
            time.sleep(0.005)
            info = tcp_info(conn)
        conn.close()
        self.report({
            "event": "served", "peer": list(peer), "received": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "established": established, "end": info,
        })

    def connect(self, port, n, offer):
        """`offer` asks the SYN to offer more than tou speaks: "ecn" (ECE|CWR, RFC 3168),
        "fastopen" (a TFO cookie request, option 34) and "mptcp" (MP_CAPABLE, option 30).
        The report's "offered" says what was applied (MPTCP needs CONFIG_MPTCP)."""
        data = random.Random(port).randbytes(n)
        offered = {}
        if offer.get("ecn"):
            with open("/proc/sys/net/ipv4/tcp_ecn", "w") as f:  # this namespace only
                f.write("1")
            offered["ecn"] = True
        s = None
        if offer.get("mptcp"):
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
                offered["mptcp"] = True
            except OSError:
                offered["mptcp"] = False
        if s is None:
            s = socket.socket()
        if offer.get("fastopen"):
            s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
            offered["fastopen"] = True
        s.bind((KERNEL_ADDR, 0))
        s.settimeout(20)
        s.connect((TOU_ADDR, port))
        established = tcp_info(s)
        local_port = s.getsockname()[1]

        def send():
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        chunks = []
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            chunks.append(b)
        sender.join()
        echo = b"".join(chunks)
        # The FIN arrived while this socket is still open: the kernel moved the connection to a
        # TIME_WAIT mini-socket and this one to CLOSE (tcp_time_wait).
        deadline = time.monotonic() + 5
        tw = time_wait_entries(port)
        while not tw and time.monotonic() < deadline:
            time.sleep(0.005)
            tw = time_wait_entries(port)
        end = tcp_info(s)
        s.close()
        self.report({
            "event": "echoed", "offered": offered, "localPort": local_port, "sent": n,
            "sha256": hashlib.sha256(data).hexdigest(), "echoed": len(echo),
            "echoSha256": hashlib.sha256(echo).hexdigest(), "established": established,
            "end": end, "timeWait": tw,
        })

    def main(self):
        # Tell the parent that this process now lives in its own namespace.
        self.report({"event": "started"})
        for line in sys.stdin:
            cmd = json.loads(line)
            op = cmd["op"]
            try:
                if op == "setup":
                    self.setup()
                    self.report({"event": "ready"})
                elif op == "probe-rst":
                    self.probe_rst(cmd["blocked"], cmd["control"])
                elif op == "serve":
                    self.guarded(self.serve, cmd["port"])
                elif op == "connect":
                    self.guarded(self.connect, cmd["port"], cmd["bytes"], cmd.get("offer", {}))
                elif op == "stats":
                    self.report({"event": "stats", **counters()})
                else:
                    self.report({"event": "error", "detail": f"unknown op {op!r}"})
            except Skip as e:
                self.report({"event": "skip", "detail": str(e)})
            except Exception as e:
                self.report({"event": "error", "detail": f"{op}: {e!r}"})
        # stdin closed: the bridge is gone
        os._exit(0)


# ---- tou side (namespace "tou") ------------------------------------------------------------


def rst_filter(ports):
    """tc cBPF bytecode (direct action): TC_ACT_SHOT (2) for a TCP RST from one of `ports`.

    Offsets are from the Ethernet header, where skb->data points at tc egress.
    """
    prog = [
        ("ldh", 12), ("jeq", 0x0800, None, "pass"),  # EtherType IPv4
        ("ldb", 14 + 9), ("jeq", 6, None, "pass"),  # protocol TCP
        ("ldxmsh", 14),  # X = IPv4 header length
        ("ldbx", 14 + 13), ("jset", 0x04, None, "pass"),  # RST flag
        ("ldhx", 14 + 0),  # source port
    ]
    prog += [("jeq", p, "drop", None) for p in ports]
    prog += [("ret", 0, "pass"), ("ret", 2, "drop")]
    labels = {ins[2]: i for i, ins in enumerate(prog) if ins[0] == "ret"}
    codes = {"ldh": 0x28, "ldb": 0x30, "ldxmsh": 0xB1, "ldbx": 0x50, "ldhx": 0x48,
             "jeq": 0x15, "jset": 0x45, "ret": 0x06}
    out = []
    for i, ins in enumerate(prog):
        op, k = ins[0], ins[1]
        jt = jf = 0
        if op in ("jeq", "jset"):
            jt = labels[ins[2]] - i - 1 if ins[2] else 0
            jf = labels[ins[3]] - i - 1 if ins[3] else 0
        out.append(f"{codes[op]} {jt} {jf} {k}")
    return f"{len(out)}," + ",".join(out)


class Bridge:
    def __init__(self, tou_ports):
        self.tou_ports = set(tou_ports)
        self.out_lock = threading.Lock()
        self.child = None
        self.child_lines = []  # kernel-side lines read before READY

    def emit(self, line):
        with self.out_lock:
            sys.stdout.buffer.write(line.encode() + b"\n")
            sys.stdout.buffer.flush()

    def child_send(self, obj):
        self.child.stdin.write((json.dumps(obj) + "\n").encode())
        self.child.stdin.flush()

    def child_wait(self, event, timeout=10):
        """Reads kernel-side reports until `event` (set-up only, before the forwarder runs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.child.stdout], [], [], deadline - time.monotonic())
            if not r:
                break
            line = self.child.stdout.readline()
            if not line:
                raise RuntimeError("kernel side exited during set-up")
            msg = json.loads(line)
            if msg["event"] == "skip":
                raise Skip(msg["detail"])
            if msg["event"] == "error":
                raise RuntimeError(msg["detail"])
            if msg["event"] == event:
                return msg
        raise RuntimeError(f"kernel side: no {event!r} within {timeout} s")

    def setup(self):
        run("ip", "link", "set", "lo", "up")
        self.child = subprocess.Popen(
            ["unshare", "-n", sys.executable, os.path.abspath(__file__), "--kernel-side"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
            preexec_fn=lambda: ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, 9),
        )
        self.child_wait("started")
        run("ip", "link", "add", TOU_DEV, "type", "veth", "peer", "name", KERNEL_DEV,
            "netns", str(self.child.pid))
        run("ip", "addr", "add", f"{TOU_ADDR}/24", "dev", TOU_DEV)
        run("ip", "link", "set", TOU_DEV, "up")
        run("tc", "qdisc", "add", "dev", TOU_DEV, "clsact")
        run("tc", "filter", "add", "dev", TOU_DEV, "egress", "bpf", "da", "bytecode",
            rst_filter(sorted(self.tou_ports)))
        self.child_send({"op": "setup"})
        self.child_wait("ready")
        wait_link_up(TOU_DEV)
        control = 20999
        self.child_send({"op": "probe-rst", "blocked": sorted(self.tou_ports), "control": control})
        probe = self.child_wait("rst-probe")["result"]
        if probe.get(str(control)) != "ECONNREFUSED":
            raise RuntimeError(f"RST probe: a SYN to port {control} was not refused: {probe}")
        for p in self.tou_ports:
            if probe.get(str(p)) != "pending":
                raise Skip(f"the tc RST filter does not hold back RSTs from port {p}: {probe}")
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.raw.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        return probe

    def relay_kernel_segments(self):
        tou, kernel = socket.inet_aton(TOU_ADDR), socket.inet_aton(KERNEL_ADDR)
        while True:
            pkt = self.raw.recv(1 << 17)
            if pkt[12:16] != kernel or pkt[16:20] != tou:
                continue
            ihl = (pkt[0] & 0x0F) * 4
            total = int.from_bytes(pkt[2:4], "big")
            seg = pkt[ihl:total]
            if len(seg) >= 20 and int.from_bytes(seg[2:4], "big") in self.tou_ports:
                self.emit("R " + seg.hex())

    def relay_kernel_reports(self):
        for line in self.child.stdout:
            self.emit("K " + line.decode().rstrip("\n"))
        self.emit("E kernel side exited")
        os._exit(1)

    def main(self):
        probe = self.setup()
        threading.Thread(target=self.relay_kernel_segments, daemon=True).start()
        threading.Thread(target=self.relay_kernel_reports, daemon=True).start()
        self.emit("READY " + json.dumps({
            "tou": TOU_ADDR, "kernel": KERNEL_ADDR, "touPorts": sorted(self.tou_ports),
            "rstProbe": probe, "pid": os.getpid(), "kernelSidePid": self.child.pid,
        }))
        dst = (KERNEL_ADDR, 0)
        for line in sys.stdin.buffer:
            kind, _, body = line.rstrip(b"\n").partition(b" ")
            if kind == b"S":
                self.raw.sendto(bytes.fromhex(body.decode()), dst)
            elif kind == b"K":
                self.child.stdin.write(body + b"\n")
                self.child.stdin.flush()
            else:
                self.emit(f"E unknown command {kind!r}")
        self.child.kill()
        self.child.wait()


def main():
    if "--kernel-side" in sys.argv:
        KernelSide().main()
        return
    ports = [20001]
    if "--tou-ports" in sys.argv:
        ports = [int(p) for p in sys.argv[sys.argv.index("--tou-ports") + 1].split(",")]
    bridge = Bridge(ports)
    try:
        if "--probe" in sys.argv:
            bridge.setup()
            print("PROBE OK", flush=True)
            return
        bridge.main()
    except Skip as e:
        print(f"SKIP: {e}", file=sys.stderr, flush=True)
        sys.exit(SKIP)
    except Exception as e:
        print(f"E {e!r}", flush=True)
        raise
    finally:
        if bridge.child is not None and bridge.child.poll() is None:
            bridge.child.kill()
            bridge.child.wait()


if __name__ == "__main__":
    main()
