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
