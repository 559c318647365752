#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run one command and print its wall time and peak resident set size.

    measure.py [--timeout S] [--time PATH] [--stdin F] [--stdout F]
               [--stderr F] -- CMD...

Prints one line ``WALL_MS CPU_MS MAXRSS_KB STATUS METHOD``: the wall time
from just before the fork to the reaping of the command, in milliseconds;
the CPU time (user + system) it used, in milliseconds; its peak RSS in
KiB; its exit status (128 + N when killed by signal N, 124 when it was
still running after the timeout and was killed); and how the RSS was
measured.

The peak RSS cannot be taken from this interpreter's own wait4(2): a
child forked from it starts with the interpreter's high-water mark, and
execve(2) carries that mark over, so every command would appear to need
at least as much memory as Python. The command is therefore started
through GNU time (METHOD ``time``), a small C program whose child starts
from its own small mark; wall time then includes one extra fork and exec,
the same for every command measured, and so does the CPU time (which
wait4(2) reports for the process and the children it reaped, so GNU time
counts too: measure true(1) to see that floor). Without GNU time, VmHWM of the
command (a fresh address space after execve) is polled from /proc every
millisecond until it exits (METHOD ``poll``): a peak reached in the last
millisecond before exit can be missed, so that figure is a lower bound.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time


def gnu_time(path):
    if not path or not os.access(path, os.X_OK):
        return False
    try:
        r = subprocess.run([path, "-f", "%M", "true"],
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and r.stderr.strip().isdigit()


def vmhwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--time", default="/usr/bin/time")
    ap.add_argument("--stdin", default=os.devnull)
    ap.add_argument("--stdout", default=os.devnull)
    ap.add_argument("--stderr", default=os.devnull)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("no command")

    use_time = gnu_time(a.time)
    rss_file = None
    if use_time:
        fd, rss_file = tempfile.mkstemp(prefix="ztp-bench-rss.")
        os.close(fd)
        argv = [a.time, "-f", "%M", "-o", rss_file, "--"] + cmd
    else:
        argv = cmd

    timed_out = threading.Event()
    peak = 0
    try:
        with open(a.stdin, "rb") as fin, open(a.stdout, "wb") as fout, \
                open(a.stderr, "wb") as ferr:
            t0 = time.perf_counter()
            # A session of its own, so that a timeout kills the command
            # and not only GNU time.
            proc = subprocess.Popen(argv, stdin=fin, stdout=fout,
                                    stderr=ferr, start_new_session=True)

            def kill():
                timed_out.set()
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

            timer = threading.Timer(a.timeout, kill)
            timer.start()
            try:
                # wait4 rather than Popen.wait: only wait4 returns the
                # rusage of this one child.
                if use_time:
                    _, status, ru = os.wait4(proc.pid, 0)
                else:
                    while True:
                        peak = max(peak, vmhwm(proc.pid))
                        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
                        if pid != 0:
                            break
                        time.sleep(0.001)
            finally:
                timer.cancel()
            t1 = time.perf_counter()
            # Reaped above; keep Popen from waiting for it again.
            proc.returncode = status
        if use_time:
            try:
                with open(rss_file) as f:
                    lines = f.read().split()
                peak = int(lines[-1]) if lines else 0
            except (OSError, ValueError):
                peak = 0
    finally:
        if rss_file:
            os.unlink(rss_file)

    if timed_out.is_set():
        code = 124
    elif os.WIFSIGNALED(status):
        code = 128 + os.WTERMSIG(status)
    else:
        code = os.WEXITSTATUS(status)
    cpu = (ru.ru_utime + ru.ru_stime) * 1000.0
    print("%.3f %.3f %d %d %s" % ((t1 - t0) * 1000.0, cpu, peak, code,
                                  "time" if use_time else "poll"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
