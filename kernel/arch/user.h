// The seam for ring 3: entering user mode, the kernel stack an entry from user mode lands on,
// FPU state of user threads, and copying to and from user memory with faults turned into
// errors. Generic code (kernel/proc, kernel/syscall) reaches user mode only through these.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"

namespace exo::arch {

// Per CPU, with interrupts off, after the per-CPU block is installed: the syscall MSRs
// (EFER.SCE, STAR, LSTAR, FMASK), SSE and XSAVE enables, XCR0. The boot CPU calls it before
// smp_init, each application processor on its way up.
void user_mode_init_cpu();

// I/O ports a process may use from ring 3 (x86: the TSS permission bitmap; docs/ipc.md).
// Guarded by the owning process. Every change takes a new system-wide generation number, so a
// CPU reloads its bitmap exactly when the generation it has loaded is not this one (an address
// reused by another process's permissions cannot be mistaken for the old ones).
class IoPermissions {
 public:
  static constexpr usize kMaxRanges = 8;
  struct Range {
    uint32_t base;
    uint32_t count;
  };
  // Opens [base, base + count) (within 0..65535). kNoMemory when kMaxRanges are in use,
  // kOutOfRange for a range past port 65535.
  Status allow(uint32_t base, uint32_t count);
  usize count() const { return count_; }
  const Range& range(usize i) const { return ranges_[i]; }
  uint64_t generation() const { return __atomic_load_n(&generation_, __ATOMIC_ACQUIRE); }

 private:
  Range ranges_[kMaxRanges] = {};
  usize count_ = 0;
  uint64_t generation_ = 0;  // 0: nothing allowed
};

// Set on every switch to a user thread, interrupts off: entries from ring 3 land on `stack_top`
// (16-byte aligned, the thread's kernel stack); the syscall exit path leaves through the slow
// path (set_user_return_check) whenever *exit_flag is true; and the thread's process's I/O
// permissions (`io`, may be null: none) are the ones ring 3 gets.
//   void set_user_thread(uptr stack_top, const bool* exit_flag, const IoPermissions* io);
// (Inline, from the architecture's user_inline.h, which kernel/arch/arch.h brings in with the
// other per-switch accessors: it is part of every switch to a user thread.)
// Reloads this CPU's I/O permissions after the running process's changed.
void reload_io_permissions(const IoPermissions* io);
// Whether ring 3 code on this CPU may use `port` now (the loaded permissions), for tests.
bool io_port_open_here(uint16_t port);

// Leaves for ring 3 at `rip` with `rsp` and rdi = `argument`, every other general register 0,
// rflags = IF. Interrupts may be on or off; the FPU state must already be the thread's.
[[noreturn]] void enter_user(uptr rip, uptr rsp, uint64_t argument);

// User FPU/SSE/AVX state: XSAVE when the CPU has it (x87, SSE and AVX components), FXSAVE
// otherwise. Areas are fpu_state_size() bytes, 64-byte aligned.
usize fpu_state_size();
inline constexpr usize kFpuStateAlign = 64;
// A clean state in `area`: FCW 0x37f, MXCSR 0x1f80, registers zero (the psABI's start state).
void fpu_init_state(void* area);
// Both inline (user_inline.h, through kernel/arch/arch.h), as they are part of every switch:
//   void fpu_save(void* area);
//   void fpu_restore(const void* area);

// Copies between kernel and user memory. The caller has checked that the user range lies in
// the user half (kernel/syscall/user_memory.h); these only survive the page fault a missing
// or read-only page raises. Return false when some byte faulted (the copy is then partial).
[[nodiscard]] bool copy_from_user(void* kernel_destination, uptr user_source, usize length);
[[nodiscard]] bool copy_to_user(uptr user_destination, const void* kernel_source, usize length);

// The scheduler's hand-off to generic code on a fault in ring 3 (vectors below 32 other than
// NMI, #DF and #MC): `handler` runs on the faulting thread's kernel stack with interrupts on
// and must not return (it ends the thread). Also `return_check`, called with interrupts off
// before every return to ring 3 from an interrupt or a syscall, which may end the thread too.
struct UserFault {
  uint64_t vector;
  uint64_t error_code;
  uint64_t address;  // CR2 for #PF, 0 otherwise
  uint64_t rip;
  uint64_t rsp;
};
void set_user_fault_handler(void (*handler)(const UserFault& fault));
void set_user_return_check(void (*check)());

}  // namespace exo::arch
