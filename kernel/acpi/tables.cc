// ACPI root tables: RSDP validation, RSDT/XSDT walking, and table header checks (ACPI 6.5, 5.2).
#include "kernel/acpi/tables.h"

#include "kernel/lib/utility.h"

namespace exo::acpi {
namespace {

using loader::fail;
using loader::ParseDiagnostic;

// ACPI 6.5, 5.2.5.3. The first 20 bytes are the ACPI 1.0 structure.
struct [[gnu::packed]] Rsdp {
  char signature[8];
  uint8_t checksum;  // covers the first 20 bytes
  char oem_id[6];
  uint8_t revision;
  uint32_t rsdt_address;
  // Revision 2 and later:
  uint32_t length;
  uint64_t xsdt_address;
  uint8_t extended_checksum;  // covers `length` bytes
  uint8_t reserved[3];
};
static_assert(sizeof(Rsdp) == 36);
inline constexpr usize kRsdpV1Size = 20;

bool bytes_equal(const void* a, const char* b, usize n) {
  const char* p = static_cast<const char*>(a);
  for (usize i = 0; i < n; ++i) {
    if (p[i] != b[i]) return false;
  }
  return true;
}

uint8_t byte_sum(ByteSpan bytes) {
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  return sum;
}

}  // namespace

Result<RsdpInfo> parse_rsdp(ByteSpan rsdp, ParseDiagnostic* diag) {
  if (rsdp.size() < kRsdpV1Size) return fail(diag, "acpi: RSDP shorter than 20 bytes", 0);
  Rsdp r{};
  __builtin_memcpy(&r, rsdp.data(), min(rsdp.size(), sizeof(Rsdp)));
  if (!bytes_equal(r.signature, "RSD PTR ", 8)) {
    return fail(diag, "acpi: RSDP signature is not \"RSD PTR \"", 0);
  }
  if (byte_sum(rsdp.subspan(0, kRsdpV1Size)) != 0) {
    return fail(diag, "acpi: RSDP checksum mismatch", offsetof(Rsdp, checksum));
  }
  RsdpInfo info;
  info.revision = r.revision;
  info.root_phys = r.rsdt_address;
  // A 20-byte copy of a revision 2 RSDP is what GRUB puts in the Multiboot2 "ACPI old RSDP"
  // tag on ACPI 2.0+ firmware: only the ACPI 1.0 part, so only the RSDT is usable.
  if (r.revision < 2 || rsdp.size() < sizeof(Rsdp)) return info;

  if (r.length < sizeof(Rsdp) || r.length > rsdp.size()) {
    return fail(diag, "acpi: RSDP length below 36 or past the RSDP copy",
                offsetof(Rsdp, length));
  }
  if (byte_sum(rsdp.subspan(0, r.length)) != 0) {
    return fail(diag, "acpi: RSDP extended checksum mismatch",
                offsetof(Rsdp, extended_checksum));
  }
  // ACPI 6.5, 5.2.5.3: on 2.0+ systems OSPM uses the XSDT when its address is non-zero.
  if (r.xsdt_address != 0) {
    info.root_phys = r.xsdt_address;
    info.root_is_xsdt = true;
  }
  return info;
}

Result<void> validate_table(ByteSpan table, const char* signature, ParseDiagnostic* diag) {
  if (table.size() < sizeof(SdtHeader)) {
    return fail(diag, "acpi: table shorter than its header", 0);
  }
  auto header = load_le<SdtHeader>(table.data());
  if (signature != nullptr && !bytes_equal(header.signature, signature, 4)) {
    return fail(diag, "acpi: table signature mismatch", 0);
  }
  if (header.length != table.size()) {
    return fail(diag, "acpi: table length does not match its extent",
                offsetof(SdtHeader, length));
  }
  if (byte_sum(table) != 0) {
    return fail(diag, "acpi: table checksum mismatch", offsetof(SdtHeader, checksum));
  }
  return {};
}

Result<ByteSpan> map_table(const PhysReader& memory, uint64_t phys, const char* signature,
                           ParseDiagnostic* diag) {
  ByteSpan head = memory.read(phys, sizeof(SdtHeader));
  if (head.empty()) return fail(diag, "acpi: table header not readable", phys);
  auto header = load_le<SdtHeader>(head.data());
  if (header.length < sizeof(SdtHeader)) {
    return fail(diag, "acpi: table length below its header", phys);
  }
  if (header.length > kMaxTableLength) {
    return fail(diag, "acpi: table length above kMaxTableLength", phys, Error::kUnsupported);
  }
  uint64_t end;
  if (!checked_add<uint64_t>(phys, header.length, &end)) {
    return fail(diag, "acpi: table wraps the physical address space", phys);
  }
  ByteSpan table = memory.read(phys, header.length);
  if (table.empty()) return fail(diag, "acpi: table runs into unreadable memory", phys);
  loader::ParseDiagnostic inner;
  auto valid = validate_table(table, signature, &inner);
  if (!valid.ok()) return fail(diag, inner.what, phys + inner.offset, valid.error());
  return table;
}

Result<void> read_root(ByteSpan rsdp, const PhysReader& memory, TableDirectory* out,
                       ParseDiagnostic* diag) {
  out->count = 0;
  out->rsdp = EXO_TRY(parse_rsdp(rsdp, diag));
  const RsdpInfo& info = out->rsdp;
  // ACPI 6.5, 5.2.7 and 5.2.8: an array of 32-bit (RSDT) or 64-bit (XSDT) addresses after the
  // header.
  ByteSpan root = EXO_TRY(map_table(memory, info.root_phys, info.root_is_xsdt ? "XSDT" : "RSDT",
                                    diag));
  usize entry_size = info.root_is_xsdt ? 8 : 4;
  usize body = root.size() - sizeof(SdtHeader);
  if (body % entry_size != 0) {
    return fail(diag, "acpi: root table ends inside an entry", info.root_phys);
  }
  for (usize at = sizeof(SdtHeader); at < root.size(); at += entry_size) {
    uint64_t phys = info.root_is_xsdt ? load_le<uint64_t>(root.data() + at)
                                      : load_le<uint32_t>(root.data() + at);
    if (out->count == kMaxTables) {
      return fail(diag, "acpi: root table lists more than kMaxTables tables",
                  info.root_phys + at, Error::kUnsupported);
    }
    ByteSpan head = memory.read(phys, sizeof(SdtHeader));
    if (head.empty()) return fail(diag, "acpi: listed table header not readable", phys);
    TableEntry& entry = out->entries[out->count++];
    __builtin_memcpy(entry.signature, head.data(), 4);
    entry.phys = phys;
  }
  return {};
}

Result<ByteSpan> find_table(const TableDirectory& directory, const PhysReader& memory,
                            const char* signature, usize instance, ParseDiagnostic* diag) {
  for (usize i = 0; i < directory.count; ++i) {
    const TableEntry& entry = directory.entries[i];
    if (!bytes_equal(entry.signature, signature, 4)) continue;
    if (instance-- == 0) return map_table(memory, entry.phys, signature, diag);
  }
  return fail(diag, "acpi: no such table", 0, Error::kNotFound);
}

}  // namespace exo::acpi
