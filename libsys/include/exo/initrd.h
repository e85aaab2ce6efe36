// The initrd from ring 3: init has it mapped from the start; a program init started with
// run=NAME gets a handle to it (start role EXO_START_HANDLE_INITRD) and maps it here.
#pragma once

#include "exo/elf_loader.h"
#include "kernel/lib/span.h"

namespace exo::sys {

// The archive, mapped read-only (mapped on the first call). kNotFound without one.
Result<ByteSpan> initrd();

// Starts the initrd program `name` with `options` (argv, handles, ...); its process handle.
Result<Handle> spawn_from_initrd(const char* name, const SpawnOptions& options,
                                 loader::ParseDiagnostic* diag = nullptr);

}  // namespace exo::sys
