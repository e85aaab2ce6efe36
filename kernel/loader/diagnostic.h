// ParseDiagnostic: where and why a parser of outside input (boot info, ACPI, ELF, cpio) gave up.
#pragma once

#include "kernel/lib/error.h"
#include "kernel/lib/types.h"

namespace exo::loader {

// Filled by a parser only when it fails; left untouched on success. `what` is a static,
// NUL-terminated English phrase (never null once set). `offset` is the byte offset into the
// parsed input where the problem was found; walkers over physical memory (ACPI) report the
// physical address instead, and say so in their header.
struct ParseDiagnostic {
  const char* what = "";
  usize offset = 0;
};

// Records the failure in `diag` (may be null) and returns `error`, so parsers can write
// `return fail(diag, "tag runs past total_size", offset);`.
inline Error fail(ParseDiagnostic* diag, const char* what, usize offset,
                  Error error = Error::kMalformed) {
  if (diag != nullptr) {
    diag->what = what;
    diag->offset = offset;
  }
  return error;
}

}  // namespace exo::loader
