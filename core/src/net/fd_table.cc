#include "fd_table.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace xl::net {

size_t fdTableSize() {
  FILE* f = std::fopen("/proc/self/status", "re");
  if (!f) return 0;
  char line[256];
  size_t size = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "FDSize:", 7) == 0) {
      size = std::strtoul(line + 7, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return size;
}

FdCapacity prepareFdCapacity(size_t maxTable) {
  FdCapacity cap;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return cap;
  cap.limitBefore = cap.limit = static_cast<size_t>(rl.rlim_cur);
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) cap.limit = static_cast<size_t>(rl.rlim_max);
  }
  // A descriptor duplicated onto the last wanted slot makes the kernel size the table for it
  // (rounded up to a power of two); the table never shrinks once the descriptor is closed.
  size_t want = std::min(cap.limit, maxTable);
  if (want > 1) {
    int any = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (any >= 0) {
      int high = fcntl(any, F_DUPFD_CLOEXEC, static_cast<int>(want - 1));
      if (high >= 0) ::close(high);
      ::close(any);
    }
  }
  cap.tableSize = fdTableSize();
  return cap;
}

}  // namespace xl::net
