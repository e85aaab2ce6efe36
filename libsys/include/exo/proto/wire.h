// Wire encoding for generated protocol code: views, Optional, and the bounds-checked
// Encoder/Decoder that every generated encode()/decode() is written against.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "handle.h"
#include "message.h"

namespace exo::proto {

// Bytes inside a message (after decode) or inside the caller's memory (before encode). Never
// owns; after decode it is valid as long as the message it came from is not reused.
struct BytesView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  constexpr BytesView() = default;
  constexpr BytesView(const uint8_t* d, size_t n) : data(d), size(n) {}
  BytesView(const void* d, size_t n) : data(static_cast<const uint8_t*>(d)), size(n) {}
};

// UTF-8 text inside a message, not NUL-terminated. Decode guarantees valid UTF-8.
struct StringView {
  const char* data = nullptr;
  size_t size = 0;

  constexpr StringView() = default;
  constexpr StringView(const char* d, size_t n) : data(d), size(n) {}
  template <size_t N>
  constexpr StringView(const char (&literal)[N]) : data(literal), size(N - 1) {}
};

inline bool equal_bytes(const void* a, const void* b, size_t n) {
  return n == 0 || __builtin_memcmp(a, b, n) == 0;
}
inline bool operator==(BytesView a, BytesView b) {
  return a.size == b.size && equal_bytes(a.data, b.data, a.size);
}
inline bool operator==(StringView a, StringView b) {
  return a.size == b.size && equal_bytes(a.data, b.data, a.size);
}

// A value that may be absent. T must be default-constructible and trivially copyable, as all
// generated types are.
template <typename T>
class Optional {
 public:
  constexpr Optional() = default;
  constexpr Optional(const T& value) : value_(value), has_value_(true) {}
  constexpr Optional& operator=(const T& value) {
    value_ = value;
    has_value_ = true;
    return *this;
  }

  constexpr bool has_value() const { return has_value_; }
  // Precondition: has_value().
  constexpr T& value() { return value_; }
  constexpr const T& value() const { return value_; }
  // Makes the value present (default-initialised) and returns it for filling in.
  constexpr T& emplace() {
    value_ = T{};
    has_value_ = true;
    return value_;
  }
  constexpr void reset() {
    value_ = T{};
    has_value_ = false;
  }

  friend constexpr bool operator==(const Optional& a, const Optional& b) {
    return a.has_value_ == b.has_value_ && (!a.has_value_ || a.value_ == b.value_);
  }

 private:
  T value_{};
  bool has_value_ = false;
};

// A fixed-length array field: a struct rather than a bare C array so that it copies, compares
// and fits in templates (Optional<Array<...>>) like every other field type.
template <typename T, size_t N>
struct Array {
  T items[N]{};

  static constexpr size_t size() { return N; }
  // Precondition: index < N.
  constexpr T& operator[](size_t index) { return items[index]; }
  constexpr const T& operator[](size_t index) const { return items[index]; }
  constexpr T* begin() { return items; }
  constexpr T* end() { return items + N; }
  constexpr const T* begin() const { return items; }
  constexpr const T* end() const { return items + N; }

  bool operator==(const Array&) const = default;
};

