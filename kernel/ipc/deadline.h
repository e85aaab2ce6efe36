// When a blocking IPC or notification wait gives up, in clock::now_ns's time base.
#pragma once

#include "kernel/lib/types.h"

namespace exo::ipc {

// kNoWait fails at once with kWouldBlock instead of waiting (EXO_IPC_NONBLOCK); kForever never
// gives up; any other value is a deadline after which the wait fails with kTimedOut.
inline constexpr uint64_t kNoWait = 0;
inline constexpr uint64_t kForever = ~uint64_t{0};

}  // namespace exo::ipc
