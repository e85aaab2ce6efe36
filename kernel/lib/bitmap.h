// Bitmap<N>: a fixed-size bit set with find-first/find-last, for CPU masks and priority levels.
#pragma once

#include "kernel/lib/types.h"

namespace exo {

// A value type of N bits, all clear on construction. Out-of-range indices are ignored by the
// mutators and read as clear, so a mask built from outside input cannot write past the array.
// Not synchronised: the owner says which lock guards it.
template <usize N>
class Bitmap {
  static_assert(N > 0, "an empty bitmap has no use");

 public:
  static constexpr usize kBits = N;
  // Returned by the find functions when no bit matches.
  static constexpr usize kNone = static_cast<usize>(-1);

  constexpr Bitmap() = default;

  // A bitmap with bits [0, count) set (count is clamped to N).
  static constexpr Bitmap first_n(usize count) {
    Bitmap b;
    for (usize i = 0; i < count && i < N; ++i) b.set(i);
    return b;
  }
  static constexpr Bitmap all() { return first_n(N); }
  static constexpr Bitmap single(usize index) {
    Bitmap b;
    b.set(index);
    return b;
  }

  constexpr void set(usize index) {
    if (index < N) words_[index / 64] |= bit(index);
  }
  constexpr void clear(usize index) {
    if (index < N) words_[index / 64] &= ~bit(index);
  }
  constexpr void assign(usize index, bool value) {
    if (value) {
      set(index);
    } else {
      clear(index);
    }
  }
  constexpr bool test(usize index) const {
    return index < N && (words_[index / 64] & bit(index)) != 0;
  }
  constexpr void clear_all() {
    for (usize w = 0; w < kWords; ++w) words_[w] = 0;
  }

  constexpr bool any() const {
    for (usize w = 0; w < kWords; ++w) {
      if (words_[w] != 0) return true;
    }
    return false;
  }
  constexpr bool none() const { return !any(); }
  constexpr usize count() const {
    usize total = 0;
    for (usize w = 0; w < kWords; ++w) total += static_cast<usize>(__builtin_popcountll(words_[w]));
    return total;
  }

  // Lowest set index, or kNone.
  constexpr usize find_first_set() const { return find_next_set(0); }
  // Lowest set index >= from, or kNone.
  constexpr usize find_next_set(usize from) const {
    if (from >= N) return kNone;
    usize w = from / 64;
    uint64_t word = words_[w] & (~uint64_t{0} << (from % 64));
    while (true) {
      if (word != 0) return w * 64 + static_cast<usize>(__builtin_ctzll(word));
      if (++w == kWords) return kNone;
      word = words_[w];
    }
  }
  // Highest set index, or kNone.
  constexpr usize find_last_set() const {
    for (usize w = kWords; w-- > 0;) {
      if (words_[w] != 0) return w * 64 + 63 - static_cast<usize>(__builtin_clzll(words_[w]));
    }
    return kNone;
  }
  // Lowest clear index, or kNone.
  constexpr usize find_first_clear() const {
    for (usize w = 0; w < kWords; ++w) {
      uint64_t inverted = ~words_[w];
      if (inverted != 0) {
        usize index = w * 64 + static_cast<usize>(__builtin_ctzll(inverted));
        return index < N ? index : kNone;
      }
    }
    return kNone;
  }

  constexpr Bitmap operator&(const Bitmap& other) const {
    Bitmap r;
    for (usize w = 0; w < kWords; ++w) r.words_[w] = words_[w] & other.words_[w];
    return r;
  }
  constexpr Bitmap operator|(const Bitmap& other) const {
    Bitmap r;
    for (usize w = 0; w < kWords; ++w) r.words_[w] = words_[w] | other.words_[w];
    return r;
  }
  constexpr bool operator==(const Bitmap& other) const {
    for (usize w = 0; w < kWords; ++w) {
      if (words_[w] != other.words_[w]) return false;
    }
    return true;
  }
  constexpr bool operator!=(const Bitmap& other) const { return !(*this == other); }

  // Raw 64-bit word `index` (bits [64*index, 64*index+63]); 0 past the end. For ABI copies.
  constexpr uint64_t word(usize index) const { return index < kWords ? words_[index] : 0; }
  // Sets word `index`; bits at or above N are dropped so the invariant "no bit >= N" holds.
  constexpr void set_word(usize index, uint64_t value) {
    if (index >= kWords) return;
    if (index == kWords - 1 && N % 64 != 0) value &= (uint64_t{1} << (N % 64)) - 1;
    words_[index] = value;
  }
  static constexpr usize kWords = (N + 63) / 64;

 private:
  static constexpr uint64_t bit(usize index) { return uint64_t{1} << (index % 64); }

  uint64_t words_[kWords] = {};
};

}  // namespace exo
