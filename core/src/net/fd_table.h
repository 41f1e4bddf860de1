// Open-file capacity, prepared once at start-up.
//
// Every viewer is a file descriptor. The kernel grows a process's descriptor table by doubling
// (64, 128, 256, ... entries), and in a process with more than one thread each growth waits for
// an RCU grace period (synchronize_rcu in expand_fdtable): the accept4 that crosses 256, 512,
// 1024, ... blocks the worker for 10-20 ms while every viewer joining meanwhile waits. Growing
// the table once at start-up, to what the open-file limit allows, takes those pauses off the
// join path. The soft limit is raised to the hard one first, as servers holding thousands of
// sockets do (a login shell's soft limit of 1,024 would cap a server near 1,000 viewers).
#pragma once

#include <cstddef>

namespace xl::net {

struct FdCapacity {
  size_t limitBefore = 0;  // RLIMIT_NOFILE soft limit found at start-up
  size_t limit = 0;        // soft limit now (the hard limit when raising it succeeded)
  size_t tableSize = 0;    // descriptor slots the kernel table holds now (FDSize); 0: unknown
};

// The table is grown to min(limit, maxTable) slots: 65,536 slots cost 512 KiB of kernel memory;
// past that, each doubling still pauses once, which is rare next to the connections it serves.
inline constexpr size_t kFdTableReserve = 65536;

FdCapacity prepareFdCapacity(size_t maxTable = kFdTableReserve);

// Slots of this process's descriptor table (FDSize in /proc/self/status); 0 when unreadable.
size_t fdTableSize();

}  // namespace xl::net
