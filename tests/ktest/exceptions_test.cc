// ktest=exceptions: each CPU exception class is raised on purpose and must be reported with the
// right vector, error code and (for #PF) faulting address.
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/fault_catch.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/test/ktest.h"

namespace exo {
namespace {

using arch::FaultInfo;

// An address in an unpopulated PML4 slot: nothing maps it.
constexpr uptr kUnmapped = 0xffff900000001000;
// Bit 63 set and bit 47 clear: not canonical, so the access is a #GP, not a #PF.
constexpr uptr kNonCanonical = 0x8000000000000000;

// Page-fault error code bits (Intel SDM vol. 3, 4.7).
constexpr uint64_t kPfPresent = 1, kPfWrite = 2, kPfFetch = 16;

const uint64_t kReadOnlyWord = 42;   // .rodata: mapped R--
uint8_t g_data_code[16] = {0xc3};    // .data: mapped RW- NX; 0xc3 is `ret`

void raise_invalid_opcode(void*) { arch::ud2(); }
void read_address(void* address) { (void)*static_cast<volatile uint64_t*>(address); }
void write_address(void* address) { *static_cast<volatile uint64_t*>(address) = 1; }
void call_address(void* address) { reinterpret_cast<void (*)()>(address)(); }

EXO_KTEST(exceptions, invalid_opcode) {
  FaultInfo info{};
  KEXPECT(arch::run_catching_faults(&raise_invalid_opcode, nullptr, &info));
  KEXPECT_EQ(info.vector, arch::kVectorInvalidOpcode);
}

EXO_KTEST(exceptions, page_fault_not_present) {
  FaultInfo info{};
  KEXPECT(arch::run_catching_faults(&read_address, reinterpret_cast<void*>(kUnmapped), &info));
  KEXPECT_EQ(info.vector, arch::kVectorPageFault);
  KEXPECT_EQ(info.cr2, kUnmapped);
  KEXPECT_EQ(info.error_code, 0u);
}

EXO_KTEST(exceptions, page_fault_write_to_rodata) {
  FaultInfo info{};
  void* target = const_cast<uint64_t*>(&kReadOnlyWord);
  KEXPECT(arch::run_catching_faults(&write_address, target, &info));
  KEXPECT_EQ(info.vector, arch::kVectorPageFault);
  KEXPECT_EQ(info.cr2, reinterpret_cast<uptr>(target));
  KEXPECT_EQ(info.error_code, kPfPresent | kPfWrite);
  KEXPECT_EQ(kReadOnlyWord, 42u);
}

EXO_KTEST(exceptions, page_fault_execute_data) {
  FaultInfo info{};
  KEXPECT(arch::run_catching_faults(&call_address, g_data_code, &info));
  KEXPECT_EQ(info.vector, arch::kVectorPageFault);
  KEXPECT_EQ(info.cr2, reinterpret_cast<uptr>(g_data_code));
  KEXPECT_EQ(info.error_code, kPfPresent | kPfFetch);
}

EXO_KTEST(exceptions, general_protection_non_canonical) {
  FaultInfo info{};
  KEXPECT(arch::run_catching_faults(&read_address, reinterpret_cast<void*>(kNonCanonical), &info));
  KEXPECT_EQ(info.vector, arch::kVectorGeneralProtection);
  KEXPECT_EQ(info.error_code, 0u);
}

EXO_KTEST(exceptions, double_fault_runs_on_ist_stack) {
  FaultInfo info{};
  KEXPECT(arch::run_catching_faults(&arch::exo_trigger_double_fault, nullptr, &info));
  KEXPECT_EQ(info.vector, arch::kVectorDoubleFault);
  KEXPECT(info.rsp >= arch::ist_stack_bottom(arch::kIstDoubleFault));
  KEXPECT(info.rsp < arch::ist_stack_top(arch::kIstDoubleFault));
}

EXO_KTEST(exceptions, no_fault_returns_false) {
  FaultInfo info{};
  uint64_t word = 7;
  KEXPECT(!arch::run_catching_faults(&read_address, &word, &info));
}

}  // namespace
}  // namespace exo