// True when [data, data + size) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
inline bool valid_utf8(const uint8_t* data, size_t size) {
  size_t i = 0;
  while (i < size) {
    uint8_t c = data[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (extra > size - i - 1) return false;
    if (data[i + 1] < lo || data[i + 1] > hi) return false;
    for (size_t k = 2; k <= extra; ++k) {
      if (data[i + k] < 0x80 || data[i + k] > 0xbf) return false;
    }
    i += extra + 1;
  }
  return true;
}

// Writes one message body. The body is the inline part (every fixed-size field, packed
// without padding, little-endian, at offsets the compiler computed) followed by the
// out-of-line part (the contents of bytes/string fields, in field order, each announced by a
// u16 length inline). Precondition for the put_*() taking an offset: at + width <=
// inline_size, which generated code guarantees; what the caller passes in (lengths, handle
// validity) is checked.
class Encoder {
 public:
  Encoder(Message& message, size_t inline_size)
      : bytes_(message.bytes), handles_(message.handles), end_(inline_size) {}

  template <typename T>
  void put(size_t at, T value) {
    __builtin_memcpy(bytes_ + at, &value, sizeof(T));
  }
  void zero(size_t at, size_t count) { __builtin_memset(bytes_ + at, 0, count); }
  // Arrays of integers go as one copy: the wire is little-endian, and so is x86_64.
  void put_raw(size_t at, const void* data, size_t count) {
    __builtin_memcpy(bytes_ + at, data, count);
  }

  // Appends `size` bytes out of line and writes the u16 length at `at`; false (and nothing
  // appended) when size exceeds `bound` or the message would overflow.
  bool put_bytes(size_t at, const void* data, size_t size, size_t bound) {
    if (size > bound || size > kMaxBodyBytes - end_) return false;
    put<uint16_t>(at, uint16_t(size));
    if (size != 0) __builtin_memcpy(bytes_ + end_, data, size);
    end_ += size;
    return true;
  }
  bool put_bytes(size_t at, BytesView view, size_t bound) {
    return put_bytes(at, view.data, view.size, bound);
  }
  bool put_string(size_t at, StringView view, size_t bound) {
    return put_bytes(at, view.data, view.size, bound);
  }

  // Appends a handle; false when it is invalid or the message already carries kMaxHandles.
  bool put_handle(Handle handle) {
    if (!handle.valid() || handle_count_ == kMaxHandles) return false;
    handles_[handle_count_++] = HandleSlot{handle.value, ObjectType::kAny, 0};
    return true;
  }

  size_t size() const { return end_; }
  size_t handle_count() const { return handle_count_; }

 private:
  uint8_t* bytes_;
  HandleSlot* handles_;
  size_t end_;
  size_t handle_count_ = 0;
};

// Reads one message body written by Encoder, trusting nothing in it. Construction checks that
// the body holds the whole inline part, so inline reads at compiler-computed offsets are in
// bounds; every out-of-line length, enum value, bool, presence byte, UTF-8 sequence and handle
// is checked as it is read, and finish() rejects trailing bytes and unclaimed handles.
class Decoder {
 public:
  Decoder(const MessageView& view, size_t inline_size)
      : bytes_(view.bytes),
        size_(view.size),
        handles_(view.handles),
        handle_count_(view.handle_count),
        end_(inline_size),
        ok_(view.size >= inline_size) {}

  // False when the body is shorter than the inline part; nothing else may be called then.
  bool ok() const { return ok_; }

  // Precondition: ok() and at + sizeof(T) <= inline_size.
  template <typename T>
  T get(size_t at) const {
    T value;
    __builtin_memcpy(&value, bytes_ + at, sizeof(T));
    return value;
  }
  void get_raw(size_t at, void* out, size_t count) const {
    __builtin_memcpy(out, bytes_ + at, count);
  }
  bool get_bool(size_t at, bool* out) const {
    uint8_t raw = bytes_[at];
    if (raw > 1) return false;
    *out = raw != 0;
    return true;
  }
  // A presence byte of an optional: 0 or 1.
  bool get_present(size_t at, bool* out) const { return get_bool(at, out); }
  // Absent optionals must have all-zero inline bytes, so every value has one encoding.
  bool zero(size_t at, size_t count) const {
    for (size_t i = 0; i < count; ++i) {
      if (bytes_[at + i] != 0) return false;
    }
    return true;
  }

  bool get_bytes(size_t at, size_t bound, BytesView* out) {
    size_t size = get<uint16_t>(at);
    if (size > bound || size > size_ - end_) return false;
    *out = BytesView(bytes_ + end_, size);
    end_ += size;
    return true;
  }
  bool get_string(size_t at, size_t bound, StringView* out) {
    BytesView raw;
    if (!get_bytes(at, bound, &raw) || !valid_utf8(raw.data, raw.size)) return false;
    *out = StringView(reinterpret_cast<const char*>(raw.data), raw.size);
    return true;
  }

  // Takes the next handle; false when none is left or it is not of `type` with all `rights`.
  bool get_handle(ObjectType type, uint32_t rights, Handle* out) {
    if (handle_cursor_ == handle_count_) return false;
    const HandleSlot& slot = handles_[handle_cursor_++];
    if (slot.value == kInvalidHandle) return false;
    if (type != ObjectType::kAny && slot.type != type) return false;
    if ((slot.rights & rights) != rights) return false;
    out->value = slot.value;
    return true;
  }

  // True when the whole body and every handle were consumed.
  bool finish() const { return end_ == size_ && handle_cursor_ == handle_count_; }

 private:
  const uint8_t* bytes_;
  size_t size_;
  const HandleSlot* handles_;
  size_t handle_count_;
  size_t end_;
  size_t handle_cursor_ = 0;
  bool ok_;
};

// The register forms of Encoder and Decoder, for messages of fixed size without handles that
// fit the five body words of an IPC message (docs/protocols.md, "Register stubs"): the body's
// bytes are the words' bytes, little-endian, so a field at `at` is a shift and a mask. Offsets
// are compile-time constants in generated code, so each get or put folds to a few instructions
// on values that stay in registers. Only fixed-size fields have register forms: there is no
// put_bytes, put_string or put_handle, and generated code never asks for them.
inline constexpr size_t kRegisterBodyWords = 5;
inline constexpr size_t kRegisterBodyBytes = 8 * kRegisterBodyWords;

// Writes into body words that start zeroed; each byte is written at most once.
class RegisterEncoder {
 public:
  // `words`: the five body words, zero. Precondition for every put: at + size <= 40.
  explicit RegisterEncoder(uint64_t* words) : words_(words) {}

  template <typename T>
  [[gnu::always_inline]] void put(size_t at, T value) {
    static_assert(sizeof(T) <= 8);
    uint64_t bits = uint64_t(value);
    if constexpr (sizeof(T) < 8) bits &= (uint64_t{1} << (8 * sizeof(T))) - 1;
    size_t w = at / 8;
    size_t shift = 8 * (at % 8);
    words_[w] |= bits << shift;
    // A field that straddles two words (the layout is packed); shift > 0 here.
    if (shift + 8 * sizeof(T) > 64) words_[w + 1] |= bits >> (64 - shift);
  }
  // The words start zeroed, so absent optionals need nothing written.
  void zero(size_t, size_t) {}
  [[gnu::always_inline]] void put_raw(size_t at, const void* data, size_t count) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < count; ++i) put<uint8_t>(at + i, p[i]);
  }

 private:
  uint64_t* words_;
};

