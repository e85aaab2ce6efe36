// Handle values, object types and rights as protocol messages carry them.
#pragma once

#include <stdint.h>

namespace exo::proto {

// Object types a protocol may name in `handle<type, rights>`. Provisional until kernel/abi
// defines the kernel's own list; the values are then taken from there, the names stay.
enum class ObjectType : uint32_t {
  kAny = 0,  // no type check: the receiver inspects the handle itself
  kVmo = 1,
  kChannel = 2,
  kNotification = 3,
  kInterrupt = 4,
  kIoPorts = 5,
  kThread = 6,
  kProcess = 7,
  kAddressSpace = 8,
  kEndpoint = 9,
};

// Rights bits a handle field requires of the handle that arrives.
inline constexpr uint32_t kRightRead = 1u << 0;
inline constexpr uint32_t kRightWrite = 1u << 1;
inline constexpr uint32_t kRightMap = 1u << 2;
inline constexpr uint32_t kRightExecute = 1u << 3;
inline constexpr uint32_t kRightTransfer = 1u << 4;
inline constexpr uint32_t kRightDuplicate = 1u << 5;
inline constexpr uint32_t kRightSignal = 1u << 6;
inline constexpr uint32_t kRightWait = 1u << 7;
inline constexpr uint32_t kRightAck = 1u << 8;

inline constexpr uint32_t kInvalidHandle = 0;

// A handle value in a decoded message or an argument to encode. Owning it (closing it) is the
// business of whoever holds the decoded message; the generated code never closes handles.
struct Handle {
  uint32_t value = kInvalidHandle;
  constexpr bool valid() const { return value != kInvalidHandle; }
  friend constexpr bool operator==(Handle a, Handle b) { return a.value == b.value; }
};

// One transferred handle: the value, and on receipt the object type and rights the kernel
// reports for it (a sender leaves type and rights as they are; the kernel fills them in).
struct HandleSlot {
  uint32_t value;
  ObjectType type;
  uint32_t rights;
};

}  // namespace exo::proto
