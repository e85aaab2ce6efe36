// x86_64 side of kernel/arch/user.h: syscall MSRs, FPU/SSE/AVX state, the user-copy fixup,
// and the hand-off of user faults to generic code.
#include "kernel/arch/user.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/arch/x86_64/interrupts.h"
#include "kernel/arch/x86_64/percpu.h"
#include "kernel/arch/x86_64/trap_frame.h"
#include "kernel/arch/x86_64/user_mode.h"

extern "C" void exo_syscall_entry();
extern "C" [[noreturn]] void exo_enter_user(uint64_t rip, uint64_t rsp, uint64_t argument);
extern "C" uint64_t exo_user_copy(void* destination, const void* source, uint64_t length);
extern "C" char exo_user_copy_fault_ip[], exo_user_copy_fixup[];

// Read by exo_user_copy: whether stac/clac exist (they are #UD without SMAP).
extern "C" constinit bool exo_smap_active = false;

namespace exo::arch {
namespace detail {
constinit bool g_fpu_xsave = false;
}  // namespace detail

namespace {

using namespace control_bits;
// XCR0 components (Intel SDM vol. 1, 13): x87, SSE, AVX (the upper halves of the YMM registers).
constexpr uint64_t kXcr0X87 = 1ull << 0;
constexpr uint64_t kXcr0Sse = 1ull << 1;
constexpr uint64_t kXcr0Avx = 1ull << 2;
// IA32_FMASK: what `syscall` clears in rflags: IF (the entry runs without interrupts until it
// is on the kernel stack), DF (the ABI's direction), TF, AC (no user-memory access by
// accident under SMAP), NT.
constexpr uint64_t kSyscallFlagMask = (1u << 9) | (1u << 10) | (1u << 8) | (1u << 18) | (1u << 14);
// STAR: syscall loads CS = [47:32], SS = that + 8; sysretq loads CS = [63:48] + 16 and
// SS = [63:48] + 8, both with RPL 3 (SDM vol. 3, 5.8.8; gdt.h orders the selectors for it).
constexpr uint64_t kStar = (uint64_t{kUserCode32Selector} << 48) | (uint64_t{kKernelCodeSelector} << 32);
static_assert(kUserCode32Selector + 16 == (kUserCodeSelector & ~3));
static_assert(kUserCode32Selector + 8 == (kUserDataSelector & ~3));

constexpr usize kFxsaveSize = 512;

constinit usize g_fpu_size = kFxsaveSize;
constinit void (*g_user_fault_handler)(const UserFault&) = nullptr;
constinit void (*g_user_return_check)() = nullptr;

inline void xsetbv(uint32_t index, uint64_t value) {
  asm volatile("xsetbv" ::"c"(index), "a"(static_cast<uint32_t>(value)),
               "d"(static_cast<uint32_t>(value >> 32)));
}

}  // namespace

void user_mode_init_cpu() {
  CpuidResult leaf1 = cpuid(1);
  write_cr0((read_cr0() & ~(kCr0Em | kCr0Ts)) | kCr0Mp | kCr0Ne);
  uint64_t cr4 = read_cr4() | kCr4Osfxsr | kCr4Osxmmexcpt;
  bool xsave = (leaf1.ecx & cpuid_bits::kLeaf1EcxXsave) != 0;
  if (xsave) cr4 |= kCr4Osxsave;
  write_cr4(cr4);
  if (xsave) {
    uint64_t supported = cpuid(0xd, 0).eax;
    uint64_t xcr0 = kXcr0X87 | kXcr0Sse | (supported & kXcr0Avx);
    xsetbv(0, xcr0);
    // With XCR0 set, CPUID.(0xd,0).EBX is the area size those components need.
    usize size = cpuid(0xd, 0).ebx;
    if (percpu::current().index == 0) {
      detail::g_fpu_xsave = true;
      g_fpu_size = (size + kFpuStateAlign - 1) & ~(kFpuStateAlign - 1);
    }
  }
  exo_smap_active = (cr4 & kCr4Smap) != 0;
  wrmsr(msr::kEfer, rdmsr(msr::kEfer) | kEferSce);
  wrmsr(msr::kStar, kStar);
  wrmsr(msr::kLstar, reinterpret_cast<uint64_t>(&exo_syscall_entry));
  wrmsr(msr::kFmask, kSyscallFlagMask);
}

namespace {
constinit uint64_t g_io_generation = 0;
}  // namespace

Status IoPermissions::allow(uint32_t base, uint32_t count) {
  if (base > 65536 || count > 65536 - base) return Error::kOutOfRange;
  if (count_ == kMaxRanges) return Error::kNoMemory;
  ranges_[count_++] = Range{base, count};
  __atomic_store_n(&generation_, __atomic_add_fetch(&g_io_generation, 1, __ATOMIC_RELAXED),
                   __ATOMIC_RELEASE);
  return ok_status();
}

namespace {

// A set bit denies its port (SDM vol. 1, 19.5.2). Whole bytes are written at once: a switch
// to or from a driver rewrites its ranges, and a device's ports are usually a run of 8.
void set_ports(uint8_t* bitmap, const IoPermissions::Range& r, bool open) {
  uint32_t port = r.base;
  uint32_t end = r.base + r.count;
  auto set_one = [&](uint32_t p) {
    auto bit = static_cast<uint8_t>(1u << (p % 8));
    bitmap[p / 8] = open ? (bitmap[p / 8] & ~bit) : (bitmap[p / 8] | bit);
  };
  for (; port < end && port % 8 != 0; ++port) set_one(port);
  uint8_t fill = open ? 0x00 : 0xff;
  for (; end - port >= 8; port += 8) bitmap[port / 8] = fill;
  for (; port < end; ++port) set_one(port);
}

}  // namespace

void load_io_ranges(PerCpu& cpu, const IoPermissions* io, uint64_t generation) {
  for (usize i = 0; i < cpu.io_open_count; ++i) set_ports(cpu.io_bitmap, cpu.io_open[i], false);
  cpu.io_open_count = 0;
  if (io != nullptr) {
    for (usize i = 0; i < io->count(); ++i) {
      set_ports(cpu.io_bitmap, io->range(i), true);
      cpu.io_open[cpu.io_open_count++] = io->range(i);
    }
  }
  cpu.io_loaded_generation = generation;
}

void reload_io_permissions(const IoPermissions* io) {
  uint64_t flags = irq_save();
  PerCpu& cpu = percpu::current();
  uint64_t generation = io != nullptr ? io->generation() : 0;
  if (cpu.io_loaded_generation != generation) load_io_ranges(cpu, io, generation);
  irq_restore(flags);
}

bool io_port_open_here(uint16_t port) {
  return (percpu::current().io_bitmap[port / 8] & (1u << (port % 8))) == 0;
}

void enter_user(uptr rip, uptr rsp, uint64_t argument) { exo_enter_user(rip, rsp, argument); }

usize fpu_state_size() { return g_fpu_size; }

void fpu_init_state(void* area) {
  auto* bytes = static_cast<uint8_t*>(area);
  for (usize i = 0; i < g_fpu_size; ++i) bytes[i] = 0;
  // Legacy region (SDM vol. 1, 10.5.1): FCW at 0, MXCSR at 24. An XSAVE header of zeros
  // (XSTATE_BV = 0) makes XRSTOR put every component in its initial state.
  uint16_t fcw = 0x37f;
  uint32_t mxcsr = 0x1f80;
  __builtin_memcpy(bytes, &fcw, sizeof(fcw));
  __builtin_memcpy(bytes + 24, &mxcsr, sizeof(mxcsr));
}

bool copy_from_user(void* kernel_destination, uptr user_source, usize length) {
  return exo_user_copy(kernel_destination, reinterpret_cast<const void*>(user_source), length) == 0;
}

bool copy_to_user(uptr user_destination, const void* kernel_source, usize length) {
  return exo_user_copy(reinterpret_cast<void*>(user_destination), kernel_source, length) == 0;
}

void set_user_fault_handler(void (*handler)(const UserFault&)) {
  __atomic_store_n(&g_user_fault_handler, handler, __ATOMIC_RELEASE);
}
void set_user_return_check(void (*check)()) {
  __atomic_store_n(&g_user_return_check, check, __ATOMIC_RELEASE);
}

bool fixup_user_access(TrapFrame& frame) {
  if (frame.vector != 14 || frame.rip != reinterpret_cast<uint64_t>(exo_user_copy_fault_ip)) {
    return false;
  }
  frame.rip = reinterpret_cast<uint64_t>(exo_user_copy_fixup);
  return true;
}

bool handle_user_fault(const TrapFrame& frame, uint64_t cr2) {
  // NMI, #DF and #MC are about the machine, not the program.
  if (frame.vector == 2 || frame.vector == 8 || frame.vector == 18) return false;
  auto handler = __atomic_load_n(&g_user_fault_handler, __ATOMIC_ACQUIRE);
  if (handler == nullptr) return false;
  UserFault fault{frame.vector, frame.error_code, frame.vector == 14 ? cr2 : 0, frame.rip,
                  frame.rsp};
  sti();  // from ring 3: no kernel lock is held, and ending a process may wait for other CPUs
  handler(fault);
  __builtin_unreachable();
}

void before_user_return() {
  auto check = __atomic_load_n(&g_user_return_check, __ATOMIC_ACQUIRE);
  if (check != nullptr) check();
}

}  // namespace exo::arch
