// RefCounted and RefPtr<T>: intrusive, atomic reference counting for kernel objects.
#pragma once

#include "kernel/lib/types.h"
#include "kernel/lib/utility.h"

namespace exo::object {

// Base for reference-counted objects. The count starts at 1, the creator's reference, which
// adopt_ref() turns into the first RefPtr. When the last reference goes, RefPtr calls T::destroy()
// exactly once; destroy() returns the memory to whatever allocator made the object (so
// allocation stays visible and no global operator delete is assumed).
// Thread safety: add_ref/release are atomic and may race freely; the object's other state needs
// its own lock.
class RefCounted {
 public:
  RefCounted(const RefCounted&) = delete;
  RefCounted& operator=(const RefCounted&) = delete;

  // Precondition: the caller already holds a reference (the count is not zero); taking a
  // reference to an object being destroyed is a kernel bug and stops the machine.
  void add_ref() const {
    uint32_t old = __atomic_fetch_add(&ref_count_, 1, __ATOMIC_RELAXED);
    if (old == 0) __builtin_trap();
  }
  // Drops one reference; true when it was the last, and the caller must destroy the object.
  // Acquire-release, so every write made under any reference is visible to the destroyer.
  [[nodiscard]] bool release() const {
    uint32_t old = __atomic_fetch_sub(&ref_count_, 1, __ATOMIC_ACQ_REL);
    if (old == 0) __builtin_trap();
    return old == 1;
  }
  // For tests and debugging only: racy by nature.
  uint32_t ref_count() const { return __atomic_load_n(&ref_count_, __ATOMIC_RELAXED); }

 protected:
  RefCounted() = default;
  ~RefCounted() = default;

 private:
  mutable uint32_t ref_count_ = 1;
};

template <typename T>
class RefPtr;
template <typename T>
RefPtr<T> adopt_ref(T* object);

// Owns one reference to a T (T derives from RefCounted and has a destroy() member). Null-able.
// Not itself thread safe: two CPUs must not assign the same RefPtr variable concurrently.
template <typename T>
class RefPtr {
 public:
  constexpr RefPtr() = default;
  constexpr RefPtr(decltype(nullptr)) {}
  RefPtr(const RefPtr& other) : ptr_(other.ptr_) {
    if (ptr_ != nullptr) ptr_->add_ref();
  }
  RefPtr(RefPtr&& other) : ptr_(other.ptr_) { other.ptr_ = nullptr; }
  // Converting (upcasting) copy and move.
  template <typename U>
  RefPtr(const RefPtr<U>& other) : ptr_(other.get()) {
    if (ptr_ != nullptr) ptr_->add_ref();
  }
  template <typename U>
  RefPtr(RefPtr<U>&& other) : ptr_(other.leak_ref()) {}
  ~RefPtr() { reset(); }

  RefPtr& operator=(const RefPtr& other) {
    RefPtr copy(other);
    swap(ptr_, copy.ptr_);
    return *this;
  }
  RefPtr& operator=(RefPtr&& other) {
    RefPtr taken(move(other));
    swap(ptr_, taken.ptr_);
    return *this;
  }
  RefPtr& operator=(decltype(nullptr)) {
    reset();
    return *this;
  }

  // Drops the reference (destroying the object if it was the last) and becomes null.
  void reset() {
    T* old = ptr_;
    ptr_ = nullptr;
    if (old != nullptr && old->release()) old->destroy();
  }
  // Gives up ownership without dropping the reference; the caller must adopt_ref it later.
  [[nodiscard]] T* leak_ref() {
    T* p = ptr_;
    ptr_ = nullptr;
    return p;
  }

  T* get() const { return ptr_; }
  T* operator->() const { return ptr_; }
  T& operator*() const { return *ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }
  bool operator==(const RefPtr& other) const { return ptr_ == other.ptr_; }
  bool operator!=(const RefPtr& other) const { return ptr_ != other.ptr_; }

 private:
  friend RefPtr adopt_ref<T>(T* object);
  explicit RefPtr(T* adopted) : ptr_(adopted) {}

  T* ptr_ = nullptr;
};

// Wraps the creator's initial reference (count 1) without incrementing it. Use once, in create().
template <typename T>
RefPtr<T> adopt_ref(T* object) {
  return RefPtr<T>(object);
}

// A new reference to an object reached through a raw pointer the caller knows to be alive (for
// example one it holds a reference to elsewhere).
template <typename T>
RefPtr<T> retain_ref(T* object) {
  if (object != nullptr) object->add_ref();
  return adopt_ref(object);
}

// Downcast after checking the dynamic type by other means (KernelObject's type tag): no RTTI.
// Precondition: the object really is a U.
template <typename U, typename T>
RefPtr<U> static_ref_cast(RefPtr<T>&& from) {
  return adopt_ref(static_cast<U*>(from.leak_ref()));
}

}  // namespace exo::object
