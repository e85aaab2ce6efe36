// I/O-port ranges and interrupt lines.
#include "kernel/device/device.h"

#include "kernel/arch/arch.h"
#include "kernel/lib/new.h"
#include "kernel/mm/kernel_memory.h"

namespace exo::device {

using object::RefPtr;

Result<RefPtr<IoPortRange>> IoPortRange::create(uint32_t base, uint32_t count) {
  if (count == 0) return Error::kInvalidArgument;
  if (base > 65536 || count > 65536 - base) return Error::kOutOfRange;
  void* memory = mm::heap_allocate(sizeof(IoPortRange), alignof(IoPortRange));
  if (memory == nullptr) return Error::kNoMemory;
  auto* range = new (memory) IoPortRange();
  range->base_ = base;
  range->count_ = count;
  return object::adopt_ref(range);
}

void IoPortRange::destroy() {
  this->~IoPortRange();
  mm::heap_free(this);
}

namespace {
constinit InterruptLine* g_lines[InterruptLine::kLines] = {};
constinit Spinlock g_lines_lock;
}  // namespace

Result<RefPtr<InterruptLine>> InterruptLine::get(uint32_t irq) {
  if (irq >= kLines) return Error::kInvalidArgument;
  SpinlockGuard guard(g_lines_lock);
  if (g_lines[irq] == nullptr) {
    void* memory = mm::heap_allocate(sizeof(InterruptLine), alignof(InterruptLine));
    if (memory == nullptr) return Error::kNoMemory;
    auto* line = new (memory) InterruptLine();
    line->irq_ = irq;
    g_lines[irq] = line;  // this table's reference: lines live as long as the kernel
  }
  return object::retain_ref(g_lines[irq]);
}

void InterruptLine::destroy() {
  // Never reached: the table above keeps one reference to every line.
  this->~InterruptLine();
  mm::heap_free(this);
}

Status InterruptLine::bind(RefPtr<ipc::Notification> notification, uint64_t bits) {
  RefPtr<ipc::Notification> previous;
  {
    SpinlockGuard guard(lock_);
    if (!routed_) {
      EXO_TRY(arch::isa_irq_route(irq_, &InterruptLine::on_interrupt));
      routed_ = true;
    }
    previous = move(notification_);
    notification_ = move(notification);
    bits_ = bits;
  }
  arch::isa_irq_set_masked(irq_, false);
  return ok_status();  // `previous` drops here, outside the lock
}

void InterruptLine::ack() {
  SpinlockGuard guard(lock_);
  if (routed_ && notification_) arch::isa_irq_set_masked(irq_, false);
}

void InterruptLine::on_interrupt(uint32_t irq) {
  InterruptLine* line = irq < kLines ? __atomic_load_n(&g_lines[irq], __ATOMIC_ACQUIRE) : nullptr;
  if (line == nullptr) return;
  // Masked until the driver acknowledges: a level-triggered line would otherwise fire again
  // at once, and an edge one must not signal faster than the driver serves it.
  arch::isa_irq_set_masked(irq, true);
  // Under the line's lock, so a concurrent bind cannot drop the notification in between; no
  // reference is taken or dropped here (interrupt context).
  line->lock_.acquire_irqs_off();
  if (line->notification_) line->notification_->signal(line->bits_);
  line->lock_.release_irqs_off();
}

}  // namespace exo::device
