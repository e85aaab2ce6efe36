/* A tiny static ring-3-style program linked by the real cross toolchain (clang + lld), so the
 * ELF tests also see what the linker actually emits: text, rodata, data, bss and TLS. */
#include <stdint.h>

const char kMessage[] = "exo loader fixture";
uint64_t counter = 42;
uint8_t scratch[8192];
_Thread_local uint32_t per_thread = 7;

/* Written through, so the compiler must keep .data, .bss and .tdata. */
uint64_t touch(uint64_t x) {
  scratch[x % sizeof scratch] = (uint8_t)kMessage[x % (sizeof kMessage - 1)];
  counter += x;
  per_thread += (uint32_t)x;
  return counter + per_thread + scratch[(x * 7) % sizeof scratch];
}

__attribute__((noreturn)) void _start(void) {
  volatile uint64_t sink = touch(3);
  (void)sink;
  for (;;) {
  }
}
