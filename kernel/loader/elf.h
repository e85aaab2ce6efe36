// ELF64 executable validation: checks a static x86_64 image and plans its loadable segments.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/lib/types.h"
#include "kernel/loader/diagnostic.h"

namespace exo::loader {

inline constexpr usize kMaxLoadSegments = 16;
inline constexpr uint64_t kElfPageSize = 4096;

// A half-open virtual address range [begin, end).
struct AddressRange {
  uint64_t begin;
  uint64_t end;
};

// The user half of the x86_64 canonical address space minus the null page (Intel SDM vol. 1,
// 3.3.7.1: 48-bit canonical addresses); the default for user programs.
inline constexpr AddressRange kUserAddressRange{0x1000, 0x0000800000000000};

struct SegmentPerms {
  bool read;
  bool write;
  bool execute;  // never together with write
};

// One PT_LOAD segment: map [vaddr, vaddr + memsz); the first filesz bytes come from the file at
// file_offset, the rest are zero. vaddr % kElfPageSize == file_offset % kElfPageSize, so the
// file can be mapped page by page. Segments are in ascending address order and never share a
// page.
struct LoadSegment {
  uint64_t vaddr;
  uint64_t memsz;
  uint64_t file_offset;
  uint64_t filesz;
  SegmentPerms perms;
};

// The thread-local storage template (PT_TLS), if the program has one.
struct TlsTemplate {
  uint64_t vaddr;  // inside a loaded segment
  uint64_t filesz;  // initialised bytes; the remaining memsz - filesz are zero
  uint64_t memsz;
  uint64_t align;  // a power of two, at least 1
};

struct ElfPlan {
  uint64_t entry = 0;  // inside an executable segment's file-backed bytes
  LoadSegment segments[kMaxLoadSegments];
  usize segment_count = 0;
  bool has_tls = false;
  TlsTemplate tls = {};
};

// Validates `image`, an ELF64 executable held in memory, and fills *out with what to map.
// Pure logic: the kernel (initrd programs) and libsys (spawning from user space) share it.
// Loadable segments must lie inside `allowed` (kUserAddressRange for user programs).
// Errors, each with a diagnostic (offsets into `image`):
//   kUnsupported - a valid ELF Exo does not run: not ELF64, not little-endian, not x86_64,
//                  not ET_EXEC, dynamically linked (PT_INTERP or PT_DYNAMIC), extended
//                  program header numbering, more than kMaxLoadSegments PT_LOAD segments;
//   kAccessDenied - a writable and executable segment, or a segment outside `allowed`;
//   kMalformed   - everything else: bad magic or version, a bad e_phentsize, program headers
//                  or segment file bytes outside the image, filesz > memsz, an address range
//                  that wraps, p_vaddr and p_offset not congruent modulo the page size, a bad
//                  p_align, PT_LOAD segments out of order or sharing a page, no PT_LOAD, an
//                  entry point outside the file bytes of an executable segment, a bad PT_TLS.
// *out is unusable after a failure.
Result<void> plan_elf(ByteSpan image, const AddressRange& allowed, ElfPlan* out,
                      ParseDiagnostic* diag);

}  // namespace exo::loader
