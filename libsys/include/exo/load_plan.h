// The pure half of libsys's ELF loader: an image becomes a list of map operations and a start
// block.
#pragma once

#include "kernel/abi/process_start.h"
#include "kernel/abi/syscalls.h"
#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/loader/diagnostic.h"
#include "kernel/loader/elf.h"

namespace exo::sys {

inline constexpr usize kMaxMapOps = loader::kMaxLoadSegments + 1;  // the segments and the stack
inline constexpr uint64_t kDefaultStackSize = 64 * KiB;
// The initial stack ends here, one page below the top of the lower canonical half, well above
// where user.ld links programs (0x400000) and below anything the kernel reserves.
inline constexpr uint64_t kStackTop = 0x00007ffffff00000;

// Create a memory object of `length` bytes, copy [file_offset, file_offset + file_length) of
// the image to `copy_offset` in it (the rest stays zero), and map it at `address` in the new
// process with `protection` (EXO_PROT_*). address and length are page-aligned.
struct MapOp {
  uint64_t address;
  uint64_t length;
  uint64_t copy_offset;
  uint64_t file_offset;
  uint64_t file_length;
  uint32_t protection;
  bool is_stack;
};

struct LoadPlan {
  uint64_t entry = 0;
  MapOp ops[kMaxMapOps];
  usize op_count = 0;
  uint64_t stack_base = 0;  // the stack is [stack_base, stack_base + stack_size)
  uint64_t stack_size = 0;
};

// Validates `image` with loader::plan_elf (user address range) and plans its segments plus a
// stack of `stack_size` bytes (rounded up to pages, at least one) ending at kStackTop.
// Errors: those of plan_elf; kUnsupported for a program with PT_TLS (no TLS yet);
// kInvalidArgument for a zero stack size; kAlreadyExists when a segment overlaps the stack.
Result<void> plan_load(ByteSpan image, uint64_t stack_size, LoadPlan* out,
                       loader::ParseDiagnostic* diag);

struct StartHandle {
  uint32_t handle;  // the value in the new process
  uint32_t role;    // EXO_START_HANDLE_*
};

struct StartArguments {
  const char* const* argv = nullptr;  // argc strings
  usize argc = 0;
  const char* const* envp = nullptr;  // envc "key=value" strings
  usize envc = 0;
  const StartHandle* handles = nullptr;
  usize handle_count = 0;
  uint64_t initrd_base = 0;
  uint64_t initrd_size = 0;
};

struct StartLayout {
  uint64_t block_address;  // rdi for the new process
  uint64_t stack_top;      // rsp: 16-byte aligned, just below the block
};

// Lays out an ExoStartBlock with its arrays and strings at the top of `buffer`, which the new
// process will see at `buffer_address` (so the pointers inside are written for that address).
// kOutOfRange when it does not fit (with at least 256 bytes left below for the stack);
// kInvalidArgument for a null string or an unaligned buffer_address (must be 16-aligned).
Result<StartLayout> build_start_block(MutableByteSpan buffer, uint64_t buffer_address,
                                      const StartArguments& arguments);

}  // namespace exo::sys
