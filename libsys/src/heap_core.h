// HeapCore: the ring-3 allocator's logic (size classes, free lists, misuse checks), host-tested.
#pragma once

#include "kernel/lib/types.h"

namespace exo::sys {

// Where the heap gets memory: `map` returns `bytes` (a multiple of kHeapPageSize) of zeroed or
// dirty page-aligned memory, or nullptr; `unmap` gives back exactly what one map returned.
struct PageSource {
  void* (*map)(void* context, usize bytes);
  void (*unmap)(void* context, void* address, usize bytes);
  void* context;
};

inline constexpr usize kHeapPageSize = 4096;

enum class HeapFailure : uint8_t {
  kNone,
  kDoubleFree,   // the block is already free
  kInvalidFree,  // the pointer is not one the heap gave out (or a large block freed twice)
};

// Small requests (up to kMaxSmall bytes) come from 64 KiB chunks, one size class per chunk,
// power-of-two blocks of 32..4096 bytes with a 16-byte header in front of each; freed blocks go
// on a per-class LIFO free list. Larger requests get their own mapping, returned on free.
// Every block's header records whether it is live, and free() only accepts a pointer that is a
// block boundary of one of the heap's chunks or a live large block, so double and invalid
// frees are reported instead of corrupting the lists.
//
// Not synchronised: the caller holds one lock around every call. No globals, no syscalls.
class HeapCore {
 public:
  static constexpr usize kAlignment = 16;
  static constexpr usize kHeaderSize = 16;
  static constexpr usize kClassCount = 8;
  static constexpr usize kMinBlock = 32;
  static constexpr usize kMaxBlock = kMinBlock << (kClassCount - 1);  // 4096
  static constexpr usize kMaxSmall = kMaxBlock - kHeaderSize;
  static constexpr usize kChunkSize = 64 * KiB;

  explicit constexpr HeapCore(PageSource source) : source_(source) {}
  HeapCore(const HeapCore&) = delete;
  HeapCore& operator=(const HeapCore&) = delete;

  // kAlignment-aligned memory for `size` bytes (0 is treated as 1), or nullptr when the page
  // source fails or the size is absurd.
  void* allocate(usize size);
  // Frees `pointer` (non-null) or reports why it cannot, leaving the heap unchanged.
  HeapFailure release(void* pointer);
  // The requested size of a live block. Precondition: `pointer` is live.
  usize size_of(const void* pointer) const;
  // Bytes the block can hold without moving. Precondition: `pointer` is live.
  usize capacity_of(const void* pointer) const;

  usize bytes_in_use() const { return bytes_in_use_; }
  usize live_blocks() const { return live_blocks_; }
  usize mapped_bytes() const { return mapped_bytes_; }

  // Gives every chunk and large block back to the page source (host tests; a process just exits).
  void release_all();

 private:
  struct Header {
    uint32_t magic;
    uint32_t class_index;  // kLargeClass for a large block
    uint64_t size;         // requested bytes
  };
  struct FreeBlock {
    FreeBlock* next;
  };
  struct Chunk {
    Chunk* next;
    uptr first_block;  // address of the first block's header
    uptr end;          // one past the last byte of the mapping
    uptr bump;         // next never-used block
    uint32_t class_index;
  };
  struct Large {
    Large* next;
    Large* prev;
    usize mapped;  // bytes of the mapping
    uint64_t pad;
    Header header;  // immediately before the user pointer
  };
  static_assert(sizeof(Header) == kHeaderSize);
  static_assert(sizeof(Large) % kAlignment == 0);

  static constexpr uint32_t kLiveMagic = 0xa110c8edu;
  static constexpr uint32_t kFreeMagic = 0xf4eeb10cu;
  static constexpr uint32_t kLargeClass = 0xffffffffu;

  static constexpr usize block_size(uint32_t class_index) { return kMinBlock << class_index; }
  static uint32_t class_for(usize size);
  Chunk* find_chunk(uptr header_address) const;
  Large* find_large(uptr user_address) const;
  void* allocate_small(usize size);
  void* allocate_large(usize size);

  PageSource source_;
  FreeBlock* free_lists_[kClassCount] = {};
  Chunk* chunks_ = nullptr;
  Chunk* current_[kClassCount] = {};
  Large* large_ = nullptr;
  usize bytes_in_use_ = 0;
  usize live_blocks_ = 0;
  usize mapped_bytes_ = 0;
};

}  // namespace exo::sys
