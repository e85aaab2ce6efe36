// MADT parser: CPUs (local APIC and x2APIC), I/O APICs and ISA interrupt overrides (ACPI 6.5, 5.2.12).
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/lib/types.h"
#include "kernel/loader/diagnostic.h"

namespace exo::acpi {

inline constexpr usize kMaxCpus = 256;
inline constexpr usize kMaxIoApics = 16;
inline constexpr usize kMaxInterruptOverrides = 32;

// A usable logical processor (ACPI 6.5, 5.2.12.2 and 5.2.12.12). Entries with neither the
// Enabled nor the Online Capable flag are "unusable" per the spec and are not recorded.
struct MadtCpu {
  uint32_t apic_id;
  uint32_t acpi_uid;  // matches the processor's _UID in the namespace
  bool enabled;  // running at boot and can be started now
  bool online_capable;  // disabled now, may be enabled later (hot add)
  bool x2apic;  // came from a Processor Local x2APIC structure
};

// ACPI 6.5, 5.2.12.3.
struct MadtIoApic {
  uint8_t id;
  uint32_t address;  // physical MMIO base
  uint32_t gsi_base;  // first global system interrupt it serves
};

// MPS INTI flags (ACPI 6.5, table 5.26), decoded.
enum class Polarity : uint8_t { kConforms, kActiveHigh, kActiveLow };
enum class Trigger : uint8_t { kConforms, kEdge, kLevel };

// ACPI 6.5, 5.2.12.5: ISA IRQ `source` is wired to global system interrupt `gsi`.
struct MadtInterruptOverride {
  uint8_t source;
  uint32_t gsi;
  Polarity polarity;
  Trigger trigger;
};

struct MadtInfo {
  // The Local APIC Address Override (5.2.12.8) if present, else the header's 32-bit field.
  uint64_t local_apic_address = 0;
  bool has_8259 = false;  // PCAT_COMPAT flag: legacy PICs present and must be masked
  MadtCpu cpus[kMaxCpus];
  usize cpu_count = 0;
  MadtIoApic io_apics[kMaxIoApics];
  usize io_apic_count = 0;
  MadtInterruptOverride overrides[kMaxInterruptOverrides];
  usize override_count = 0;
};

// Parses a whole MADT (as returned by find_table(..., "APIC", ...); the header is validated
// again here). Rejected: a bad header or checksum, an entry shorter than 2 bytes, shorter than
// its type requires, or running past the table, reserved polarity/trigger encodings, a bus
// other than ISA in an override, a duplicate APIC ID or override source, more than one address
// override. More entries than the fixed capacities is kUnsupported. Unknown entry types are
// skipped. Diagnostic offsets are into `table`. *out is unusable after a failure.
Result<void> parse_madt(ByteSpan table, MadtInfo* out, loader::ParseDiagnostic* diag);

}  // namespace exo::acpi
