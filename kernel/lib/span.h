// Span<T>: a bounds-carrying view of contiguous memory that the code does not own.
#pragma once

#include "kernel/lib/types.h"

namespace exo {

template <typename T>
class Span {
 public:
  constexpr Span() = default;
  constexpr Span(T* data, usize size) : data_(data), size_(size) {}
  template <usize N>
  constexpr Span(T (&array)[N]) : data_(array), size_(N) {}

  constexpr T* data() const { return data_; }
  constexpr usize size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  // Precondition: index < size().
  constexpr T& operator[](usize index) const { return data_[index]; }
  constexpr T* begin() const { return data_; }
  constexpr T* end() const { return data_ + size_; }

  // Returns the empty span when the requested range does not lie inside this one.
  constexpr Span subspan(usize offset, usize count) const {
    if (offset > size_ || count > size_ - offset) return Span();
    return Span(data_ + offset, count);
  }
  constexpr Span subspan(usize offset) const {
    if (offset > size_) return Span();
    return Span(data_ + offset, size_ - offset);
  }
  // True when [offset, offset + count) lies inside the span, without overflow.
  constexpr bool contains_range(usize offset, usize count) const {
    return offset <= size_ && count <= size_ - offset;
  }

 private:
  T* data_ = nullptr;
  usize size_ = 0;
};

using ByteSpan = Span<const uint8_t>;
using MutableByteSpan = Span<uint8_t>;

}  // namespace exo
