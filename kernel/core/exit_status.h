// The statuses the kernel leaves QEMU with (see docs/testing.md for how the harness reads them).
#pragma once

#include "kernel/lib/types.h"

namespace exo {

enum class ExitStatus : uint32_t {
  kSuccess = 0,       // requested shutdown, or every selected test passed
  kTestFailure = 1,   // at least one test failed
  kPanic = 2,         // panic or unexpected CPU exception
  kBootFailure = 3,   // unsupported machine or malformed boot data
};

}  // namespace exo
