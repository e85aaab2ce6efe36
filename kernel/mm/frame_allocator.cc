// Physical frame allocator: bitmap with two summary levels; FrameCache refill and drain.
#include "kernel/mm/frame_allocator.h"

#include "kernel/lib/utility.h"

namespace exo::mm {
namespace {

constexpr uint64_t kAllOnes = ~uint64_t{0};
// x86_64 physical addresses have at most 52 bits (Intel SDM vol. 3, 4.1.4: MAXPHYADDR <= 52).
constexpr uint64_t kMaxFrameLimit = uint64_t{1} << (52 - kPageShift);

constexpr usize words_for(usize bits) {
  return (bits + 63) / 64;
}
constexpr uint64_t bit(usize index) {
  return uint64_t{1} << (index % 64);
}
// Bits [from % 64, 63] of a word.
constexpr uint64_t mask_from(usize from) {
  return kAllOnes << (from % 64);
}

// Sets or clears bits [from, to) word by word.
void assign_range(uint64_t* bits, usize from, usize to, bool value) {
  while (from < to) {
    usize w = from / 64;
    uint64_t mask = mask_from(from);
    usize word_end = (w + 1) * 64;
    if (to < word_end) mask &= ~(kAllOnes << (to % 64));
    if (value) {
      bits[w] |= mask;
    } else {
      bits[w] &= ~mask;
    }
    from = word_end;
  }
}

uint64_t popcount(const uint64_t* bits, usize words) {
  uint64_t total = 0;
  for (usize w = 0; w < words; ++w) total += static_cast<uint64_t>(__builtin_popcountll(bits[w]));
  return total;
}

}  // namespace

FrameAllocator::Layout FrameAllocator::layout_for(uint64_t frame_limit) {
  Layout l;
  l.words0 = words_for(static_cast<usize>(frame_limit));
  l.words1 = words_for(l.words0);
  l.words2 = words_for(l.words1);
  return l;
}

usize FrameAllocator::bytes_needed(uint64_t frame_limit) {
  if (frame_limit == 0 || frame_limit > kMaxFrameLimit) return 0;
  Layout l = layout_for(frame_limit);
  return (2 * l.words0 + l.words1 + l.words2) * sizeof(uint64_t);
}

Status FrameAllocator::init(Span<const PhysRange> usable, Span<const PhysRange> reserved,
                            uint64_t frame_limit, MutableByteSpan storage) {
  if (frame_limit == 0 || frame_limit > kMaxFrameLimit || free_ != nullptr) {
    return Error::kInvalidArgument;
  }
  if ((reinterpret_cast<uptr>(storage.data()) % alignof(uint64_t)) != 0) return Error::kNotAligned;
  usize needed = bytes_needed(frame_limit);
  if (storage.size() < needed) return Error::kOutOfRange;

  // Validate every range before touching any state, so a failed init leaves nothing behind.
  for (const PhysRange& r : usable) {
    uint64_t end;
    if (!checked_add(r.base, r.size, &end)) return Error::kOverflow;
  }
  for (const PhysRange& r : reserved) {
    uint64_t end;
    if (!checked_add(r.base, r.size, &end) || end > kAllOnes - kPageSize) return Error::kOverflow;
  }

  __builtin_memset(storage.data(), 0, needed);
  Layout l = layout_for(frame_limit);
  auto* words = reinterpret_cast<uint64_t*>(storage.data());
  free_ = words;
  managed_ = free_ + l.words0;
  summary1_ = managed_ + l.words0;
  summary2_ = summary1_ + l.words1;
  layout_ = l;
  frame_limit_ = frame_limit;
  address_limit_ = frame_limit << kPageShift;

  for (const PhysRange& r : usable) {
    if (r.base > kAllOnes - kPageSize) continue;
    uint64_t first = align_up(r.base, uint64_t{kPageSize}) >> kPageShift;
    uint64_t last = align_down(r.base + r.size, uint64_t{kPageSize}) >> kPageShift;
    last = min(last, frame_limit);
    if (first < last) assign_range(managed_, first, last, true);
  }
  total_ = popcount(managed_, l.words0);

  for (const PhysRange& r : reserved) {
    if (r.size == 0) continue;
    uint64_t first = align_down(r.base, uint64_t{kPageSize}) >> kPageShift;
    uint64_t last = align_up(r.base + r.size, uint64_t{kPageSize}) >> kPageShift;
    last = min(last, frame_limit);
    if (first < last) assign_range(managed_, first, last, false);
  }
  assign_range(managed_, 0, min(frame_limit, uint64_t{kLowMemoryLimit >> kPageShift}), false);
  free_count_ = popcount(managed_, l.words0);
  reserved_ = total_ - free_count_;

  for (usize w = 0; w < l.words0; ++w) {
    free_[w] = managed_[w];
    if (free_[w] != 0) summary1_[w / 64] |= bit(w);
  }
  for (usize w = 0; w < l.words1; ++w) {
    if (summary1_[w] != 0) summary2_[w / 64] |= bit(w);
  }
  return ok_status();
}

usize FrameAllocator::next_free(usize from) const {
  if (from >= frame_limit_) return kNone;
  usize w0 = from / 64;
  uint64_t word = free_[w0] & mask_from(from);
  if (word != 0) return w0 * 64 + static_cast<usize>(__builtin_ctzll(word));

  // The next non-empty free_ word after w0, found through summary1, then summary2.
  usize i1 = w0 + 1;
  if (i1 >= layout_.words0) return kNone;
  usize w1 = i1 / 64;
  word = summary1_[w1] & mask_from(i1);
  if (word == 0) {
    usize i2 = w1 + 1;
    if (i2 >= layout_.words1) return kNone;
    usize w2 = i2 / 64;
    uint64_t top = summary2_[w2] & mask_from(i2);
    while (top == 0) {
      if (++w2 == layout_.words2) return kNone;
      top = summary2_[w2];
    }
    w1 = w2 * 64 + static_cast<usize>(__builtin_ctzll(top));
    word = summary1_[w1];
  }
  w0 = w1 * 64 + static_cast<usize>(__builtin_ctzll(word));
  return w0 * 64 + static_cast<usize>(__builtin_ctzll(free_[w0]));
}

usize FrameAllocator::next_used(usize from, usize to) const {
  while (from < to) {
    usize w = from / 64;
    uint64_t used = ~free_[w] & mask_from(from);
    if (used != 0) return min(to, w * 64 + static_cast<usize>(__builtin_ctzll(used)));
    from = (w + 1) * 64;
  }
  return to;
}

void FrameAllocator::mark_used(usize frame) {
  usize w0 = frame / 64;
  free_[w0] &= ~bit(frame);
  if (free_[w0] != 0) return;
  usize w1 = w0 / 64;
  summary1_[w1] &= ~bit(w0);
  if (summary1_[w1] != 0) return;
  summary2_[w1 / 64] &= ~bit(w1);
}

void FrameAllocator::mark_free(usize frame) {
  usize w0 = frame / 64;
  bool was_empty = free_[w0] == 0;
  free_[w0] |= bit(frame);
  if (!was_empty) return;
  usize w1 = w0 / 64;
  was_empty = summary1_[w1] == 0;
  summary1_[w1] |= bit(w0);
  if (was_empty) summary2_[w1 / 64] |= bit(w1);
}

Result<PhysAddr> FrameAllocator::alloc() {
  usize frame = next_free(0);
  if (frame == kNone) return Error::kNoMemory;
  mark_used(frame);
  --free_count_;
  return static_cast<PhysAddr>(frame) << kPageShift;
}

Status FrameAllocator::free(PhysAddr frame) {
  return free_run(frame, 1);
}

Result<PhysAddr> FrameAllocator::alloc_run(usize count, usize align_frames) {
  if (count == 0 || !is_power_of_two(align_frames)) return Error::kInvalidArgument;
  if (count > free_count_) return Error::kNoMemory;
  usize pos = 0;
  while (true) {
    usize first_free = next_free(pos);
    if (first_free == kNone) return Error::kNoMemory;
    // Computed without align_up so a huge alignment cannot wrap.
    usize start = first_free + ((align_frames - first_free % align_frames) % align_frames);
    if (start < first_free || start >= frame_limit_ || count > frame_limit_ - start) {
      return Error::kNoMemory;
    }
    usize used = next_used(start, start + count);
    if (used == start + count) {
      for (usize f = start; f < start + count; ++f) mark_used(f);
      free_count_ -= count;
      return static_cast<PhysAddr>(start) << kPageShift;
    }
    pos = used + 1;
  }
}

Status FrameAllocator::free_run(PhysAddr base, usize count) {
  if ((base & (kPageSize - 1)) != 0) return Error::kNotAligned;
  if (count == 0) return Error::kInvalidArgument;
  uint64_t first = base >> kPageShift;
  if (first >= frame_limit_ || count > frame_limit_ - first) return Error::kInvalidArgument;
  for (usize f = first; f < first + count; ++f) {
    if (!test(managed_, f)) return Error::kInvalidArgument;
  }
  for (usize f = first; f < first + count; ++f) {
    if (test(free_, f)) return Error::kAlreadyExists;
  }
  for (usize f = first; f < first + count; ++f) mark_free(f);
  free_count_ += count;
  return ok_status();
}

bool FrameAllocator::is_managed(PhysAddr frame) const {
  uint64_t f = frame >> kPageShift;
  return f < frame_limit_ && test(managed_, f);
}

bool FrameAllocator::is_free(PhysAddr frame) const {
  uint64_t f = frame >> kPageShift;
  return f < frame_limit_ && test(free_, f);
}

void FrameCache::refill(FrameAllocator& shared) {
  usize n = count_;
  while (n < kBatch) {
    Result<PhysAddr> frame = shared.alloc();
    if (!frame.ok()) break;
    frames_[n++] = *frame;
  }
  set_count(n);
}

Status FrameCache::drain(FrameAllocator& shared, usize count) {
  bool failed = false;
  Error first_error = Error::kInvalidArgument;
  count = min(count, count_);
  // The oldest frames go back first: the newest are the likeliest to be cache-hot.
  for (usize i = 0; i < count; ++i) {
    Status freed = shared.free(frames_[i]);
    if (!freed.ok() && !failed) {
      failed = true;
      first_error = freed.error();
    }
  }
  for (usize i = count; i < count_; ++i) frames_[i - count] = frames_[i];
  set_count(count_ - count);
  if (failed) return first_error;
  return ok_status();
}

}  // namespace exo::mm
