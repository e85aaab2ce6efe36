// Placement new for freestanding code; on the host it is the standard one.
#pragma once

#if __STDC_HOSTED__
#include <new>
#else
#include "kernel/lib/types.h"
inline void* operator new(size_t, void* where) noexcept { return where; }
inline void* operator new[](size_t, void* where) noexcept { return where; }
#endif
