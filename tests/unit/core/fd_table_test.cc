// Open-file capacity prepared at start-up: the soft limit raised to the hard one, and the
// kernel's descriptor table grown once (FDSize in /proc/self/status) so accepts never grow it.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "net/fd_table.h"

namespace xl::net {
namespace {

TEST(FdTable, GrowsTheTableOnceToTheWantedSize) {
  size_t before = fdTableSize();
  ASSERT_GT(before, 0u) << "FDSize missing from /proc/self/status";
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  size_t want = std::min<size_t>(8192, rl.rlim_max);
  ASSERT_LT(before, want) << "hard open-file limit " << rl.rlim_max;
  FdCapacity cap = prepareFdCapacity(want);
  EXPECT_GE(cap.tableSize, want);
  EXPECT_EQ(cap.tableSize, fdTableSize());
  // No descriptor is left behind: the next one opened is still a low number.
  int fd = dup(0);
  EXPECT_LT(fd, 64);
  close(fd);
}

TEST(FdTable, RaisesTheSoftLimitToTheHardOne) {
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  ASSERT_GT(rl.rlim_max, 256u);
  rlimit lowered = rl;
  lowered.rlim_cur = 256;  // lowering the soft limit is always allowed, and reversible
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  FdCapacity cap = prepareFdCapacity(1);
  rlimit now{};
  getrlimit(RLIMIT_NOFILE, &now);
  setrlimit(RLIMIT_NOFILE, &rl);
  EXPECT_EQ(cap.limitBefore, 256u);
  EXPECT_EQ(cap.limit, static_cast<size_t>(rl.rlim_max));
  EXPECT_EQ(now.rlim_cur, rl.rlim_max);
}

// The table stops at the limit: in a child whose hard limit is 3,000 (lowering it cannot be
// undone without privileges, hence the child), asking for 65,536 slots gets a table for 3,000.
[[noreturn]] void prepareUnderAHardLimitOf3000() {
  rlimit small{};
  small.rlim_cur = small.rlim_max = 3000;
  if (setrlimit(RLIMIT_NOFILE, &small) != 0) std::_Exit(2);
  FdCapacity cap = prepareFdCapacity(65536);
  if (cap.limit != 3000) std::_Exit(3);
  if (cap.tableSize < 3000 || cap.tableSize > 4096) std::_Exit(4);
  std::_Exit(0);
}

TEST(FdTable, StopsAtTheOpenFileLimit) {
  EXPECT_EXIT(prepareUnderAHardLimitOf3000(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace xl::net
