// The ring-3 heap: malloc/free and C++ new/delete over anonymous memory (docs/libsys.md).
#pragma once

#include <stddef.h>

extern "C" {
// nullptr when out of memory (and for malloc(0), which returns a unique pointer instead).
void* malloc(size_t size);
// Frees a pointer from malloc/calloc/realloc; nullptr is ignored. Freeing a pointer twice, or
// one the heap never gave out, prints a message and ends the process with EXO_EXIT_ABORT.
void free(void* pointer);
// Zeroed; nullptr when count * size overflows.
void* calloc(size_t count, size_t size);
void* realloc(void* pointer, size_t size);
}

namespace exo::sys {

struct HeapStats {
  size_t bytes_in_use;  // requested bytes of live allocations
  size_t live_blocks;
  size_t mapped_bytes;  // memory obtained from the kernel
};
HeapStats heap_stats();

}  // namespace exo::sys
