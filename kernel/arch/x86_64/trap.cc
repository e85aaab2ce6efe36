// Trap dispatch: interrupts (vectors >= 32) go to their registered handler; an exception is
// recovered when a test expects it, otherwise reported before the machine stops.
#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/apic.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/fault_catch.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/arch/x86_64/trap_frame.h"
#include "kernel/arch/x86_64/user_mode.h"
#include "kernel/core/panic.h"
#include "kernel/core/symbols.h"

namespace exo::arch {
namespace {

// Mnemonics and names (Intel SDM vol. 3, table 6-1).
constexpr const char* kExceptionNames[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available", "#DF double fault",
    "coprocessor segment overrun", "#TS invalid TSS", "#NP segment not present",
    "#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15",
    "#MF x87 floating point", "#AC alignment check", "#MC machine check",
    "#XM SIMD floating point", "#VE virtualization", "#CP control protection", "reserved 22",
    "reserved 23", "reserved 24", "reserved 25", "reserved 26", "reserved 27",
    "#HV hypervisor injection", "#VC VMM communication", "#SX security", "reserved 31"};

void print_location(const char* label, uint64_t address) {
  Symbol symbol;
  if (lookup_symbol(address, &symbol)) {
    kprint("{}={:#018x} <{}+{:#x}>\n", label, address, symbol.name, address - symbol.address);
  } else {
    kprint("{}={:#018x}\n", label, address);
  }
}

// Page-fault error code bits (Intel SDM vol. 3, 4.7, figure 4-12).
void print_page_fault_cause(uint64_t error) {
  kprint("  cause: {} {} in {} mode{}{}\n", (error & 1) ? "protection violation on" : "not-present page on",
         (error & 16) ? "instruction fetch" : ((error & 2) ? "write" : "read"),
         (error & 4) ? "user" : "kernel", (error & 8) ? ", reserved bit set" : "",
         (error & 32) ? ", protection key" : "");
}

void report(const TrapFrame& f, uint64_t cr2) {
  const char* name = f.vector < 32 ? kExceptionNames[f.vector] : "interrupt";
  kprint("\n*** KERNEL EXCEPTION: {} (vector {}), error code {:#x}\n", name, f.vector, f.error_code);
  // Generic knowledge (kernel stacks, threads) explains the fault further, e.g. a guard-page
  // hit, which arrives as #DF because the #PF frame cannot be pushed on the overflowed stack.
  exo::describe_kernel_fault(f.vector, cr2);
  if (f.vector == kVectorPageFault) {
    kprint("CR2={:#018x}\n", cr2);
    print_page_fault_cause(f.error_code);
  }
  print_location("RIP", f.rip);
  kprint("RAX={:#018x} RBX={:#018x} RCX={:#018x} RDX={:#018x}\n", f.rax, f.rbx, f.rcx, f.rdx);
  kprint("RSI={:#018x} RDI={:#018x} RBP={:#018x} RSP={:#018x}\n", f.rsi, f.rdi, f.rbp, f.rsp);
  kprint("R8 ={:#018x} R9 ={:#018x} R10={:#018x} R11={:#018x}\n", f.r8, f.r9, f.r10, f.r11);
  kprint("R12={:#018x} R13={:#018x} R14={:#018x} R15={:#018x}\n", f.r12, f.r13, f.r14, f.r15);
  kprint("CS={:#x} SS={:#x} RFLAGS={:#x} CR3={:#x}\n", f.cs, f.ss, f.rflags, read_cr3());
  uptr stack = reinterpret_cast<uptr>(&f);
  kprint("handler stack={:#018x}", stack);
  if (stack >= ist_stack_bottom(kIstDoubleFault) && stack < ist_stack_top(kIstDoubleFault)) {
    kprint(" (on the #DF IST stack)");
  }
  kprint("\n");
  // The interrupted function is the first frame; the rbp chain gives its callers.
  kprint("backtrace:\n");
  Symbol symbol;
  if (lookup_symbol(f.rip, &symbol)) {
    kprint("  {} {}+{:#x}\n", reinterpret_cast<void*>(f.rip), symbol.name, f.rip - symbol.address);
  }
  exo::print_backtrace_from(f.rbp);
}

constinit uint64_t g_unexpected_interrupts = 0;
constinit void (*g_preempt_hook)() = nullptr;

void dispatch_interrupt(TrapFrame& frame) {
  auto vector = static_cast<uint8_t>(frame.vector);
  InterruptHandler handler = interrupt_handler(vector);
  if (handler != nullptr) {
    handler(frame);
  } else {
    __atomic_fetch_add(&g_unexpected_interrupts, 1, __ATOMIC_RELAXED);
  }
  // A spurious interrupt is not in service and takes no EOI (Intel SDM vol. 3, 11.9), nor
  // does a spurious IRQ 7/15 of the masked 8259, which never went through the local APIC.
  bool from_legacy_pic = vector >= kVectorLegacyPicBase && vector < kVectorLegacyPicBase + 16;
  if (vector != kVectorApicSpurious && !from_legacy_pic && lapic::initialized()) lapic::eoi();
  // After the EOI, so a thread switch here does not keep the local APIC's in-service bit set
  // (and lower-priority vectors blocked) until the interrupted thread runs again.
  auto preempt = __atomic_load_n(&g_preempt_hook, __ATOMIC_ACQUIRE);
  if (preempt != nullptr) preempt();
}

}  // namespace

void set_preempt_hook(void (*preempt)()) { __atomic_store_n(&g_preempt_hook, preempt, __ATOMIC_RELEASE); }

uint64_t unexpected_interrupt_count() {
  return __atomic_load_n(&g_unexpected_interrupts, __ATOMIC_RELAXED);
}

}  // namespace exo::arch

extern "C" void exo_trap_dispatch(exo::arch::TrapFrame* frame) {
  using namespace exo;
  bool from_user = (frame->cs & 3) == 3;
  if (frame->vector >= arch::kVectorFirstInterrupt) {
    arch::dispatch_interrupt(*frame);
    if (from_user) arch::before_user_return();
    return;
  }
  uint64_t cr2 = arch::read_cr2();
  if (from_user) {
    (void)arch::handle_user_fault(*frame, cr2);  // ends the thread unless the machine must stop
  } else if (arch::fixup_user_access(*frame)) {
    return;
  }
  if (frame->vector < 32 && arch::try_recover_caught_fault(frame, cr2)) return;
  arch::report(*frame, cr2);
  arch::power_off(static_cast<uint32_t>(ExitStatus::kPanic));
}
