#!/usr/bin/env python3
"""no_io_uring.py COMMAND [ARGS...]: runs COMMAND where io_uring_setup fails with EPERM, as under
a container's seccomp profile (Docker's default profile refuses io_uring). The seccomp filter is
the process's own and survives exec; nothing else on the machine is affected."""

import ctypes
import os
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1
IO_URING_SETUP = 425  # the same number on every architecture
# Classic BPF: load a word at an absolute offset, jump if equal to k, return k.
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06


def insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def forbid_io_uring() -> None:
    program = (insn(BPF_LD_W_ABS, 0, 0, 0)  # seccomp_data.nr
               + insn(BPF_JEQ_K, 0, 1, IO_URING_SETUP)
               + insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM)
               + insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    code = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.addressof(code))
    libc = ctypes.CDLL(None, use_errno=True)
    if (libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0):
        sys.exit(f"no_io_uring: seccomp filter refused: {os.strerror(ctypes.get_errno())}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    forbid_io_uring()
    os.execvp(sys.argv[1], sys.argv[1:])
