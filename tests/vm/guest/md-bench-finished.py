#!/usr/bin/python3
"""md-bench-finished.py WATCH_DRIVER ARRAY MEMBER ROUNDS

Inside the md VM: how long after md's sync_action turns idle does the md
watcher print resync-finished?  Each round fails MEMBER of the in-sync RAID1
ARRAY, removes it, wipes its superblock and adds it back, so md rebuilds it
(sync_action recover; the watcher counts a rebuild as a resync), and times
the end of that rebuild three ways, all on CLOCK_MONOTONIC:

  t_idle   this script's own POLLPRI|POLLERR poll() on sync_action woke and
           read "idle" (the same notification the watcher waits for; the two
           race for the CPU, so this is "idle as sysfs shows it" within a
           scheduling delay)
  t_klog   the kernel's "md: ARRAY: recovery done." log line, its printk
           timestamp moved to CLOCK_MONOTONIC by a marker line written to
           /dev/kmsg just before (md logs this line a little before it
           clears sync_action)
  t_event  the event's "monotonic" field: when the watcher saw the change
  t_line   when this script read the watcher's resync-finished line from
           its stdout pipe ("the watcher printing it")

md cleared sync_action no later than min(t_idle, t_event) (whichever reader
the scheduler ran first) and no earlier than t_klog, so the latency from
sync_action idle to the line lies between t_line - min(t_idle, t_event)
(the figure reported first) and t_line - t_klog.

Prints one line per round and a summary line:
  bench md-resync-finished: rounds N (missed M); sync_action idle ... median X ms (min, max) ...
A round whose resync-finished does not come within 30 s is counted as missed
(the script then fails, after the summary).
"""

import json
import os
import re
import select
import subprocess
import sys
import time


