// SRAT parser: NUMA proximity domain of each APIC ID and of each memory range (ACPI 6.5, 5.2.16).
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/lib/types.h"
#include "kernel/loader/diagnostic.h"

namespace exo::acpi {

inline constexpr usize kMaxSratCpus = 256;
inline constexpr usize kMaxMemoryAffinities = 64;

struct CpuAffinity {
  uint32_t apic_id;
  uint32_t node;  // proximity domain
};

struct MemoryAffinity {
  uint64_t base;
  uint64_t length;  // base + length never wraps
  uint32_t node;
  bool hot_pluggable;
  bool non_volatile;
};

struct SratInfo {
  CpuAffinity cpus[kMaxSratCpus];
  usize cpu_count = 0;
  MemoryAffinity memory[kMaxMemoryAffinities];
  usize memory_count = 0;
};

// Parses a whole SRAT (signature "SRAT"; the header is validated again here). Only entries
// with the Enabled flag are recorded (5.2.16.1-5.2.16.3: otherwise OSPM ignores them).
// Rejected: a bad header or checksum, an entry shorter than 2 bytes, shorter than its type
// requires, or running past the table, a duplicate APIC ID, a memory range whose base +
// length wraps. More entries than the capacities is kUnsupported. Unknown entry types
// (GICC, GIC ITS, generic initiator...) are skipped. Diagnostic offsets are into `table`.
Result<void> parse_srat(ByteSpan table, SratInfo* out, loader::ParseDiagnostic* diag);

// The proximity domain of `apic_id`, or kNotFound when the SRAT does not name it.
Result<uint32_t> node_of_apic(const SratInfo& srat, uint32_t apic_id);

}  // namespace exo::acpi
