// HandleTable: a process's fixed-capacity, generation-checked map of handles to objects + rights.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/lib/types.h"
#include "kernel/object/kernel_object.h"
#include "kernel/object/ref_counted.h"
#include "kernel/object/rights.h"

namespace exo::object {

// A handle as user space sees it: 32 bits, never 0. Layout (before the per-table salt is XORed
// in): bit 0 is always 1, bits 1..16 the slot index, bits 17..31 the slot's generation. The
// generation moves on every time the slot is freed, so a stale handle (closed, or closed and its
// slot reused) no longer matches and is refused with kBadHandle instead of reaching the new
// occupant. It wraps after 32768 reuses of one slot; the free list hands slots out oldest-freed
// first, which makes reaching that on one slot take a whole table's worth of churn.
using Handle = uint32_t;
inline constexpr Handle kInvalidHandle = 0;

// What a handle carries, moved between tables when a handle travels in an IPC message.
struct HandleEntry {
  RefPtr<KernelObject> object_;
  Rights rights_ = Rights::kNone;
};

// One slot of a table's storage. Opaque: only HandleTable reads it. Default-constructed slots
// are free; the storage array must not be touched by anyone else while a table uses it.
class HandleSlot {
 public:
  HandleSlot() = default;
  HandleSlot(const HandleSlot&) = delete;
  HandleSlot& operator=(const HandleSlot&) = delete;

 private:
  friend class HandleTable;
  enum class State : uint8_t { kFree, kUsed, kInTransit };

  RefPtr<KernelObject> object_;
  Rights rights_ = Rights::kNone;
  uint32_t next_free_ = 0;
  uint16_t generation_ = 0;
  State state_ = State::kFree;
};

// Locking: not internally synchronised. The owning process guards its table with one lock held
// around each call. get() returns a new reference, so the object stays alive after that lock is
// dropped. Dropping a reference may destroy the object (KernelObject::destroy); callers that
// must not do that under the table lock use take() and drop the entry after unlocking.
//
// Every operation validates the handle value and returns an error for forged, stale, closed or
// in-transit values; nothing here asserts on a value user space supplied.
class HandleTable {
 public:
  static constexpr uint32_t kIndexBits = 16;
  static constexpr uint32_t kGenerationBits = 15;
  static constexpr usize kMaxCapacity = usize{1} << kIndexBits;

  // Uses `storage` (capacity = min(storage.size(), kMaxCapacity)); the storage must be freshly
  // default-constructed and outlive the table. `salt` (a random number from the kernel's entropy
  // pool, per process) is XORed into every handle value so that values are not predictable from
  // one process to another; 0 is fine for tests.
  explicit HandleTable(Span<HandleSlot> storage, uint32_t salt = 0);
  // Drops every reference still held. Precondition: no transfer is in flight
  // (remove_for_transfer without commit_transfer/restore).
  ~HandleTable();
  HandleTable(const HandleTable&) = delete;
  HandleTable& operator=(const HandleTable&) = delete;

  usize capacity() const { return capacity_; }
  // Live handles (in-transit slots not counted, since they cannot be used).
  usize count() const { return count_; }

  // Installs `object` with `rights`, taking over the reference. kInvalidArgument for a null
  // object or undefined rights bits; kNoMemory when the table is full (the reference is dropped).
  Result<Handle> add(RefPtr<KernelObject> object, Rights rights);

  // A new reference to the object `handle` names. kBadHandle when the value names no live entry;
  // kWrongType when it names another type (`expected` = kNone accepts any type); kAccessDenied
  // when it lacks any of `required`. Checked in that order.
  Result<RefPtr<KernelObject>> get(Handle handle, ObjectType expected, Rights required) const;
  // Typed lookup: T declares `static constexpr ObjectType kType`.
  template <typename T>
  Result<RefPtr<T>> get(Handle handle, Rights required) const {
    RefPtr<KernelObject> object = EXO_TRY(get(handle, T::kType, required));
    return static_ref_cast<T>(move(object));
  }
  // The object `handle` names when it is of type `expected` and carries `required`, else null,
  // with no new reference: it stays alive only while the caller keeps it alive by other means
  // (the table's lock, or a lock its destroy() takes; see Process::peek_handle_then_lock).
  KernelObject* peek(Handle handle, ObjectType expected, Rights required) const;
  // The rights `handle` carries; kBadHandle as for get().
  Result<Rights> rights_of(Handle handle) const;

