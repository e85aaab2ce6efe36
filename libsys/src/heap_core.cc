// HeapCore: size-class chunks, free lists, large mappings and misuse detection.
#include "libsys/src/heap_core.h"

#include "kernel/lib/utility.h"

namespace exo::sys {

uint32_t HeapCore::class_for(usize size) {
  usize need = size + kHeaderSize;
  uint32_t index = 0;
  while (block_size(index) < need) ++index;
  return index;
}

HeapCore::Chunk* HeapCore::find_chunk(uptr header_address) const {
  for (Chunk* chunk = chunks_; chunk != nullptr; chunk = chunk->next) {
    if (header_address >= chunk->first_block && header_address < chunk->bump) return chunk;
  }
  return nullptr;
}

HeapCore::Large* HeapCore::find_large(uptr user_address) const {
  for (Large* large = large_; large != nullptr; large = large->next) {
    if (reinterpret_cast<uptr>(large + 1) == user_address) return large;
  }
  return nullptr;
}

void* HeapCore::allocate(usize size) {
  if (size == 0) size = 1;
  return size <= kMaxSmall ? allocate_small(size) : allocate_large(size);
}

void* HeapCore::allocate_small(usize size) {
  uint32_t index = class_for(size);
  usize block = block_size(index);
  Header* header = nullptr;
  if (FreeBlock* free = free_lists_[index]; free != nullptr) {
    free_lists_[index] = free->next;
    header = reinterpret_cast<Header*>(reinterpret_cast<uptr>(free) - kHeaderSize);
  } else {
    Chunk* chunk = current_[index];
    if (chunk == nullptr || chunk->end - chunk->bump < block) {
      void* memory = source_.map(source_.context, kChunkSize);
      if (memory == nullptr) return nullptr;
      mapped_bytes_ += kChunkSize;
      chunk = static_cast<Chunk*>(memory);
      uptr base = reinterpret_cast<uptr>(memory);
      chunk->next = chunks_;
      chunk->first_block = align_up<uptr>(base + sizeof(Chunk), kAlignment);
      chunk->end = base + kChunkSize;
      chunk->bump = chunk->first_block;
      chunk->class_index = index;
      chunks_ = chunk;
      current_[index] = chunk;
    }
    header = reinterpret_cast<Header*>(chunk->bump);
    chunk->bump += block;
  }
  header->magic = kLiveMagic;
  header->class_index = index;
  header->size = size;
  bytes_in_use_ += size;
  ++live_blocks_;
  return header + 1;
}

void* HeapCore::allocate_large(usize size) {
  usize total = 0;
  if (!checked_add<usize>(size, sizeof(Large) + kHeapPageSize - 1, &total)) return nullptr;
  total = align_down<usize>(total, kHeapPageSize);
  void* memory = source_.map(source_.context, total);
  if (memory == nullptr) return nullptr;
  mapped_bytes_ += total;
  auto* large = static_cast<Large*>(memory);
  large->prev = nullptr;
  large->next = large_;
  if (large_ != nullptr) large_->prev = large;
  large_ = large;
  large->mapped = total;
  large->header = Header{kLiveMagic, kLargeClass, size};
  bytes_in_use_ += size;
  ++live_blocks_;
  return large + 1;
}

HeapFailure HeapCore::release(void* pointer) {
  uptr address = reinterpret_cast<uptr>(pointer);
  if (address % kAlignment != 0 || address < kHeaderSize) return HeapFailure::kInvalidFree;
  uptr header_address = address - kHeaderSize;
  if (Chunk* chunk = find_chunk(header_address); chunk != nullptr) {
    if ((header_address - chunk->first_block) % block_size(chunk->class_index) != 0) {
      return HeapFailure::kInvalidFree;
    }
    auto* header = reinterpret_cast<Header*>(header_address);
    if (header->magic == kFreeMagic) return HeapFailure::kDoubleFree;
    if (header->magic != kLiveMagic || header->class_index != chunk->class_index) {
      return HeapFailure::kInvalidFree;  // heap corruption: a write ran over the header
    }
    header->magic = kFreeMagic;
    bytes_in_use_ -= header->size;
    --live_blocks_;
    auto* free = reinterpret_cast<FreeBlock*>(address);
    free->next = free_lists_[chunk->class_index];
    free_lists_[chunk->class_index] = free;
    return HeapFailure::kNone;
  }
  Large* large = find_large(address);
  if (large == nullptr) return HeapFailure::kInvalidFree;
  if (large->header.magic != kLiveMagic) return HeapFailure::kInvalidFree;
  if (large->prev != nullptr)
    large->prev->next = large->next;
  else
    large_ = large->next;
  if (large->next != nullptr) large->next->prev = large->prev;
  bytes_in_use_ -= large->header.size;
  --live_blocks_;
  mapped_bytes_ -= large->mapped;
  source_.unmap(source_.context, large, large->mapped);
  return HeapFailure::kNone;
}

usize HeapCore::size_of(const void* pointer) const {
  return (static_cast<const Header*>(pointer) - 1)->size;
}

usize HeapCore::capacity_of(const void* pointer) const {
  const Header* header = static_cast<const Header*>(pointer) - 1;
  if (header->class_index == kLargeClass) {
    const Large* large = reinterpret_cast<const Large*>(pointer) - 1;
    return large->mapped - sizeof(Large);
  }
  return block_size(header->class_index) - kHeaderSize;
}

void HeapCore::release_all() {
  while (large_ != nullptr) {
    Large* next = large_->next;
    source_.unmap(source_.context, large_, large_->mapped);
    large_ = next;
  }
  while (chunks_ != nullptr) {
    Chunk* next = chunks_->next;
    source_.unmap(source_.context, chunks_, kChunkSize);
    chunks_ = next;
  }
  for (usize i = 0; i < kClassCount; ++i) {
    free_lists_[i] = nullptr;
    current_[i] = nullptr;
  }
  bytes_in_use_ = live_blocks_ = mapped_bytes_ = 0;
}

}  // namespace exo::sys
