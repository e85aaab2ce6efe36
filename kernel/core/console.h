// Kernel console output: exo::kprint formats (kernel/lib/format.h syntax) onto the boot console.
#pragma once

#include "kernel/lib/format.h"

namespace exo {

// The sink that writes to the boot console. Safe from any context (polled, no locks yet: the
// kernel is single-CPU until SMP bring-up adds a console lock).
FormatSink console_sink();

template <typename... Args>
void kprint(const char* fmt, const Args&... args) {
  format(console_sink(), fmt, args...);
}

}  // namespace exo
