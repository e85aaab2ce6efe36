// Kernel symbol lookup for backtraces, from the table the build links into .ksyms.
#pragma once

#include "kernel/lib/types.h"

namespace exo {

struct Symbol {
  const char* name;
  uptr address;
};

// Finds the function containing `address`. False when the address is outside every known
// function (or the image was linked without a symbol table).
bool lookup_symbol(uptr address, Symbol* out);

}  // namespace exo
