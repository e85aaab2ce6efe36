// Starting a program from an ELF image in memory: libsys's loader over the process syscalls.
#pragma once

#include "exo/load_plan.h"
#include "exo/syscall.h"

namespace exo::sys {

struct SpawnOptions {
  const char* name = nullptr;         // the process name; argv[0] if null
  const char* const* argv = nullptr;  // argc strings, argv[0] the program name
  usize argc = 0;
  const char* const* envp = nullptr;  // envc "key=value" strings
  usize envc = 0;
  // Handles of the caller moved into the new process (gone from the caller afterwards, also
  // on failure once the transfer was made), each with its start-block role.
  const Handle* handles = nullptr;
  const uint32_t* roles = nullptr;
  usize handle_count = 0;
  uint64_t stack_size = kDefaultStackSize;
  // With a handle of role EXO_START_HANDLE_INITRD among `handles`: the archive's length, for
  // the start block (exo/initrd.h).
  uint64_t initrd_size = 0;
};

// Validates `image` (plan_load), creates a process, maps each segment from a fresh memory
// object, builds the start block at the top of the stack and starts the first thread.
// Returns the new process's handle (for process_wait). On failure the half-built process is
// closed and `diag` (may be null) says what was wrong with the image.
Result<Handle> spawn(ByteSpan image, const SpawnOptions& options,
                     loader::ParseDiagnostic* diag = nullptr);

}  // namespace exo::sys
