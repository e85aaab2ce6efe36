// Type-safe formatting ("x={} at {:#018x}") for the kernel console, panics and tests.
//
// The format string is interpreted at run time against a typed argument array, so a wrong
// argument can only print wrongly, never read the wrong type off a va_list. Syntax, a subset
// of std::format: "{}" takes the next argument; "{:SPEC}" with SPEC = [<|>][#][0][width][type],
// type one of d x X b o c s p; "{{" and "}}" are literal braces. A malformed spec or a missing
// argument prints "{?}" and formatting carries on: diagnostics must not fail.
#pragma once

#include "kernel/lib/error.h"
#include "kernel/lib/types.h"
#include "kernel/lib/utility.h"

namespace exo {

// Where formatted text goes. `write` may be called many times per format call with pieces
// that are not NUL-terminated.
struct FormatSink {
  void (*write)(void* context, const char* text, usize length);
  void* context;
};

struct FormatArg {
  enum class Kind : uint8_t { kSigned, kUnsigned, kString, kChar, kBool, kPointer, kError };
  Kind kind;
  union {
    int64_t i;
    uint64_t u;
    const char* s;
    const void* p;
    char c;
    bool b;
    Error e;
  };
};

namespace format_internal {

template <typename T> constexpr bool kIsSigned = T(-1) < T(0);

template <typename T>
inline FormatArg make_arg(T value) requires(kIsIntegral<T>) {
  FormatArg arg;
  if constexpr (kIsSigned<T>) {
    arg.kind = FormatArg::Kind::kSigned;
    arg.i = static_cast<int64_t>(value);
  } else {
    arg.kind = FormatArg::Kind::kUnsigned;
    arg.u = static_cast<uint64_t>(value);
  }
  return arg;
}
template <typename T>
inline FormatArg make_arg(T value) requires(__is_enum(T)) {
  return make_arg(static_cast<__underlying_type(T)>(value));
}
inline FormatArg make_arg(bool value) {
  FormatArg arg;
  arg.kind = FormatArg::Kind::kBool;
  arg.b = value;
  return arg;
}
inline FormatArg make_arg(char value) {
  FormatArg arg;
  arg.kind = FormatArg::Kind::kChar;
  arg.c = value;
  return arg;
}
inline FormatArg make_arg(const char* value) {
  FormatArg arg;
  arg.kind = FormatArg::Kind::kString;
  arg.s = value;
  return arg;
}
inline FormatArg make_arg(char* value) { return make_arg(static_cast<const char*>(value)); }
inline FormatArg make_arg(Error value) {
  FormatArg arg;
  arg.kind = FormatArg::Kind::kError;
  arg.e = value;
  return arg;
}
template <typename T>
inline FormatArg make_arg(T* value) {
  FormatArg arg;
  arg.kind = FormatArg::Kind::kPointer;
  arg.p = value;
  return arg;
}
inline FormatArg make_arg(decltype(nullptr)) { return make_arg(static_cast<const void*>(nullptr)); }

}  // namespace format_internal

// Formats `args` into `sink`. Never fails; see the syntax at the top of this file.
void vformat(const FormatSink& sink, const char* fmt, const FormatArg* args, usize arg_count);

template <typename... Args>
void format(const FormatSink& sink, const char* fmt, const Args&... args) {
  if constexpr (sizeof...(Args) == 0) {
    vformat(sink, fmt, nullptr, 0);
  } else {
    const FormatArg packed[] = {format_internal::make_arg(args)...};
    vformat(sink, fmt, packed, sizeof...(Args));
  }
}

// A sink over a caller-provided buffer; output beyond the capacity is dropped and counted.
class BufferSink {
 public:
  // Precondition: capacity >= 1 (room for the terminating NUL).
  BufferSink(char* buffer, usize capacity) : buffer_(buffer), capacity_(capacity) {
    buffer_[0] = '\0';
  }
  FormatSink sink() { return FormatSink{&BufferSink::append, this}; }
  const char* c_str() const { return buffer_; }
  usize length() const { return length_; }
  // Characters that did not fit.
  usize dropped() const { return dropped_; }

 private:
  static void append(void* context, const char* text, usize length);
  char* buffer_;
  usize capacity_;
  usize length_ = 0;
  usize dropped_ = 0;
};

// Formats into `buffer` (always NUL-terminated, truncated if needed); returns the length
// written, excluding the NUL.
template <typename... Args>
usize format_to(char* buffer, usize capacity, const char* fmt, const Args&... args) {
  BufferSink out(buffer, capacity);
  format(out.sink(), fmt, args...);
  return out.length();
}

}  // namespace exo
