// SRAT parser: NUMA proximity domain of each APIC ID and of each memory range (ACPI 6.5, 5.2.16).
#include "kernel/acpi/srat.h"

#include "kernel/acpi/tables.h"
#include "kernel/lib/utility.h"

namespace exo::acpi {
namespace {

using loader::fail;
using loader::ParseDiagnostic;

// ACPI 6.5, table 5.63: two reserved fields follow the header.
struct [[gnu::packed]] SratFixed {
  SdtHeader header;
  uint32_t reserved1;  // 1 for backward compatibility; not checked, firmware varies
  uint64_t reserved2;
};
static_assert(sizeof(SratFixed) == 48);

struct [[gnu::packed]] EntryHeader {
  uint8_t type;
  uint8_t length;
};

enum class EntryType : uint8_t {
  kProcessorApicAffinity = 0,
  kMemoryAffinity = 1,
  kProcessorX2ApicAffinity = 2,
};

// 5.2.16.1, table 5.65.
struct [[gnu::packed]] ProcessorApicAffinity {
  EntryHeader header;
  uint8_t proximity_domain_low;  // bits 7:0
  uint8_t apic_id;
  uint32_t flags;
  uint8_t local_sapic_eid;
  uint8_t proximity_domain_high[3];  // bits 31:8
  uint32_t clock_domain;
};
static_assert(sizeof(ProcessorApicAffinity) == 16);

// 5.2.16.2, table 5.67.
struct [[gnu::packed]] MemoryAffinityEntry {
  EntryHeader header;
  uint32_t proximity_domain;
  uint16_t reserved1;
  uint32_t base_low;
  uint32_t base_high;
  uint32_t length_low;
  uint32_t length_high;
  uint32_t reserved2;
  uint32_t flags;
  uint64_t reserved3;
};
static_assert(sizeof(MemoryAffinityEntry) == 40);
inline constexpr uint32_t kMemoryHotPluggable = 1u << 1;
inline constexpr uint32_t kMemoryNonVolatile = 1u << 2;

// 5.2.16.3, table 5.69.
struct [[gnu::packed]] ProcessorX2ApicAffinity {
  EntryHeader header;
  uint16_t reserved1;
  uint32_t proximity_domain;
  uint32_t x2apic_id;
  uint32_t flags;
  uint32_t clock_domain;
  uint32_t reserved2;
};
static_assert(sizeof(ProcessorX2ApicAffinity) == 24);

// Bit 0 of every affinity structure's flags (tables 5.66, 5.68, 5.70).
inline constexpr uint32_t kEnabled = 1u << 0;

Result<void> add_cpu(SratInfo* out, uint32_t apic_id, uint32_t node, usize offset,
                     ParseDiagnostic* diag) {
  for (usize i = 0; i < out->cpu_count; ++i) {
    if (out->cpus[i].apic_id == apic_id) return fail(diag, "srat: duplicate APIC ID", offset);
  }
  if (out->cpu_count == kMaxSratCpus) {
    return fail(diag, "srat: more CPUs than kMaxSratCpus", offset, Error::kUnsupported);
  }
  out->cpus[out->cpu_count++] = CpuAffinity{apic_id, node};
  return {};
}

}  // namespace

Result<void> parse_srat(ByteSpan table, SratInfo* out, ParseDiagnostic* diag) {
  out->cpu_count = 0;
  out->memory_count = 0;
  EXO_TRY(validate_table(table, "SRAT", diag));
  if (table.size() < sizeof(SratFixed)) {
    return fail(diag, "srat: table shorter than its fixed fields", 0);
  }
  // 5.2.16.1: the high 24 bits of the proximity domain exist from SRAT revision 2 on.
  bool wide_domains = load_le<SdtHeader>(table.data()).revision >= 2;

  usize at = sizeof(SratFixed);
  while (at < table.size()) {
    if (!table.contains_range(at, sizeof(EntryHeader))) {
      return fail(diag, "srat: entry header runs past the table", at);
    }
    auto header = load_le<EntryHeader>(table.data() + at);
    if (header.length < sizeof(EntryHeader)) return fail(diag, "srat: entry length below 2", at);
    if (!table.contains_range(at, header.length)) {
      return fail(diag, "srat: entry runs past the table", at);
    }
    auto need = [&](usize size) -> Result<void> {
      if (header.length < size) return fail(diag, "srat: entry shorter than its type requires", at);
      return {};
    };
    const uint8_t* p = table.data() + at;
    switch (static_cast<EntryType>(header.type)) {
      case EntryType::kProcessorApicAffinity: {
        EXO_TRY(need(sizeof(ProcessorApicAffinity)));
        auto e = load_le<ProcessorApicAffinity>(p);
        if ((e.flags & kEnabled) == 0) break;
        uint32_t node = e.proximity_domain_low;
        if (wide_domains) {
          node |= static_cast<uint32_t>(e.proximity_domain_high[0]) << 8 |
                  static_cast<uint32_t>(e.proximity_domain_high[1]) << 16 |
                  static_cast<uint32_t>(e.proximity_domain_high[2]) << 24;
        }
        EXO_TRY(add_cpu(out, e.apic_id, node, at, diag));
        break;
      }
      case EntryType::kProcessorX2ApicAffinity: {
        EXO_TRY(need(sizeof(ProcessorX2ApicAffinity)));
        auto e = load_le<ProcessorX2ApicAffinity>(p);
        if ((e.flags & kEnabled) == 0) break;
        EXO_TRY(add_cpu(out, e.x2apic_id, e.proximity_domain, at, diag));
        break;
      }
      case EntryType::kMemoryAffinity: {
        EXO_TRY(need(sizeof(MemoryAffinityEntry)));
        auto e = load_le<MemoryAffinityEntry>(p);
        if ((e.flags & kEnabled) == 0) break;
        uint64_t base = static_cast<uint64_t>(e.base_high) << 32 | e.base_low;
        uint64_t length = static_cast<uint64_t>(e.length_high) << 32 | e.length_low;
        uint64_t end;
        if (!checked_add(base, length, &end)) {
          return fail(diag, "srat: memory range base + length wraps", at);
        }
        if (out->memory_count == kMaxMemoryAffinities) {
          return fail(diag, "srat: more memory ranges than kMaxMemoryAffinities", at,
                      Error::kUnsupported);
        }
        out->memory[out->memory_count++] =
            MemoryAffinity{base, length, e.proximity_domain, (e.flags & kMemoryHotPluggable) != 0,
                           (e.flags & kMemoryNonVolatile) != 0};
        break;
      }
      default:
        break;
    }
    at += header.length;
  }
  return {};
}

Result<uint32_t> node_of_apic(const SratInfo& srat, uint32_t apic_id) {
  for (usize i = 0; i < srat.cpu_count; ++i) {
    if (srat.cpus[i].apic_id == apic_id) return srat.cpus[i].node;
  }
  return Error::kNotFound;
}

}  // namespace exo::acpi
