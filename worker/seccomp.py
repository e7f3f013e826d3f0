"""The seccomp filter of the training sandbox, compiled by libseccomp (through pyseccomp) for bubblewrap."""

from __future__ import annotations

import errno
import os
from functools import lru_cache

# Calls user code never needs and an escape would: mounts, namespaces, tracing other processes, kernel keyrings,
# BPF, perf, modules, kexec, clocks, swap, reboot. Each returns EPERM (the code sees an ordinary refusal).
REFUSED = (
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "bpf",
    "keyctl",
    "add_key",
    "request_key",
    "perf_event_open",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "syslog",
    "userfaultfd",
    "open_by_handle_at",
    "name_to_handle_at",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "vhangup",
    "lookup_dcookie",
)
# clone() may not create namespaces; clone3() passes its flags in memory a filter cannot read, so it answers
# ENOSYS and the C library falls back to clone() (what Docker and Flatpak do).
NAMESPACE_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
TIOCSTI = 0x5412  # pushing characters into a terminal's input


@lru_cache(maxsize=1)
def compiled() -> bytes:
    """The filter as a BPF program (raises ImportError/OSError when libseccomp is missing)."""
    import pyseccomp as sc

    rules = sc.SyscallFilter(sc.ALLOW)
    for name in REFUSED:
        try:
            rules.add_rule(sc.ERRNO(errno.EPERM), name)
        except (ValueError, RuntimeError):  # a call this architecture does not have
            continue
    for bit in range(32):
        flag = 1 << bit
        if NAMESPACE_FLAGS & flag:
            rules.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    rules.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    rules.add_rule(sc.ERRNO(errno.EPERM), "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, TIOCSTI))
    fd = os.memfd_create("fitstudio-seccomp")
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            rules.export_bpf(out)
        return os.pread(fd, 1 << 20, 0)
    finally:
        os.close(fd)


def filter_fd() -> int:
    """A fresh file descriptor holding the compiled filter, at offset 0 (bwrap --seccomp reads it once)."""
    program = compiled()
    fd = os.memfd_create("fitstudio-seccomp")
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
