// HandleTable: slot allocation, handle encoding and the checked operations (see handle_table.h).
#include "kernel/object/handle_table.h"

namespace exo::object {

HandleTable::HandleTable(Span<HandleSlot> storage, uint32_t salt)
    : slots_(storage.data()),
      capacity_(min(storage.size(), kMaxCapacity)),
      // Bit 0 stays 1 after the XOR, so no handle is ever kInvalidHandle.
      salt_(salt & ~1u) {
  for (usize i = 0; i < capacity_; ++i) free_slot(static_cast<uint32_t>(i));
}

HandleTable::~HandleTable() {
  clear();
}

Handle HandleTable::encode(uint32_t index, uint16_t generation) const {
  uint32_t raw = (static_cast<uint32_t>(generation) << (kIndexBits + 1)) | (index << 1) | 1u;
  return raw ^ salt_;
}

Result<uint32_t> HandleTable::allocate_slot() {
  if (free_head_ == kNoSlot) return Error::kNoMemory;
  uint32_t index = free_head_;
  free_head_ = slots_[index].next_free_;
  if (free_head_ == kNoSlot) free_tail_ = kNoSlot;
  return index;
}

void HandleTable::note_removal() {
  // Single writer (the table's lock); release, so a reader that sees the old value knows no
  // reference was dropped on behalf of this removal before its own synchronisation point.
  __atomic_store_n(&removals_, removals_ + 1, __ATOMIC_RELEASE);
}

void HandleTable::free_slot(uint32_t index) {
  note_removal();
  HandleSlot& slot = slots_[index];
  slot.state_ = HandleSlot::State::kFree;
  slot.rights_ = Rights::kNone;
  slot.generation_ = static_cast<uint16_t>((slot.generation_ + 1) & kGenerationMask);
  slot.next_free_ = kNoSlot;
  if (free_tail_ == kNoSlot) {
    free_head_ = index;
  } else {
    slots_[free_tail_].next_free_ = index;
  }
  free_tail_ = index;
}

Result<Handle> HandleTable::add(RefPtr<KernelObject> object, Rights rights) {
  if (!object || (rights_bits(rights) & ~kAllRightsBits) != 0) return Error::kInvalidArgument;
  uint32_t index = EXO_TRY(allocate_slot());
  HandleSlot& slot = slots_[index];
  slot.object_ = move(object);
  slot.rights_ = rights;
  slot.state_ = HandleSlot::State::kUsed;
  ++count_;
  return encode(index, slot.generation_);
}

Result<RefPtr<KernelObject>> HandleTable::get(Handle handle, ObjectType expected,
                                              Rights required) const {
  HandleSlot* slot = lookup(handle, HandleSlot::State::kUsed);
  if (slot == nullptr) return Error::kBadHandle;
  if (expected != ObjectType::kNone && slot->object_->type() != expected) return Error::kWrongType;
  if (!has_rights(slot->rights_, required)) return Error::kAccessDenied;
  return slot->object_;
}

Result<Rights> HandleTable::rights_of(Handle handle) const {
  HandleSlot* slot = lookup(handle, HandleSlot::State::kUsed);
  if (slot == nullptr) return Error::kBadHandle;
  return slot->rights_;
}

Result<Handle> HandleTable::duplicate(Handle handle, Rights rights) {
  HandleSlot* slot = lookup(handle, HandleSlot::State::kUsed);
  if (slot == nullptr) return Error::kBadHandle;
  if ((rights_bits(rights) & ~kAllRightsBits) != 0) return Error::kInvalidArgument;
  if (!has_rights(slot->rights_, Rights::kDuplicate) || !has_rights(slot->rights_, rights)) {
    return Error::kAccessDenied;
  }
  return add(slot->object_, rights);
}

Result<HandleEntry> HandleTable::take(Handle handle) {
  HandleSlot* slot = lookup(handle, HandleSlot::State::kUsed);
  if (slot == nullptr) return Error::kBadHandle;
  HandleEntry entry{move(slot->object_), slot->rights_};
  free_slot(index_of(slot));
  --count_;
  return entry;
}

Status HandleTable::close(Handle handle) {
  EXO_TRY(take(handle));
  return ok_status();
}

Result<HandleEntry> HandleTable::remove_for_transfer(Handle handle) {
  HandleSlot* slot = lookup(handle, HandleSlot::State::kUsed);
  if (slot == nullptr) return Error::kBadHandle;
  if (!has_rights(slot->rights_, Rights::kTransfer)) return Error::kAccessDenied;
  note_removal();
  HandleEntry entry{move(slot->object_), slot->rights_};
  slot->state_ = HandleSlot::State::kInTransit;
  --count_;
  return entry;
}

Status HandleTable::commit_transfer(Handle handle) {
  HandleSlot* slot = lookup(handle, HandleSlot::State::kInTransit);
  if (slot == nullptr) return Error::kBadHandle;
  free_slot(index_of(slot));
  return ok_status();
}

Status HandleTable::restore(Handle handle, HandleEntry&& entry) {
  HandleEntry owned = move(entry);
  HandleSlot* slot = lookup(handle, HandleSlot::State::kInTransit);
  if (slot == nullptr) return Error::kBadHandle;
  if (!owned.object_) {
    // Nothing to put back: settle the reservation as if the transfer had gone through.
    free_slot(index_of(slot));
    return Error::kInvalidArgument;
  }
  slot->object_ = move(owned.object_);
  slot->rights_ = owned.rights_;
  slot->state_ = HandleSlot::State::kUsed;
  ++count_;
  return ok_status();
}

void HandleTable::clear() {
  note_removal();  // before the first reference is dropped below
  for (usize i = 0; i < capacity_; ++i) {
    if (slots_[i].state_ != HandleSlot::State::kUsed) continue;
    slots_[i].object_.reset();
    free_slot(static_cast<uint32_t>(i));
    --count_;
  }
}

}  // namespace exo::object
