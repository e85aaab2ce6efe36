// Hardware resources as kernel objects, for user-space drivers (docs/ipc.md, "Devices"):
// ranges of I/O ports and interrupt lines. The kernel hands init one handle to every port and
// one per ISA interrupt line; init passes each driver only what it needs.
#pragma once

#include "kernel/ipc/notification.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/object/kernel_object.h"
#include "kernel/object/ref_counted.h"
#include "kernel/sync/spinlock.h"

namespace exo::device {

// Ports [base, base + count). A process holding a handle may open them to its own ring-3
// code (ioport_enable); without that, touching them faults (#GP).
class IoPortRange final : public object::KernelObject {
 public:
  static constexpr object::ObjectType kType = object::ObjectType::kIoPort;
  // kOutOfRange past port 65535, kInvalidArgument for an empty range.
  static Result<object::RefPtr<IoPortRange>> create(uint32_t base, uint32_t count);
  uint32_t base() const { return base_; }
  uint32_t count() const { return count_; }
  bool contains(uint32_t base, uint32_t count) const {
    return base >= base_ && count <= count_ && base - base_ <= count_ - count;
  }
  void destroy() override;

 private:
  IoPortRange() : KernelObject(kType) {}
  uint32_t base_ = 0;
  uint32_t count_ = 0;
};

// One ISA interrupt line. Bound to a notification, each interrupt masks the line and signals
// the bound bits; the driver acknowledges (ack) to unmask it once it has served the device.
class InterruptLine final : public object::KernelObject {
 public:
  static constexpr object::ObjectType kType = object::ObjectType::kInterrupt;
  static constexpr uint32_t kLines = 16;
  // The object for line `irq` (created once, kept for the life of the kernel).
  static Result<object::RefPtr<InterruptLine>> get(uint32_t irq);
  uint32_t irq() const { return irq_; }
  // Routes the line (first time), binds `notification` with `bits` and unmasks it.
  Status bind(object::RefPtr<ipc::Notification> notification, uint64_t bits);
  void ack();
  void destroy() override;

  // From the arch interrupt path.
  static void on_interrupt(uint32_t irq);

 private:
  InterruptLine() : KernelObject(kType) {}
  uint32_t irq_ = 0;
  Spinlock lock_;
  object::RefPtr<ipc::Notification> notification_;
  uint64_t bits_ = 0;
  bool routed_ = false;
};

}  // namespace exo::device
