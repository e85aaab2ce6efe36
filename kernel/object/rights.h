// Rights: what a handle allows its holder to do with the object it names.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"

namespace exo::object {

// A bitmask carried by every handle. Rights can only be dropped, never added: duplicate() and
// transfer hand out a subset of what the source held. The bit values are ABI (kernel/abi mirrors
// them for user space); new rights take new bits.
enum class Rights : uint32_t {
  kNone = 0,
  kRead = 1u << 0,         // read the object's data or state (memory contents, receive a message)
  kWrite = 1u << 1,        // change the object's data or state (memory contents, send a message)
  kExecute = 1u << 2,      // map the memory executable
  kMap = 1u << 3,          // map the memory object into an address space
  kTransfer = 1u << 4,     // move the handle to another process in an IPC message (grant)
  kDuplicate = 1u << 5,    // make another handle to the same object (with a subset of rights)
  kSignal = 1u << 6,       // raise the object's user signals / notify it
  kWait = 1u << 7,         // wait for the object's signals
  kGetProperty = 1u << 8,  // read metadata (name, size, exit code)
  kSetProperty = 1u << 9,  // change metadata (name, priority, affinity)
  kManage = 1u << 10,      // control the object's lifetime: kill a thread/process, revoke
};

// Every defined bit. A value with other bits set did not come from a correct program.
inline constexpr uint32_t kAllRightsBits = (1u << 11) - 1;
inline constexpr Rights kAllRights = static_cast<Rights>(kAllRightsBits);

constexpr Rights operator|(Rights a, Rights b) {
  return static_cast<Rights>(static_cast<uint32_t>(a) | static_cast<uint32_t>(b));
}
constexpr Rights operator&(Rights a, Rights b) {
  return static_cast<Rights>(static_cast<uint32_t>(a) & static_cast<uint32_t>(b));
}
// Complement within the defined rights (never produces undefined bits).
constexpr Rights operator~(Rights a) {
  return static_cast<Rights>(~static_cast<uint32_t>(a) & kAllRightsBits);
}
constexpr Rights& operator|=(Rights& a, Rights b) {
  return a = a | b;
}
constexpr Rights& operator&=(Rights& a, Rights b) {
  return a = a & b;
}
constexpr uint32_t rights_bits(Rights r) {
  return static_cast<uint32_t>(r);
}

// True when `held` includes every right in `required`.
constexpr bool has_rights(Rights held, Rights required) {
  return (held & required) == required;
}

// Converts a rights mask from user space: kInvalidArgument when it has undefined bits, so that a
// future right cannot be granted by accident by a program built against an older ABI.
inline Result<Rights> rights_from_user(uint32_t raw) {
  if ((raw & ~kAllRightsBits) != 0) return Error::kInvalidArgument;
  return static_cast<Rights>(raw);
}

}  // namespace exo::object