  // A second handle to the same object with `rights`, which must be a subset of the source's.
  // kBadHandle; kAccessDenied when the source lacks kDuplicate or `rights` asks for more than it
  // holds; kInvalidArgument for undefined bits; kNoMemory when full.
  Result<Handle> duplicate(Handle handle, Rights rights);

  // Closes `handle`, dropping its reference here. kBadHandle as for get().
  Status close(Handle handle);
  // Closes `handle` and hands its entry (the reference) to the caller, to drop outside the lock.
  Result<HandleEntry> take(Handle handle);

  // First half of moving a handle into an IPC message: hands out the entry and makes the value
  // unusable at once, but keeps its slot reserved so restore() cannot fail. kBadHandle;
  // kAccessDenied without kTransfer. Then exactly one of:
  // - commit_transfer(handle): the receiver took it; the slot is freed, its generation moves on;
  // - restore(handle, move(entry)): delivery failed; the same value works again.
  // Both return kBadHandle (and restore drops the entry's reference) if `handle` is not in transit
  // here, which is a kernel bug rather than a user error. restore() of an empty entry frees the
  // reservation and returns kInvalidArgument.
  Result<HandleEntry> remove_for_transfer(Handle handle);
  Status commit_transfer(Handle handle);
  Status restore(Handle handle, HandleEntry&& entry);

  // Closes every handle (process exit). In-transit slots are left for their commit/restore.
  void clear();

  // Moves on whenever a handle stops naming its object (close, take, transfer out, clear),
  // before any reference it held is dropped. A lookup remembered with this value is still
  // right while the value has not moved (the IPC fast path's per-thread cache). May be read
  // without the table's lock.
  uint64_t removals() const { return __atomic_load_n(&removals_, __ATOMIC_ACQUIRE); }

 private:
  static constexpr uint32_t kNoSlot = 0xffff'ffff;
  static constexpr uint32_t kGenerationMask = (1u << kGenerationBits) - 1;

  Handle encode(uint32_t index, uint16_t generation) const;
  // The slot `handle` names if it is in `state`, else null.
  HandleSlot* lookup(Handle handle, HandleSlot::State state) const;
  Result<uint32_t> allocate_slot();
  void free_slot(uint32_t index);
  void note_removal();
  uint32_t index_of(const HandleSlot* slot) const { return static_cast<uint32_t>(slot - slots_); }

  HandleSlot* slots_;
  usize capacity_;
  uint32_t salt_;
  usize count_ = 0;
  // FIFO free list (oldest freed first), linked through next_free_.
  uint32_t free_head_ = kNoSlot;
  uint32_t free_tail_ = kNoSlot;
  uint64_t removals_ = 0;  // written under the table's lock, read by anyone (removals())
};

// Inline: the IPC fast path looks a handle up on every call.
inline HandleSlot* HandleTable::lookup(Handle handle, HandleSlot::State state) const {
  uint32_t raw = handle ^ salt_;
  if ((raw & 1u) == 0) return nullptr;
  uint32_t index = (raw >> 1) & ((1u << kIndexBits) - 1);
  uint32_t generation = raw >> (kIndexBits + 1);
  if (index >= capacity_) return nullptr;
  HandleSlot* slot = &slots_[index];
  if (slot->state_ != state || slot->generation_ != generation) return nullptr;
  return slot;
}

inline KernelObject* HandleTable::peek(Handle handle, ObjectType expected, Rights required) const {
  HandleSlot* slot = lookup(handle, HandleSlot::State::kUsed);
  if (slot == nullptr || slot->object_->type() != expected || !has_rights(slot->rights_, required)) {
    return nullptr;
  }
  return slot->object_.get();
}

// A HandleTable that carries its own storage for N slots.
template <usize N>
struct HandleTableStorage {
  HandleSlot storage_[N];
};
template <usize N>
class InlineHandleTable : private HandleTableStorage<N>, public HandleTable {
 public:
  explicit InlineHandleTable(uint32_t salt = 0)
      : HandleTableStorage<N>(), HandleTable(Span<HandleSlot>(this->storage_), salt) {}
};

}  // namespace exo::object
