// memcpy, memmove, memset, memcmp, strlen for ring 0, with the x86 string instructions.
// code, so the kernel defines them (kernel build only; the host has its libc).
#include "kernel/lib/types.h"

extern "C" {

void* memcpy(void* dest, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  const auto* s = static_cast<const unsigned char*>(src);
  asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n)::"memory");
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
  asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(value) : "memory");
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
