// Multiboot2 boot information parser: validates the loader's hand-off and extracts what Exo uses.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/lib/types.h"
#include "kernel/loader/diagnostic.h"

namespace exo::boot {

// Value the loader leaves in EAX on entry (Multiboot2 spec 3.3, "Machine state").
inline constexpr uint32_t kMultiboot2BootloaderMagic = 0x36d76289;

// Memory map entry types (Multiboot2 spec 3.6.8).
inline constexpr uint32_t kMemoryAvailable = 1;
inline constexpr uint32_t kMemoryAcpiReclaimable = 3;
inline constexpr uint32_t kMemoryNvs = 4;
inline constexpr uint32_t kMemoryBadRam = 5;

// One memory map entry; `type` as in the spec (kMemoryAvailable = usable RAM, anything else is
// reserved in some way). base + length never wraps (the parser rejects it).
struct MemoryRegion {
  uint64_t base;
  uint64_t length;
  uint32_t type;
};

// A boot module occupying physical [start, end). `cmdline` is never null ("" if empty) and
// points into the boot information buffer.
struct BootModule {
  uint64_t start;
  uint64_t end;
  const char* cmdline;
};

inline constexpr usize kMaxMemoryRegions = 128;
inline constexpr usize kMaxModules = 16;

// What Exo takes from the boot information. Every pointer points into the `info` buffer given
// to parse_multiboot2, so that buffer must outlive this struct. Only the first *_count entries
// of each array are meaningful.
struct BootInfo {
  const char* cmdline = "";  // never null
  const char* bootloader_name = "";  // never null
  MemoryRegion memory[kMaxMemoryRegions];
  usize memory_count = 0;
  BootModule modules[kMaxModules];
  usize module_count = 0;
  // Copy of the RSDP carried inside tag 15 (ACPI 2.0+, preferred) or tag 14 (ACPI 1.0);
  // nullptr when neither is present. Not checksummed here: the ACPI code validates it.
  const uint8_t* rsdp = nullptr;
  usize rsdp_size = 0;
  uint32_t rsdp_tag_type = 0;  // 14, 15, or 0 when absent
  uint64_t info_phys_size = 0;  // the total_size field
};

// Parses and validates the Multiboot2 boot information (Multiboot2 spec 3.6).
// Precondition: `info` spans exactly the bytes the loader handed over (the caller reads
// total_size first and bounds it); it need not be aligned. `out` must not be null.
// On success fills *out. On failure returns kMalformed for ill-formed input, or kUnsupported
// when well-formed input exceeds kMaxMemoryRegions/kMaxModules; fills *diag (if non-null) and
// leaves *out partially filled, which the caller must not use.
// Unknown tag types are skipped. Rejected: total_size different from info.size() or < 16, a
// non-zero reserved field, a tag shorter than 8 bytes or running past total_size, a missing,
// misplaced or wrongly sized end tag, unterminated strings, a bad memory map header or
// partial entry, a region whose base + length wraps, a module with start > end, and a second
// cmdline, bootloader name, memory map or same-kind ACPI tag.
Result<void> parse_multiboot2(ByteSpan info, BootInfo* out, loader::ParseDiagnostic* diag);

}  // namespace exo::boot
