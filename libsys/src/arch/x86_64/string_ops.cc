// memcpy, memmove, memset for ring 3 with the x86 string instructions (the compiler emits calls).
#include <stddef.h>
#include <stdint.h>

extern "C" {

void* memcpy(void* dest, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  const auto* s = static_cast<const unsigned char*>(src);
  size_t quads = n / 8, tail = n % 8;
  asm volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(quads)::"memory");
  asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(tail)::"memory");
  return dest;
}

// Overlapping with dest above src: copy backwards with the direction flag set (Intel SDM
// vol. 1, 3.4.3.1); the psABI requires DF clear on return, hence cld.
void* memmove(void* dest, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  const auto* s = static_cast<const unsigned char*>(src);
  if (d == s || n == 0) return dest;
  if (d < s || d >= s + n) return memcpy(dest, src, n);
  unsigned char* d_last = d + n - 1;
  const unsigned char* s_last = s + n - 1;
  asm volatile("std; rep movsb; cld" : "+D"(d_last), "+S"(s_last), "+c"(n)::"memory");
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

}  // extern "C"
