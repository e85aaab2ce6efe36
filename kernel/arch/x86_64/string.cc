// memcpy, memmove, memset, memcmp, strlen for ring 0, with the x86 string instructions.
// code, so the kernel defines them (kernel build only; the host has its libc).
#include "kernel/lib/types.h"

extern "C" {

// Whole quadwords first, then the tail: each `rep` iteration is one instruction under
// -icount and costs cycles on CPUs without fast short rep movsb.
void* memcpy(void* dest, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  const auto* s = static_cast<const unsigned char*>(src);
  size_t quads = n / 8, tail = n % 8;
  asm volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(quads)::"memory");
  asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(tail)::"memory");
  return dest;
}

void* memmove(void* dest, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  const auto* s = static_cast<const unsigned char*>(src);
  if (d == s || n == 0) return dest;
  if (d < s || d >= s + n) return memcpy(dest, src, n);
  for (size_t i = n; i > 0; --i) d[i - 1] = s[i - 1];
  return dest;
}

void* memset(void* dest, int value, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  uint64_t pattern = 0x0101010101010101ull * static_cast<unsigned char>(value);
  size_t quads = n / 8, tail = n % 8;
  asm volatile("rep stosq" : "+D"(d), "+c"(quads) : "a"(pattern) : "memory");
  asm volatile("rep stosb" : "+D"(d), "+c"(tail) : "a"(pattern) : "memory");
  return dest;
}

int memcmp(const void* a, const void* b, size_t n) {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

}  // extern "C"
