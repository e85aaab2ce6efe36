// Result<T>: a value or an exo::Error, and EXO_TRY to propagate the error.
#pragma once

#include "kernel/lib/error.h"
#include "kernel/lib/new.h"
#include "kernel/lib/utility.h"

namespace exo {

// Holds either a T or an Error. Callers must look at it: the type is [[nodiscard]].
// Precondition for value()/release_value(): ok(). For error(): !ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : ok_(true) { new (&storage_) T(value); }
  Result(T&& value) : ok_(true) { new (&storage_) T(move(value)); }
  Result(Error error) : ok_(false), error_(error) {}

  Result(Result&& other) : ok_(other.ok_) {
    if (ok_) {
      new (&storage_) T(move(other.value()));
    } else {
      error_ = other.error_;
    }
  }
  Result(const Result& other) : ok_(other.ok_) {
    if (ok_) {
      new (&storage_) T(other.value());
    } else {
      error_ = other.error_;
    }
  }
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&&) = delete;
  ~Result() {
    if (ok_) value().~T();
  }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  Error error() const { return error_; }
  T& value() { return *reinterpret_cast<T*>(&storage_); }
  const T& value() const { return *reinterpret_cast<const T*>(&storage_); }
  T release_value() { return move(value()); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  // Precondition-free accessor for callers that have a fallback.
  T value_or(T fallback) const { return ok_ ? value() : fallback; }

 private:
  bool ok_;
  Error error_ = Error::kInvalidArgument;
  alignas(T) unsigned char storage_[sizeof(T)];
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() : ok_(true) {}
  Result(Error error) : ok_(false), error_(error) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  Error error() const { return error_; }
  void release_value() const {}

 private:
  bool ok_;
  Error error_ = Error::kInvalidArgument;
};

using Status = Result<void>;
inline Status ok_status() { return Status(); }

}  // namespace exo

// Evaluates `expr` (a Result); returns its error from the enclosing function, or yields its value.
#define EXO_TRY(expr)                                 \
  ({                                                  \
    auto exo_try_result_ = (expr);                    \
    if (!exo_try_result_.ok()) {                      \
      return exo_try_result_.error();                 \
    }                                                 \
    exo_try_result_.release_value();                  \
  })
