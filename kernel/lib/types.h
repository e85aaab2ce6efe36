// Fixed-width integer and size types for code built both freestanding and on the host.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace exo {

using uptr = uintptr_t;
using usize = size_t;

inline constexpr usize KiB = 1024;
inline constexpr usize MiB = 1024 * KiB;
inline constexpr usize GiB = 1024 * MiB;

}  // namespace exo
