// ktest=device: the range checks of I/O-port objects and permissions, and interrupt-line
// numbers (a run= program holds no port or line handles, so these are checked in the kernel).
#include "kernel/arch/user.h"
#include "kernel/device/device.h"
#include "kernel/test/ktest.h"

namespace exo {
namespace {

EXO_KTEST(device, io_port_ranges_stay_inside_the_port_space) {
  KEXPECT_EQ(device::IoPortRange::create(0, 0).error(), Error::kInvalidArgument);
  KEXPECT_EQ(device::IoPortRange::create(65535, 2).error(), Error::kOutOfRange);
  KEXPECT_EQ(device::IoPortRange::create(70000, 1).error(), Error::kOutOfRange);
  auto com1 = device::IoPortRange::create(0x3f8, 8);
  KEXPECT(com1.ok());
  if (!com1.ok()) return;
  KEXPECT((*com1)->contains(0x3f8, 8));
  KEXPECT((*com1)->contains(0x3fc, 4));
  KEXPECT(!(*com1)->contains(0x3fc, 5));  // runs past the end
  KEXPECT(!(*com1)->contains(0x3f7, 2));  // starts before
  KEXPECT(!(*com1)->contains(0xffffffffu, 2));
  auto all = device::IoPortRange::create(0, 65536);
  KEXPECT(all.ok());
}

EXO_KTEST(device, io_permissions_are_bounded_and_versioned) {
  arch::IoPermissions io;
  KEXPECT_EQ(io.generation(), 0u);
  KEXPECT_EQ(io.allow(65530, 7).error(), Error::kOutOfRange);
  KEXPECT_EQ(io.generation(), 0u);  // a refused change changes nothing
  for (usize i = 0; i < arch::IoPermissions::kMaxRanges; ++i) {
    uint64_t before = io.generation();
    KEXPECT(io.allow(static_cast<uint32_t>(0x100 + 8 * i), 8).ok());
    KEXPECT(io.generation() > before);
  }
  KEXPECT_EQ(io.allow(0x200, 1).error(), Error::kNoMemory);
  KEXPECT_EQ(io.count(), arch::IoPermissions::kMaxRanges);
}

// The TSS bitmap opens exactly the loaded ranges, at any alignment, and closes them all again.
EXO_KTEST(device, io_bitmap_opens_exactly_the_loaded_ranges) {
  arch::IoPermissions io;
  const uint32_t ranges[][2] = {{0x3f8, 8}, {0x61, 3}, {0x2f5, 13}, {0x70, 1}, {0x100, 20}};
  for (const auto& r : ranges) KEXPECT(io.allow(r[0], r[1]).ok());
  uint64_t flags = arch::irq_save();  // no switch may load other ranges meanwhile
  arch::reload_io_permissions(&io);
  usize wrong = 0;
  for (uint32_t port = 0; port < 0x500; ++port) {
    bool inside = false;
    for (const auto& r : ranges) inside = inside || (port >= r[0] && port < r[0] + r[1]);
    if (arch::io_port_open_here(static_cast<uint16_t>(port)) != inside) ++wrong;
  }
  arch::reload_io_permissions(nullptr);
  usize still_open = 0;
  for (uint32_t port = 0; port < 0x500; ++port) still_open += arch::io_port_open_here(static_cast<uint16_t>(port));
  arch::irq_restore(flags);
  KEXPECT_EQ(wrong, 0u);
  KEXPECT_EQ(still_open, 0u);
}

EXO_KTEST(device, interrupt_lines_are_isa_lines_only) {
  KEXPECT_EQ(device::InterruptLine::get(16).error(), Error::kInvalidArgument);
  auto a = device::InterruptLine::get(4);
  auto b = device::InterruptLine::get(4);
  KEXPECT(a.ok() && b.ok() && a->get() == b->get());  // one object per line
}

}  // namespace
}  // namespace exo
