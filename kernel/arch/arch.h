// The seam between generic kernel code and the architecture: everything under kernel/ outside
// kernel/arch reaches the hardware only through these declarations. A port provides each one.
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

// Brings up what printing and trapping need: console UART, GDT/TSS, IDT. Boot CPU, interrupts
// off, called once before anything prints.
void early_init();

// Removes the boot stub's identity mapping of low memory once the kernel runs in the higher
// half, so a null or small-integer pointer faults instead of touching physical memory.
void drop_identity_map();

// Writes raw bytes to the boot console (polled; safe in any context, including traps).
void console_write(const char* text, usize length);

// A monotonic per-CPU cycle counter. Under QEMU with -icount shift=0 it counts instructions.
uint64_t cycle_counter();
// The counter's value at the first instruction of the kernel (the multiboot entry).
uint64_t boot_cycle_counter();
// Counter ticks per second, measured once against a fixed-frequency timer (0 until measured).
uint64_t cycle_counter_hz();
void calibrate_cycle_counter();

// Leaves the machine with `status`: QEMU's isa-debug-exit device when present, else halts.
[[noreturn]] void power_off(uint32_t status);
[[noreturn]] void halt_forever();

// Calls visit(return_address) for each frame of the frame-pointer chain starting at `frame`,
// at most `max_frames` times, stopping at anything that does not look like a kernel frame.
void walk_stack(uptr frame, void (*visit)(void* context, uptr return_address), void* context,
                int max_frames);
// The current frame pointer.
uptr current_frame();

}  // namespace exo::arch
