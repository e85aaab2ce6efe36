// Names for exo::Error values, for diagnostics.
#include "kernel/lib/error.h"

namespace exo {

const char* error_name(Error error) {
  switch (error) {
    case Error::kNoMemory: return "kNoMemory";
    case Error::kInvalidArgument: return "kInvalidArgument";
    case Error::kOutOfRange: return "kOutOfRange";
    case Error::kMalformed: return "kMalformed";
    case Error::kNotFound: return "kNotFound";
    case Error::kAlreadyExists: return "kAlreadyExists";
    case Error::kUnsupported: return "kUnsupported";
    case Error::kAccessDenied: return "kAccessDenied";
    case Error::kBadHandle: return "kBadHandle";
    case Error::kWrongType: return "kWrongType";
    case Error::kBusy: return "kBusy";
    case Error::kWouldBlock: return "kWouldBlock";
    case Error::kTimedOut: return "kTimedOut";
    case Error::kPeerClosed: return "kPeerClosed";
    case Error::kFault: return "kFault";
    case Error::kOverflow: return "kOverflow";
    case Error::kNotAligned: return "kNotAligned";
  }
  return "unknown error";
}

}  // namespace exo
