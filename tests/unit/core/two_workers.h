// A fixture for tests that run a stream across two real workers: `a` (where streams are
// published) and `b` (another viewer worker), started before each test and stopped after it.
#pragma once

#include <gtest/gtest.h>

#include "test_util.h"
#include "xueliang/worker.h"

namespace xl::test {

class TwoWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a.start();
    b.start();
  }
  void TearDown() override {
    a.stop();
    b.stop();
  }
  // attach -> owner -> viewer worker hops, and batches in flight, all done.
  void settle() { test::settle(3, a, b); }

  Worker a{0}, b{1};
};

}  // namespace xl::test