def mono_us():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def read_attr(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode().strip()


def klog_offset_us():
    """printk clock minus CLOCK_MONOTONIC, in us, measured now."""
    tag = "salve-bench-mark-%d" % os.getpid()
    t0 = mono_us()
    with open("/dev/kmsg", "w") as k:
        k.write(tag + "\n")
    t1 = mono_us()
    with open("/dev/kmsg", "rb") as k:
        os.set_blocking(k.fileno(), False)
        best = None
        while True:
            try:
                rec = os.read(k.fileno(), 8192).decode(errors="replace")
            except BlockingIOError:
                break
            except OSError:
                continue
            if tag in rec:
                best = int(rec.split(";", 1)[0].split(",")[2])
    if best is None:
        return None
    return best - (t0 + t1) // 2


def klog_find_us(pattern, after_us):
    """printk timestamp (us) of the first record matching pattern at or after after_us."""
    with open("/dev/kmsg", "rb") as k:
        os.set_blocking(k.fileno(), False)
        while True:
            try:
                rec = os.read(k.fileno(), 8192).decode(errors="replace")
            except BlockingIOError:
                return None
            except OSError:
                continue
            head, _, msg = rec.partition(";")
            ts = int(head.split(",")[2])
            if ts >= after_us and re.search(pattern, msg):
                return ts


def member_in_sync(array, member):
    try:
        with open("/sys/block/%s/md/dev-%s/state" % (array, member)) as f:
            return "in_sync" in f.read().strip().split(",")
    except OSError:
        return False


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    driver, array, member, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    dev = "/dev/" + array
    action_path = "/sys/block/%s/md/sync_action" % array
    w = subprocess.Popen([driver, "md"], stdout=subprocess.PIPE, stderr=sys.stderr)
    buf = b""

    def lines(timeout):
        nonlocal buf
        r, _, _ = select.select([w.stdout], [], [], timeout)
        if not r:
            return []
        chunk = os.read(w.stdout.fileno(), 65536)
        if not chunk:
            raise SystemExit("watch-driver exited")
        t = mono_us()
        buf += chunk
        out = []
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.append((t, json.loads(line)))
        return out

    end = time.monotonic() + 30
    ready = False
    while not ready:
        if time.monotonic() > end:
            raise SystemExit("watch-driver not READY")
        for _, o in lines(1):
            ready = ready or o.get("notice") == "ready"

    results = []
    missed = []
    for i in range(rounds):
        sh("mdadm", dev, "--fail", "/dev/" + member)
        sh("mdadm", dev, "--remove", "/dev/" + member)
        sh("mdadm", "--zero-superblock", "/dev/" + member)
        off = klog_offset_us()
        t_start = mono_us()
        fd = os.open(action_path, os.O_RDONLY)
        p = select.poll()
        p.register(fd, select.POLLPRI | select.POLLERR)
        read_attr(fd)
        sh("mdadm", dev, "--add", "/dev/" + member)
        seen_sync = False
        t_idle = None
        deadline = time.monotonic() + 300
        while t_idle is None:
            if time.monotonic() > deadline:
                raise SystemExit("round %d: sync_action never went idle" % i)
            p.poll(1000)
            v = read_attr(fd)
            if v in ("recover", "resync"):
                seen_sync = True
            elif v == "idle" and (seen_sync or member_in_sync(array, member)):
                # a short rebuild may be over before the first read: the
                # member in sync again says so (the event then came first)
                t_idle = mono_us()
        os.close(fd)
        t_event = t_line = None
        deadline = time.monotonic() + 30
        seen = []
        while t_line is None and time.monotonic() < deadline:
            for t, o in lines(1):
                if o.get("event"):
                    seen.append(o["event"])
                if o.get("event") == "resync-finished" and o.get("name") == array \
                        and o.get("monotonic", 0) >= t_start:
                    t_event, t_line = o["monotonic"], t
        if t_line is None:
            missed.append(i)
            print("round %d: MISSED: no resync-finished from the watcher within 30 s of sync_action "
                  "idle (it printed %s since the round began)" % (i, ", ".join(seen) or "nothing"),
                  flush=True)
            continue
        k = klog_find_us(r"md: %s: recovery done" % re.escape(array), t_start + (off or 0))
        t_klog = k - off if k is not None and off is not None else None
        # md turned sync_action idle no later than the first of the two
        # readers saw it: t_first -> t_line is a lower bound of the
        # latency, t_klog -> t_line an upper bound (md logs before it clears)
        t_first = min(t_idle, t_event)
        r = {"round": i, "idle_to_event_ms": (t_event - t_idle) / 1000,
             "idle_to_line_ms": (t_line - t_idle) / 1000,
             "first_to_line_ms": (t_line - t_first) / 1000,
             "event_to_line_ms": (t_line - t_event) / 1000,
             "klog_to_idle_ms": (t_idle - t_klog) / 1000 if t_klog else None,
             "klog_to_line_ms": (t_line - t_klog) / 1000 if t_klog else None}
        results.append(r)
        print("round %d: idle seen first by the %s; idle -> line read %.1f ms (from the poller's read %.1f ms, "
              "from the watcher's %.1f ms); kernel 'recovery done' -> poller idle %s ms, -> line read %s ms" % (
                  i, "poller" if t_idle <= t_event else "watcher", r["first_to_line_ms"],
                  r["idle_to_line_ms"], r["event_to_line_ms"],
                  "%.1f" % r["klog_to_idle_ms"] if t_klog else "?",
                  "%.1f" % r["klog_to_line_ms"] if t_klog else "?"), flush=True)

    w.terminate()
    w.wait()

    def stat(key):
        v = sorted(r[key] for r in results if r[key] is not None)
        if not v:
            return "n/a"
        return "median %.1f ms (min %.1f, max %.1f)" % (v[len(v) // 2], v[0], v[-1])

    print("bench md-resync-finished: rounds %d (missed %d); sync_action idle (first seen by the poller or the "
          "watcher) -> watcher printed resync-finished: %s [lower bound]; kernel 'recovery done' "
          "log line -> printed: %s [upper bound]; watcher saw it -> printed: %s" % (
              rounds, len(missed), stat("first_to_line_ms"), stat("klog_to_line_ms"),
              stat("event_to_line_ms")), flush=True)
    with open(os.environ.get("VM_JOB", "/tmp") + "/bench-md-resync-finished.json", "w") as f:
        json.dump({"rounds": results, "missed": missed}, f)
    if missed:
        raise SystemExit("the watcher missed resync-finished in rounds %s" % missed)


if __name__ == "__main__":
    main()
