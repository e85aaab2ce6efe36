// ktest=fatal_*: unexpected exceptions and panics must be reported (vector, registers, symbolised
// backtrace) and end the machine with the panic status; tests/qemu checks the report.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/fault_catch.h"
#include "kernel/core/panic.h"
#include "kernel/test/ktest.h"

namespace exo {
namespace {

[[gnu::noinline]] void fault_in_named_function() {
  (void)*reinterpret_cast<volatile uint64_t*>(0xffff900000002000);
}

EXO_KTEST(fatal_ud, unhandled_invalid_opcode) { arch::ud2(); }

EXO_KTEST(fatal_pf, unhandled_page_fault) { fault_in_named_function(); }

EXO_KTEST(fatal_df, unhandled_double_fault) { arch::exo_trigger_double_fault(nullptr); }

EXO_KTEST(fatal_panic, deliberate_panic) { panic("deliberate panic from ktest {}", 42); }

}  // namespace
}  // namespace exo

#include "kernel/mm/kernel_memory.h"
#include "kernel/sched/thread.h"

namespace exo {
namespace {

[[gnu::noinline]] uint64_t recurse_forever(uint64_t depth) {
  volatile uint8_t frame[256];
  frame[0] = static_cast<uint8_t>(depth);
  return recurse_forever(depth + 1) + frame[0];
}

void overflow_thread(void*) { (void)recurse_forever(0); }

EXO_KTEST(fatal_stack_overflow, thread_recurses_into_guard_page) {
  Result<Thread*> t = Thread::create("overflower", &overflow_thread, nullptr);
  KEXPECT(t.ok());
  (*t)->start();
  thread_yield();
}

EXO_KTEST(fatal_double_free, heap_double_free) {
  void* p = mm::heap_allocate(64);
  mm::heap_free(p);
  mm::heap_free(p);
}

EXO_KTEST(fatal_invalid_free, heap_free_of_foreign_pointer) {
  static uint64_t not_from_heap;
  mm::heap_free(&not_from_heap);
}

}  // namespace
}  // namespace exo
