// MADT parser: CPUs (local APIC and x2APIC), I/O APICs and ISA interrupt overrides (ACPI 6.5, 5.2.12).
#include "kernel/acpi/madt.h"

#include "kernel/acpi/tables.h"
#include "kernel/lib/utility.h"

namespace exo::acpi {
namespace {

using loader::fail;
using loader::ParseDiagnostic;

// ACPI 6.5, table 5.19: the fields between the header and the entries.
struct [[gnu::packed]] MadtFixed {
  SdtHeader header;
  uint32_t local_apic_address;
  uint32_t flags;
};
static_assert(sizeof(MadtFixed) == 44);
inline constexpr uint32_t kPcatCompat = 1u << 0;

// ACPI 6.5, 5.2.12: every entry ("Interrupt Controller Structure") starts with these two.
struct [[gnu::packed]] EntryHeader {
  uint8_t type;
  uint8_t length;
};

enum class EntryType : uint8_t {
  kLocalApic = 0,
  kIoApic = 1,
  kInterruptOverride = 2,
  kLocalApicAddressOverride = 5,
  kLocalX2Apic = 9,
};

// 5.2.12.2, table 5.22.
struct [[gnu::packed]] LocalApicEntry {
  EntryHeader header;
  uint8_t acpi_processor_uid;
  uint8_t apic_id;
  uint32_t flags;
};
static_assert(sizeof(LocalApicEntry) == 8);

// Local APIC flags (table 5.23), shared by the x2APIC structure.
inline constexpr uint32_t kCpuEnabled = 1u << 0;
inline constexpr uint32_t kCpuOnlineCapable = 1u << 1;

// 5.2.12.3, table 5.24.
struct [[gnu::packed]] IoApicEntry {
  EntryHeader header;
  uint8_t io_apic_id;
  uint8_t reserved;
  uint32_t io_apic_address;
  uint32_t global_system_interrupt_base;
};
static_assert(sizeof(IoApicEntry) == 12);

// 5.2.12.5, table 5.25.
struct [[gnu::packed]] InterruptOverrideEntry {
  EntryHeader header;
  uint8_t bus;  // 0 = ISA, the only value defined
  uint8_t source;
  uint32_t global_system_interrupt;
  uint16_t flags;  // MPS INTI flags, table 5.26
};
static_assert(sizeof(InterruptOverrideEntry) == 10);

// 5.2.12.8, table 5.30.
struct [[gnu::packed]] LocalApicAddressOverrideEntry {
  EntryHeader header;
  uint16_t reserved;
  uint64_t local_apic_address;
};
static_assert(sizeof(LocalApicAddressOverrideEntry) == 12);

// 5.2.12.12, table 5.37.
struct [[gnu::packed]] LocalX2ApicEntry {
  EntryHeader header;
  uint16_t reserved;
  uint32_t x2apic_id;
  uint32_t flags;
  uint32_t acpi_processor_uid;
};
static_assert(sizeof(LocalX2ApicEntry) == 16);

// Table 5.26: bits 1:0 polarity, bits 3:2 trigger mode; the value 2 is reserved in both.
inline constexpr uint16_t kIntiPolarityMask = 0x3;
inline constexpr uint16_t kIntiTriggerShift = 2;
inline constexpr uint16_t kIntiReserved = 2;

Result<void> add_cpu(MadtInfo* out, uint32_t apic_id, uint32_t uid, uint32_t flags, bool x2apic,
                     usize offset, ParseDiagnostic* diag) {
  if ((flags & (kCpuEnabled | kCpuOnlineCapable)) == 0) return {};  // "unusable": skipped
  for (usize i = 0; i < out->cpu_count; ++i) {
    if (out->cpus[i].apic_id == apic_id) {
      return fail(diag, "madt: duplicate APIC ID", offset);
    }
  }
  if (out->cpu_count == kMaxCpus) {
    return fail(diag, "madt: more usable CPUs than kMaxCpus", offset, Error::kUnsupported);
  }
  out->cpus[out->cpu_count++] = MadtCpu{apic_id, uid, (flags & kCpuEnabled) != 0,
                                        (flags & kCpuOnlineCapable) != 0, x2apic};
  return {};
}

Result<void> add_override(MadtInfo* out, const InterruptOverrideEntry& e, usize offset,
                          ParseDiagnostic* diag) {
  if (e.bus != 0) return fail(diag, "madt: interrupt override bus is not ISA", offset);
  uint16_t polarity = e.flags & kIntiPolarityMask;
  uint16_t trigger = (e.flags >> kIntiTriggerShift) & kIntiPolarityMask;
  if (polarity == kIntiReserved || trigger == kIntiReserved) {
    return fail(diag, "madt: interrupt override uses a reserved flag encoding", offset);
  }
  for (usize i = 0; i < out->override_count; ++i) {
    if (out->overrides[i].source == e.source) {
      return fail(diag, "madt: duplicate interrupt override source", offset);
    }
  }
  if (out->override_count == kMaxInterruptOverrides) {
    return fail(diag, "madt: more interrupt overrides than kMaxInterruptOverrides", offset,
                Error::kUnsupported);
  }
  constexpr Polarity kPolarities[] = {Polarity::kConforms, Polarity::kActiveHigh,
                                      Polarity::kConforms, Polarity::kActiveLow};
  constexpr Trigger kTriggers[] = {Trigger::kConforms, Trigger::kEdge, Trigger::kConforms,
                                   Trigger::kLevel};
  out->overrides[out->override_count++] = MadtInterruptOverride{
      e.source, e.global_system_interrupt, kPolarities[polarity], kTriggers[trigger]};
  return {};
}

}  // namespace

Result<void> parse_madt(ByteSpan table, MadtInfo* out, ParseDiagnostic* diag) {
  out->cpu_count = 0;
  out->io_apic_count = 0;
  out->override_count = 0;
  EXO_TRY(validate_table(table, "APIC", diag));
  if (table.size() < sizeof(MadtFixed)) {
    return fail(diag, "madt: table shorter than its fixed fields", 0);
  }
  auto fixed = load_le<MadtFixed>(table.data());
  out->local_apic_address = fixed.local_apic_address;
  out->has_8259 = (fixed.flags & kPcatCompat) != 0;

  bool seen_address_override = false;
  usize at = sizeof(MadtFixed);
  while (at < table.size()) {
    if (!table.contains_range(at, sizeof(EntryHeader))) {
      return fail(diag, "madt: entry header runs past the table", at);
    }
    auto header = load_le<EntryHeader>(table.data() + at);
    if (header.length < sizeof(EntryHeader)) {
      return fail(diag, "madt: entry length below 2", at);
    }
    if (!table.contains_range(at, header.length)) {
      return fail(diag, "madt: entry runs past the table", at);
    }
    // Known entries must be at least as long as their structure; later revisions may append.
    auto need = [&](usize size) -> Result<void> {
      if (header.length < size) return fail(diag, "madt: entry shorter than its type requires", at);
      return {};
    };
    const uint8_t* p = table.data() + at;
    switch (static_cast<EntryType>(header.type)) {
      case EntryType::kLocalApic: {
        EXO_TRY(need(sizeof(LocalApicEntry)));
        auto e = load_le<LocalApicEntry>(p);
        EXO_TRY(add_cpu(out, e.apic_id, e.acpi_processor_uid, e.flags, false, at, diag));
        break;
      }
      case EntryType::kLocalX2Apic: {
        EXO_TRY(need(sizeof(LocalX2ApicEntry)));
        auto e = load_le<LocalX2ApicEntry>(p);
        EXO_TRY(add_cpu(out, e.x2apic_id, e.acpi_processor_uid, e.flags, true, at, diag));
        break;
      }
      case EntryType::kIoApic: {
        EXO_TRY(need(sizeof(IoApicEntry)));
        auto e = load_le<IoApicEntry>(p);
        if (out->io_apic_count == kMaxIoApics) {
          return fail(diag, "madt: more I/O APICs than kMaxIoApics", at, Error::kUnsupported);
        }
        out->io_apics[out->io_apic_count++] =
            MadtIoApic{e.io_apic_id, e.io_apic_address, e.global_system_interrupt_base};
        break;
      }
      case EntryType::kInterruptOverride: {
        EXO_TRY(need(sizeof(InterruptOverrideEntry)));
        EXO_TRY(add_override(out, load_le<InterruptOverrideEntry>(p), at, diag));
        break;
      }
      case EntryType::kLocalApicAddressOverride: {
        EXO_TRY(need(sizeof(LocalApicAddressOverrideEntry)));
        // 5.2.12.8: "only one ... may be defined".
        if (seen_address_override) {
          return fail(diag, "madt: more than one local APIC address override", at);
        }
        seen_address_override = true;
        out->local_apic_address = load_le<LocalApicAddressOverrideEntry>(p).local_apic_address;
        break;
      }
      default:
        break;
    }
    at += header.length;
  }
  return {};
}

}  // namespace exo::acpi
