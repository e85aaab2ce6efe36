// ACPI root tables: RSDP validation, RSDT/XSDT walking, and table header checks (ACPI 6.5, 5.2).
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/lib/types.h"
#include "kernel/loader/diagnostic.h"

namespace exo::acpi {

// How the ACPI code reads physical memory. The kernel passes a direct-map reader; tests pass
// a simulated memory. `map` returns a span covering exactly [phys, phys + size), or the empty
// span when that range is not readable. Spans stay valid while the ACPI results are used.
struct PhysReader {
  ByteSpan (*map)(void* context, uint64_t phys, usize size) = nullptr;
  void* context = nullptr;

  ByteSpan read(uint64_t phys, usize size) const {
    if (map == nullptr) return ByteSpan();
    ByteSpan bytes = map(context, phys, size);
    return bytes.size() == size ? bytes : ByteSpan();
  }
};

// ACPI 6.5, 5.2.6: the header every system description table starts with.
struct [[gnu::packed]] SdtHeader {
  char signature[4];
  uint32_t length;  // of the whole table, header included
  uint8_t revision;
  uint8_t checksum;  // all `length` bytes sum to zero
  char oem_id[6];
  char oem_table_id[8];
  uint32_t oem_revision;
  uint32_t creator_id;
  uint32_t creator_revision;
};
static_assert(sizeof(SdtHeader) == 36);

// Tables longer than this are refused rather than mapped: no real MADT/SRAT/XSDT comes close,
// and a corrupt length must not make the kernel map gigabytes.
inline constexpr usize kMaxTableLength = 1 * MiB;
// Tables the root table may list; more is kUnsupported.
inline constexpr usize kMaxTables = 64;

// What the RSDP says about the root table.
struct RsdpInfo {
  uint8_t revision = 0;  // 0 = ACPI 1.0, 2 or more = ACPI 2.0+
  uint64_t root_phys = 0;  // the XSDT for revision >= 2 with a non-zero XSDT address, else RSDT
  bool root_is_xsdt = false;
};

// Validates an RSDP (ACPI 6.5, 5.2.5.3): signature "RSD PTR ", checksum of the first 20 bytes,
// and for revision >= 2 the length field (36 up to rsdp.size()) and the extended checksum.
// `rsdp` may be the copy from a Multiboot2 tag. A revision 2 RSDP cut to its first 20 bytes
// (GRUB's tag 14 on ACPI 2.0+ firmware) is treated as ACPI 1.0: its RSDT is used. Diagnostic
// offsets are into `rsdp`.
Result<RsdpInfo> parse_rsdp(ByteSpan rsdp, loader::ParseDiagnostic* diag);

// Validates a whole table: at least a header, `length` equal to table.size(), the checksum,
// and when `signature` is non-null, the 4-character signature. Diagnostic offsets are into
// `table`.
Result<void> validate_table(ByteSpan table, const char* signature,
                            loader::ParseDiagnostic* diag);

// Reads the header at `phys`, then the whole table, bounded by kMaxTableLength, and validates
// it. Diagnostic offsets are physical addresses.
Result<ByteSpan> map_table(const PhysReader& memory, uint64_t phys, const char* signature,
                           loader::ParseDiagnostic* diag);

struct TableEntry {
  char signature[4];
  uint64_t phys;
};

// The root table's list of tables, in firmware order.
struct TableDirectory {
  RsdpInfo rsdp;
  TableEntry entries[kMaxTables];
  usize count = 0;
};

// Validates the RSDP and the RSDT or XSDT it points to, and reads each listed table's
// signature. Listed tables are only checksummed when found with find_table(). Fails on a bad
// root table, an unreadable listed table header, or more than kMaxTables entries
// (kUnsupported). Diagnostic offsets are physical addresses, except for RSDP problems
// (offsets into `rsdp`).
Result<void> read_root(ByteSpan rsdp, const PhysReader& memory, TableDirectory* out,
                       loader::ParseDiagnostic* diag);

// Maps and validates the `instance`-th (from 0) table with this 4-character signature.
// kNotFound when there is none.
Result<ByteSpan> find_table(const TableDirectory& directory, const PhysReader& memory,
                            const char* signature, usize instance,
                            loader::ParseDiagnostic* diag);

}  // namespace exo::acpi
