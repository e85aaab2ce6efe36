// The few <utility>/<type_traits> pieces the kernel needs, since ring 0 has no standard library.
#pragma once

#include "kernel/lib/types.h"

namespace exo {

template <typename T> struct RemoveReference { using Type = T; };
template <typename T> struct RemoveReference<T&> { using Type = T; };
template <typename T> struct RemoveReference<T&&> { using Type = T; };
template <typename T> using RemoveReferenceT = typename RemoveReference<T>::Type;

template <typename T>
constexpr RemoveReferenceT<T>&& move(T&& value) noexcept {
  return static_cast<RemoveReferenceT<T>&&>(value);
}

template <typename T>
constexpr T&& forward(RemoveReferenceT<T>& value) noexcept {
  return static_cast<T&&>(value);
}

template <typename T>
constexpr void swap(T& a, T& b) noexcept {
  T tmp = move(a);
  a = move(b);
  b = move(tmp);
}

// Integer classification without <type_traits> (gcc and clang builtins differ, so spell it out).
template <typename T> inline constexpr bool kIsIntegral = false;
template <> inline constexpr bool kIsIntegral<signed char> = true;
template <> inline constexpr bool kIsIntegral<unsigned char> = true;
template <> inline constexpr bool kIsIntegral<short> = true;
template <> inline constexpr bool kIsIntegral<unsigned short> = true;
template <> inline constexpr bool kIsIntegral<int> = true;
template <> inline constexpr bool kIsIntegral<unsigned int> = true;
template <> inline constexpr bool kIsIntegral<long> = true;
template <> inline constexpr bool kIsIntegral<unsigned long> = true;
template <> inline constexpr bool kIsIntegral<long long> = true;
template <> inline constexpr bool kIsIntegral<unsigned long long> = true;

template <typename T> constexpr T min(T a, T b) { return b < a ? b : a; }
template <typename T> constexpr T max(T a, T b) { return a < b ? b : a; }

template <typename T> constexpr bool is_power_of_two(T x) { return x != 0 && (x & (x - 1)) == 0; }
// Precondition: `align` is a power of two.
template <typename T> constexpr T align_down(T x, T align) { return x & ~(align - 1); }
// Precondition: `align` is a power of two and the result does not overflow T.
template <typename T> constexpr T align_up(T x, T align) { return (x + align - 1) & ~(align - 1); }
template <typename T> constexpr bool is_aligned(T x, T align) { return (x & (align - 1)) == 0; }

// Overflow-checked addition: false when a + b does not fit in T.
template <typename T> constexpr bool checked_add(T a, T b, T* out) {
  return !__builtin_add_overflow(a, b, out);
}

template <typename T, usize N> constexpr usize array_size(const T (&)[N]) { return N; }

// Reads a little-endian T from unaligned bytes (x86_64 is little-endian; this is the one place
// that says so for parsers of outside formats).
template <typename T> inline T load_le(const void* p) {
  T value;
  __builtin_memcpy(&value, p, sizeof(T));
  return value;
}

}  // namespace exo
