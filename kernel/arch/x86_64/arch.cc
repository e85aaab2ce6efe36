// x86_64 implementation of the generic arch seam (kernel/arch/arch.h).
#include "kernel/arch/arch.h"

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/gdt.h"
#include "kernel/arch/x86_64/idt.h"
#include "kernel/arch/x86_64/percpu.h"
#include "kernel/arch/x86_64/uart16550.h"

extern "C" uint64_t exo_boot_pml4[512];

namespace exo::arch {
namespace {

constexpr Uart16550 kConsole(Uart16550::kCom1);
constexpr uint16_t kDebugExitPort = 0xf4;  // QEMU -device isa-debug-exit,iobase=0xf4,iosize=4
constinit uint64_t g_tsc_hz = 0;

// PIT channel 2, gated through port 0x61, as a fixed 1.193182 MHz reference (Intel 8254 data
// sheet; the gate/OUT bits of port 0x61 are the PC/AT system control port B).
constexpr uint32_t kPitHz = 1193182;
constexpr uint16_t kPitChannel2 = 0x42, kPitCommand = 0x43, kSystemControlB = 0x61;

}  // namespace

void early_init() {
  kConsole.init();
  gdt_init();
  idt_init();
  // The boot CPU's per-CPU block from the start, so current_cpu() is one GS load everywhere
  // (smp_init fills in its APIC id and node later).
  percpu::install(percpu::cpu(0));
}

void drop_identity_map() {
  exo_boot_pml4[0] = 0;
  write_cr3(read_cr3());  // a full flush: the identity entries were not global
}

void console_write(const char* text, usize length) { kConsole.write(text, length); }

uint64_t cycle_counter_hz() { return g_tsc_hz; }

void calibrate_cycle_counter() {
  constexpr uint32_t kWindowHz = 100;  // a 10 ms window
  constexpr uint16_t kCount = kPitHz / kWindowHz;
  uint8_t control = inb(kSystemControlB);
  outb(kSystemControlB, (control & ~0x02) | 0x01);  // gate on, speaker off
  outb(kPitCommand, 0xb0);                           // channel 2, lobyte/hibyte, mode 0
  outb(kPitChannel2, kCount & 0xff);
  outb(kPitChannel2, kCount >> 8);
  uint64_t start = rdtsc();
  while ((inb(kSystemControlB) & 0x20) == 0) pause();  // OUT2 rises at terminal count
  uint64_t end = rdtsc();
  outb(kSystemControlB, control);
  g_tsc_hz = (end - start) * kWindowHz;
}

void power_off(uint32_t status) {
  // QEMU exits with (value << 1) | 1; writing status + 1 keeps status 0 distinct from QEMU's
  // own failure exit code 1 (see docs/testing.md).
  outl(kDebugExitPort, status + 1);
  halt_forever();
}

void halt_forever() {
  for (;;) {
    cli();
    hlt();
  }
}

uptr current_frame() { return reinterpret_cast<uptr>(__builtin_frame_address(0)); }

void walk_stack(uptr frame, void (*visit)(void*, uptr), void* context, int max_frames) {
  // System V frame layout: [rbp] = caller's rbp, [rbp + 8] = return address. Frames only move
  // towards higher addresses and stay within one 64 KiB stack, which rejects garbage chains
  // before they are dereferenced.
  constexpr uptr kKernelHalf = 0xffff800000000000;
  constexpr uptr kMaxFrameSpan = 64 * 1024;
  for (int i = 0; i < max_frames; ++i) {
    if (frame < kKernelHalf || (frame & 7) != 0) return;
    auto* words = reinterpret_cast<const uptr*>(frame);
    uptr return_address = words[1];
    if (return_address < kKernelHalf) return;
    visit(context, return_address);
    uptr next = words[0];
    if (next <= frame || next - frame > kMaxFrameSpan) return;
    frame = next;
  }
}

}  // namespace exo::arch
