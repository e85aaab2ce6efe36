// The one error enumeration shared by every kernel subsystem and by pure-logic parsers.
#pragma once

#include "kernel/lib/types.h"

namespace exo {

// Kernel-internal error codes. They become ABI status codes in exactly one function at the
// syscall boundary (kernel/syscalls), so renumbering here never breaks user space.
enum class Error : int32_t {
  kNoMemory = 1,      // an allocation failed
  kInvalidArgument,   // an argument is out of its documented domain
  kOutOfRange,        // an index, offset or length runs past its container
  kMalformed,         // outside input (boot data, file, message) is not well formed
  kNotFound,          // a lookup found nothing
  kAlreadyExists,     // the slot or name is already taken
  kUnsupported,       // valid request the implementation or hardware does not provide
  kAccessDenied,      // rights or permissions forbid the operation
  kBadHandle,         // handle value names nothing in this table
  kWrongType,         // handle names an object of another type
  kBusy,              // resource is in use
  kWouldBlock,        // the operation would have to wait and the caller asked not to
  kTimedOut,          // a finite wait expired
  kPeerClosed,        // the other side of a connection is gone
  kFault,             // a user address could not be accessed
  kOverflow,          // arithmetic on sizes or addresses would wrap
  kNotAligned,        // an address or size is not suitably aligned
};

// A stable, human-readable name such as "kMalformed"; never null.
const char* error_name(Error error);

}  // namespace exo
