// Buddy allocator: split on allocation, coalesce on free, grow the backed range on demand.
#include "kernel/mm/buddy.h"

#include "kernel/lib/utility.h"

namespace exo::mm {

Status BuddyAllocator::init(uptr base, usize size, MutableByteSpan map, HeapBacking* backing) {
  if (map_ != nullptr || backing == nullptr || size == 0) return Error::kInvalidArgument;
  if (!is_aligned(base, uptr{kMaxBlock}) || !is_aligned(size, kMinBlock)) {
    return Error::kNotAligned;
  }
  uptr end;
  // Leave room for one more max block past the end so growth arithmetic cannot wrap.
  if (!checked_add(base, size, &end) || !checked_add(end, uptr{kMaxBlock}, &end)) {
    return Error::kOverflow;
  }
  if (map.size() < map_bytes_needed(size)) return Error::kOutOfRange;
  __builtin_memset(map.data(), 0, map_bytes_needed(size));
  base_ = base;
  size_ = size;
  brk_ = base;
  map_ = map.data();
  backing_ = backing;
  return ok_status();
}

void BuddyAllocator::push(usize index, unsigned order) {
  auto* block = reinterpret_cast<FreeBlock*>(address_of(index));
  FreeBlock* head = free_lists_[order];
  block->next = head;
  block->prev = nullptr;
  if (head != nullptr) head->prev = block;
  free_lists_[order] = block;
  nonempty_ |= 1u << order;
  set_map(index, BlockInfo::make(BlockInfo::State::kFree, order, false));
}

void BuddyAllocator::unlink(usize index, unsigned order) {
  auto* block = reinterpret_cast<FreeBlock*>(address_of(index));
  if (block->prev != nullptr) {
    block->prev->next = block->next;
  } else {
    free_lists_[order] = block->next;
  }
  if (block->next != nullptr) block->next->prev = block->prev;
  if (free_lists_[order] == nullptr) nonempty_ &= ~(1u << order);
  set_map(index, BlockInfo());
}

void BuddyAllocator::release(usize index, unsigned order) {
  while (order < kMaxOrder) {
    usize buddy = index ^ (usize{1} << order);
    if (address_of(buddy) >= brk_) break;
    BlockInfo info(map_[buddy]);
    if (info.state() != BlockInfo::State::kFree || info.order() != order) break;
    unlink(buddy, order);
    index = min(index, buddy);
    ++order;
  }
  push(index, order);
}

Status BuddyAllocator::grow(unsigned order) {
  uptr limit = base_ + size_;
  unsigned target = max(order, kGrowOrder);
  uptr new_brk = align_up(brk_, uptr{kMinBlock} << target) + (uptr{kMinBlock} << target);
  if (new_brk > limit) {
    new_brk = align_up(brk_, uptr{kMinBlock} << order) + (uptr{kMinBlock} << order);
    if (new_brk > limit) return Error::kNoMemory;
  }
  EXO_TRY(backing_->back(brk_, new_brk - brk_));
  usize index = index_of(brk_);
  usize end = index_of(new_brk);
  brk_ = new_brk;
  backed_ = brk_ - base_;
  free_bytes_ += (end - index) << kMinShift;
  // Carve the new range into the largest aligned blocks that fit; release() merges them with
  // any free buddy below the old break.
  while (index < end) {
    unsigned k = 0;
    while (k < kMaxOrder && (index & (usize{1} << k)) == 0 && index + (usize{2} << k) <= end) ++k;
    release(index, k);
    index += usize{1} << k;
  }
  return ok_status();
}

Result<void*> BuddyAllocator::allocate_order(unsigned order, bool tagged) {
  if (order > kMaxOrder) return Error::kInvalidArgument;
  uint32_t candidates = nonempty_ & ~((1u << order) - 1);
  if (candidates == 0) {
    EXO_TRY(grow(order));
    candidates = nonempty_ & ~((1u << order) - 1);
    if (candidates == 0) return Error::kNoMemory;
  }
  auto k = static_cast<unsigned>(__builtin_ctz(candidates));
  usize index = index_of(reinterpret_cast<uptr>(free_lists_[k]));
  unlink(index, k);
  while (k > order) {
    --k;
    push(index + (usize{1} << k), k);
  }
  set_map(index, BlockInfo::make(BlockInfo::State::kAllocated, order, tagged));
  free_bytes_ -= kMinBlock << order;
  return reinterpret_cast<void*>(address_of(index));
}

Status BuddyAllocator::free(void* block, bool tagged) {
  auto address = reinterpret_cast<uptr>(block);
  if (address < base_ || address >= brk_ || !is_aligned(address, uptr{kMinBlock})) {
    return Error::kInvalidArgument;
  }
  usize index = index_of(address);
  BlockInfo info(map_[index]);
  if (info.state() == BlockInfo::State::kFree) return Error::kAlreadyExists;
  if (info.state() == BlockInfo::State::kNone) {
    // Not a head: either inside a free block (this block was freed and has since merged with
    // its buddy, so this is a double free) or inside an allocated block (a bad pointer).
    for (unsigned k = 1; k <= kMaxOrder; ++k) {
      usize head = index & ~((usize{1} << k) - 1);
      BlockInfo outer(map_[head]);
      if (outer.state() != BlockInfo::State::kNone && outer.order() >= k) {
        return outer.state() == BlockInfo::State::kFree ? Error::kAlreadyExists
                                                        : Error::kInvalidArgument;
      }
    }
    return Error::kInvalidArgument;
  }
  if (info.tagged() != tagged) return Error::kInvalidArgument;
  unsigned order = info.order();
  set_map(index, BlockInfo());
  free_bytes_ += kMinBlock << order;
  release(index, order);
  return ok_status();
}

Result<usize> BuddyAllocator::allocated_size(const void* block) const {
  BlockInfo i = info(reinterpret_cast<uptr>(block));
  if (i.state() != BlockInfo::State::kAllocated) return Error::kInvalidArgument;
  return kMinBlock << i.order();
}

usize BuddyAllocator::free_blocks(unsigned order) const {
  if (order > kMaxOrder) return 0;
  usize count = 0;
  for (FreeBlock* b = free_lists_[order]; b != nullptr; b = b->next) ++count;
  return count;
}

}  // namespace exo::mm
