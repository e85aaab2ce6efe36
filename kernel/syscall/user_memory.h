// Every kernel access to user memory goes through here: a pointer and a length from ring 3 are
// a claim, checked against the user half and then copied under fault protection, so a kernel
// pointer, an unmapped page or a wrapping range is an error (kFault) and never a kernel fault.
#pragma once

#include "kernel/arch/user.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"

namespace exo::syscall {

// Pointers user space may pass: the lower canonical half without page 0.
inline constexpr uint64_t kUserPointerBase = 0x1000;
inline constexpr uint64_t kUserPointerEnd = 0x0000800000000000;

// Whether [address, address + length) lies in user space without wrapping (length 0: always).
constexpr bool is_user_range(uint64_t address, uint64_t length) {
  if (length == 0) return true;
  return address >= kUserPointerBase && address < kUserPointerEnd &&
         length <= kUserPointerEnd - address;
}

inline Status copy_in(void* destination, uint64_t user_source, usize length) {
  if (!is_user_range(user_source, length)) return Error::kFault;
  if (length != 0 && !arch::copy_from_user(destination, user_source, length)) return Error::kFault;
  return ok_status();
}

inline Status copy_out(uint64_t user_destination, const void* source, usize length) {
  if (!is_user_range(user_destination, length)) return Error::kFault;
  if (length != 0 && !arch::copy_to_user(user_destination, source, length)) return Error::kFault;
  return ok_status();
}

}  // namespace exo::syscall
