// Binary search over the sorted symbol table scripts/gen_ksyms.py generates.
#include "kernel/core/symbols.h"

#include "kernel/lib/ksyms_format.h"

extern "C" const uint8_t __ksyms_start[];
extern "C" const uint8_t __ksyms_end[];

namespace exo {

bool lookup_symbol(uptr address, Symbol* out) {
  ByteSpan table(__ksyms_start, static_cast<usize>(__ksyms_end - __ksyms_start));
  return ksyms::find(table, address, &out->name, &out->address);
}

}  // namespace exo
