// KernelObject: the base of everything a handle can name: a type tag and a reference count.
#pragma once

#include "kernel/lib/types.h"
#include "kernel/object/ref_counted.h"

namespace exo::object {

// The dynamic type of a kernel object (no RTTI in ring 0). Values are ABI: user space reads them
// from handle info. kNone is never the type of a live object.
enum class ObjectType : uint16_t {
  kNone = 0,
  kProcess,
  kThread,
  kAddressSpace,
  kMemoryObject,
  kEndpoint,
  kNotification,
  kInterrupt,
  kIoPort,
  kTimer,
  kCount,  // not a type: one past the last
};
static_assert(static_cast<int>(ObjectType::kIoPort) == 8, "kernel/abi/syscalls.h EXO_OBJECT_* mirror these");

// Derive each kernel object from this, declaring `static constexpr ObjectType kType` so that
// HandleTable::get<T>() can check and downcast. The object is created with one reference
// (adopt_ref it) and destroy() is called once the last RefPtr goes, possibly on any CPU and with
// whatever locks the dropper holds -- so destroy() should only free memory, not take locks.
class KernelObject : public RefCounted {
 public:
  ObjectType type() const { return type_; }
  // Frees the object; called exactly once, when the last reference is dropped.
  virtual void destroy() = 0;

 protected:
  explicit KernelObject(ObjectType type) : type_(type) {}
  // Not virtual: objects are only ever freed through destroy().
  ~KernelObject() = default;

 private:
  ObjectType type_;
};

}  // namespace exo::object