// Reads body words whose count, size and padding the caller has already checked
// (decode_registers in runtime.h), so every read below is of a word inside the body.
class RegisterDecoder {
 public:
  explicit RegisterDecoder(const uint64_t* words) : words_(words) {}

  // Precondition: at + sizeof(T) <= the checked body size.
  template <typename T>
  [[gnu::always_inline]] T get(size_t at) const {
    static_assert(sizeof(T) <= 8);
    size_t w = at / 8;
    size_t shift = 8 * (at % 8);
    uint64_t bits = words_[w] >> shift;
    if (shift + 8 * sizeof(T) > 64) bits |= words_[w + 1] << (64 - shift);
    return static_cast<T>(bits);  // truncates to the field's width (two's complement)
  }
  [[gnu::always_inline]] void get_raw(size_t at, void* out, size_t count) const {
    auto* p = static_cast<uint8_t*>(out);
    for (size_t i = 0; i < count; ++i) p[i] = get<uint8_t>(at + i);
  }
  [[gnu::always_inline]] bool get_bool(size_t at, bool* out) const {
    uint8_t raw = get<uint8_t>(at);
    if (raw > 1) return false;
    *out = raw != 0;
    return true;
  }
  bool get_present(size_t at, bool* out) const { return get_bool(at, out); }
  [[gnu::always_inline]] bool zero(size_t at, size_t count) const {
    for (size_t i = 0; i < count; ++i) {
      if (get<uint8_t>(at + i) != 0) return false;
    }
    return true;
  }

 private:
  const uint64_t* words_;
};

}  // namespace exo::proto
