// exo::Error <-> ABI status: the one translation at the syscall boundary (kernel and libsys).
#pragma once

#include "kernel/abi/status.h"
#include "kernel/lib/error.h"

namespace exo::abi {

// The status the kernel puts in rax for `error`. Total: every Error has its own code (the switch
// has no default so -Wswitch names a new Error that is not mapped yet; tests/host/abi checks
// the codes are distinct and match docs/syscalls.md). EXO_ERR_INTERNAL only for values that are
// not an Error at all.
constexpr ExoStatus to_abi_status(Error error) {
  switch (error) {
    case Error::kNoMemory: return EXO_ERR_NO_MEMORY;
    case Error::kInvalidArgument: return EXO_ERR_INVALID_ARGUMENT;
    case Error::kOutOfRange: return EXO_ERR_OUT_OF_RANGE;
    case Error::kMalformed: return EXO_ERR_MALFORMED;
    case Error::kNotFound: return EXO_ERR_NOT_FOUND;
    case Error::kAlreadyExists: return EXO_ERR_ALREADY_EXISTS;
    case Error::kUnsupported: return EXO_ERR_UNSUPPORTED;
    case Error::kAccessDenied: return EXO_ERR_ACCESS_DENIED;
    case Error::kBadHandle: return EXO_ERR_BAD_HANDLE;
    case Error::kWrongType: return EXO_ERR_WRONG_TYPE;
    case Error::kBusy: return EXO_ERR_BUSY;
    case Error::kWouldBlock: return EXO_ERR_WOULD_BLOCK;
    case Error::kTimedOut: return EXO_ERR_TIMED_OUT;
    case Error::kPeerClosed: return EXO_ERR_PEER_CLOSED;
    case Error::kFault: return EXO_ERR_FAULT;
    case Error::kOverflow: return EXO_ERR_OVERFLOW;
    case Error::kNotAligned: return EXO_ERR_NOT_ALIGNED;
  }
  return EXO_ERR_INTERNAL;
}

// The Error libsys reports for a negative status. EXO_ERR_BAD_SYSCALL comes back as
// kUnsupported and EXO_ERR_INTERNAL or an unknown code as kInvalidArgument: user code that
// needs to tell those apart looks at the raw status.
// Precondition: status < 0.
constexpr Error from_abi_status(ExoStatus status) {
  switch (status) {
    case EXO_ERR_NO_MEMORY: return Error::kNoMemory;
    case EXO_ERR_INVALID_ARGUMENT: return Error::kInvalidArgument;
    case EXO_ERR_OUT_OF_RANGE: return Error::kOutOfRange;
    case EXO_ERR_MALFORMED: return Error::kMalformed;
    case EXO_ERR_NOT_FOUND: return Error::kNotFound;
    case EXO_ERR_ALREADY_EXISTS: return Error::kAlreadyExists;
    case EXO_ERR_UNSUPPORTED: return Error::kUnsupported;
    case EXO_ERR_ACCESS_DENIED: return Error::kAccessDenied;
    case EXO_ERR_BAD_HANDLE: return Error::kBadHandle;
    case EXO_ERR_WRONG_TYPE: return Error::kWrongType;
    case EXO_ERR_BUSY: return Error::kBusy;
    case EXO_ERR_WOULD_BLOCK: return Error::kWouldBlock;
    case EXO_ERR_TIMED_OUT: return Error::kTimedOut;
    case EXO_ERR_PEER_CLOSED: return Error::kPeerClosed;
    case EXO_ERR_FAULT: return Error::kFault;
    case EXO_ERR_OVERFLOW: return Error::kOverflow;
    case EXO_ERR_NOT_ALIGNED: return Error::kNotAligned;
    case EXO_ERR_BAD_SYSCALL: return Error::kUnsupported;
    default: return Error::kInvalidArgument;
  }
}

// A stable name for a status ("EXO_ERR_FAULT"), for test output; "EXO_OK" for >= 0.
constexpr const char* abi_status_name(ExoStatus status) {
  if (status >= 0) return "EXO_OK";
  switch (status) {
    case EXO_ERR_NO_MEMORY: return "EXO_ERR_NO_MEMORY";
    case EXO_ERR_INVALID_ARGUMENT: return "EXO_ERR_INVALID_ARGUMENT";
    case EXO_ERR_OUT_OF_RANGE: return "EXO_ERR_OUT_OF_RANGE";
    case EXO_ERR_MALFORMED: return "EXO_ERR_MALFORMED";
    case EXO_ERR_NOT_FOUND: return "EXO_ERR_NOT_FOUND";
    case EXO_ERR_ALREADY_EXISTS: return "EXO_ERR_ALREADY_EXISTS";
    case EXO_ERR_UNSUPPORTED: return "EXO_ERR_UNSUPPORTED";
    case EXO_ERR_ACCESS_DENIED: return "EXO_ERR_ACCESS_DENIED";
    case EXO_ERR_BAD_HANDLE: return "EXO_ERR_BAD_HANDLE";
    case EXO_ERR_WRONG_TYPE: return "EXO_ERR_WRONG_TYPE";
    case EXO_ERR_BUSY: return "EXO_ERR_BUSY";
    case EXO_ERR_WOULD_BLOCK: return "EXO_ERR_WOULD_BLOCK";
    case EXO_ERR_TIMED_OUT: return "EXO_ERR_TIMED_OUT";
    case EXO_ERR_PEER_CLOSED: return "EXO_ERR_PEER_CLOSED";
    case EXO_ERR_FAULT: return "EXO_ERR_FAULT";
    case EXO_ERR_OVERFLOW: return "EXO_ERR_OVERFLOW";
    case EXO_ERR_NOT_ALIGNED: return "EXO_ERR_NOT_ALIGNED";
    case EXO_ERR_BAD_SYSCALL: return "EXO_ERR_BAD_SYSCALL";
    case EXO_ERR_INTERNAL: return "EXO_ERR_INTERNAL";
    default: return "EXO_ERR_?";
  }
}

}  // namespace exo::abi
