// Multiboot2 boot information parser (Multiboot2 specification version 2.0, section 3.6).
#include "kernel/boot/multiboot2.h"

#include "kernel/lib/utility.h"

namespace exo::boot {
namespace {

using loader::fail;
using loader::ParseDiagnostic;

// Spec 3.6.1: the fixed part in front of the tags.
struct InfoHeader {
  uint32_t total_size;
  uint32_t reserved;
};
static_assert(sizeof(InfoHeader) == 8);

// Spec 3.6.2: every tag starts with this and starts on an 8-byte boundary.
struct TagHeader {
  uint32_t type;
  uint32_t size;  // including this header, excluding the padding to the next tag
};
static_assert(sizeof(TagHeader) == 8);

inline constexpr usize kTagAlign = 8;
// The smallest valid information: the fixed part and an end tag.
inline constexpr usize kMinTotalSize = sizeof(InfoHeader) + sizeof(TagHeader);

// Spec 3.6.3 onwards; only the tags Exo reads are named.
enum class TagType : uint32_t {
  kEnd = 0,
  kCmdline = 1,
  kBootloaderName = 2,
  kModule = 3,
  kMemoryMap = 6,
  kAcpiOld = 14,
  kAcpiNew = 15,
};

// Spec 3.6.6: followed by the module's NUL-terminated command line.
struct ModuleTag {
  TagHeader header;
  uint32_t mod_start;
  uint32_t mod_end;
};
static_assert(sizeof(ModuleTag) == 16);

// Spec 3.6.8: followed by entries of `entry_size` bytes each.
struct MemoryMapTag {
  TagHeader header;
  uint32_t entry_size;  // at least sizeof(MemoryMapEntry) and a multiple of 8
  uint32_t entry_version;  // 0 in this version of the spec
};
static_assert(sizeof(MemoryMapTag) == 16);

struct MemoryMapEntry {
  uint64_t base_addr;
  uint64_t length;
  uint32_t type;
  uint32_t reserved;
};
static_assert(sizeof(MemoryMapEntry) == 24);

// Spec 3.6.12 / 3.6.13: the tags carry a copy of the RSDP, 20 bytes for ACPI 1.0 and 36 for
// the extended 2.0+ structure (ACPI 6.5, 5.2.5.3).
inline constexpr usize kRsdpV1Size = 20;
inline constexpr usize kRsdpV2Size = 36;

// A tag located inside the info buffer: `bytes` covers exactly `size` bytes from its header.
struct Tag {
  uint32_t type;
  usize offset;
  ByteSpan bytes;
};

// Returns the NUL-terminated string occupying bytes [start, tag end) of `tag`, or fails when
// no NUL lies within the tag (spec 3.6.4: strings are zero-terminated).
Result<const char*> tag_string(const Tag& tag, usize start, ParseDiagnostic* diag) {
  for (usize i = start; i < tag.bytes.size(); ++i) {
    if (tag.bytes[i] == 0) return reinterpret_cast<const char*>(tag.bytes.data() + start);
  }
  return fail(diag, "multiboot2: string not NUL-terminated within its tag", tag.offset + start);
}

Result<void> parse_module(const Tag& tag, BootInfo* out, ParseDiagnostic* diag) {
  // One byte past the fixed part at least, for the command line's NUL.
  if (tag.bytes.size() < sizeof(ModuleTag) + 1) {
    return fail(diag, "multiboot2: module tag too short", tag.offset);
  }
  auto module = load_le<ModuleTag>(tag.bytes.data());
  if (module.mod_start > module.mod_end) {
    return fail(diag, "multiboot2: module start above its end", tag.offset);
  }
  const char* cmdline = EXO_TRY(tag_string(tag, sizeof(ModuleTag), diag));
  if (out->module_count == kMaxModules) {
    return fail(diag, "multiboot2: more modules than kMaxModules", tag.offset,
                Error::kUnsupported);
  }
  out->modules[out->module_count++] = BootModule{module.mod_start, module.mod_end, cmdline};
  return {};
}

Result<void> parse_memory_map(const Tag& tag, BootInfo* out, ParseDiagnostic* diag) {
  if (tag.bytes.size() < sizeof(MemoryMapTag)) {
    return fail(diag, "multiboot2: memory map tag too short", tag.offset);
  }
  auto map = load_le<MemoryMapTag>(tag.bytes.data());
  if (map.entry_size < sizeof(MemoryMapEntry) || !is_aligned<usize>(map.entry_size, 8)) {
    return fail(diag, "multiboot2: memory map entry_size below 24 or not a multiple of 8",
                tag.offset + offsetof(MemoryMapTag, entry_size));
  }
  if (map.entry_version != 0) {
    return fail(diag, "multiboot2: memory map entry_version is not 0",
                tag.offset + offsetof(MemoryMapTag, entry_version));
  }
  usize entries_bytes = tag.bytes.size() - sizeof(MemoryMapTag);
  if (entries_bytes % map.entry_size != 0) {
    return fail(diag, "multiboot2: memory map ends inside an entry", tag.offset);
  }
  for (usize at = sizeof(MemoryMapTag); at < tag.bytes.size(); at += map.entry_size) {
    auto entry = load_le<MemoryMapEntry>(tag.bytes.data() + at);
    uint64_t end;
    if (!checked_add(entry.base_addr, entry.length, &end)) {
      return fail(diag, "multiboot2: memory region base + length wraps", tag.offset + at);
    }
    if (out->memory_count == kMaxMemoryRegions) {
      return fail(diag, "multiboot2: more memory regions than kMaxMemoryRegions",
                  tag.offset + at, Error::kUnsupported);
    }
    out->memory[out->memory_count++] = MemoryRegion{entry.base_addr, entry.length, entry.type};
  }
  return {};
}

Result<void> parse_acpi(const Tag& tag, BootInfo* out, bool* seen_old, bool* seen_new,
                        ParseDiagnostic* diag) {
  bool is_new = tag.type == static_cast<uint32_t>(TagType::kAcpiNew);
  usize min_size = sizeof(TagHeader) + (is_new ? kRsdpV2Size : kRsdpV1Size);
  if (tag.bytes.size() < min_size) {
    return fail(diag, "multiboot2: ACPI tag too short for its RSDP copy", tag.offset);
  }
  bool* seen = is_new ? seen_new : seen_old;
  if (*seen) return fail(diag, "multiboot2: duplicate ACPI RSDP tag", tag.offset);
  *seen = true;
  // Tag 15 wins over tag 14 whatever the order, since it carries the XSDT address.
  if (is_new || out->rsdp_tag_type == 0) {
    out->rsdp = tag.bytes.data() + sizeof(TagHeader);
    out->rsdp_size = tag.bytes.size() - sizeof(TagHeader);
    out->rsdp_tag_type = tag.type;
  }
  return {};
}

}  // namespace

Result<void> parse_multiboot2(ByteSpan info, BootInfo* out, ParseDiagnostic* diag) {
  out->cmdline = "";
  out->bootloader_name = "";
  out->memory_count = 0;
  out->module_count = 0;
  out->rsdp = nullptr;
  out->rsdp_size = 0;
  out->rsdp_tag_type = 0;
  out->info_phys_size = 0;

  if (info.size() < kMinTotalSize) {
    return fail(diag, "multiboot2: information shorter than 16 bytes", 0);
  }
  auto header = load_le<InfoHeader>(info.data());
  if (header.total_size != info.size()) {
    return fail(diag, "multiboot2: total_size does not match the buffer size",
                offsetof(InfoHeader, total_size));
  }
  // The spec says reserved is "always set to zero"; a non-zero value means we are not looking
  // at boot information at all, so Exo refuses it rather than ignoring it.
  if (header.reserved != 0) {
    return fail(diag, "multiboot2: reserved field is not zero", offsetof(InfoHeader, reserved));
  }
  out->info_phys_size = header.total_size;

  bool seen_cmdline = false;
  bool seen_name = false;
  bool seen_memory_map = false;
  bool seen_acpi_old = false;
  bool seen_acpi_new = false;
  usize offset = sizeof(InfoHeader);
  // Each iteration either returns or advances `offset` by at least 8 bytes, rounded to 8, so
  // `offset` stays 8-aligned and the loop ends.
  while (offset < info.size()) {
    if (!info.contains_range(offset, sizeof(TagHeader))) {
      return fail(diag, "multiboot2: tag header runs past total_size", offset);
    }
    auto tag_header = load_le<TagHeader>(info.data() + offset);
    if (tag_header.size < sizeof(TagHeader)) {
      return fail(diag, "multiboot2: tag size below 8", offset + offsetof(TagHeader, size));
    }
    if (!info.contains_range(offset, tag_header.size)) {
      return fail(diag, "multiboot2: tag runs past total_size", offset);
    }
    Tag tag{tag_header.type, offset, info.subspan(offset, tag_header.size)};
    switch (static_cast<TagType>(tag_header.type)) {
      case TagType::kEnd:
        // Spec 3.6.3: the end tag is type 0, size 8, and terminates the list.
        if (tag_header.size != sizeof(TagHeader)) {
          return fail(diag, "multiboot2: end tag size is not 8", offset);
        }
        if (offset + tag_header.size != info.size()) {
          return fail(diag, "multiboot2: data after the end tag", offset);
        }
        return {};
      case TagType::kCmdline:
        if (seen_cmdline) return fail(diag, "multiboot2: duplicate command line tag", offset);
        seen_cmdline = true;
        out->cmdline = EXO_TRY(tag_string(tag, sizeof(TagHeader), diag));
        break;
      case TagType::kBootloaderName:
        if (seen_name) return fail(diag, "multiboot2: duplicate boot loader name tag", offset);
        seen_name = true;
        out->bootloader_name = EXO_TRY(tag_string(tag, sizeof(TagHeader), diag));
        break;
      case TagType::kModule:
        EXO_TRY(parse_module(tag, out, diag));
        break;
      case TagType::kMemoryMap:
        if (seen_memory_map) return fail(diag, "multiboot2: duplicate memory map tag", offset);
        seen_memory_map = true;
        EXO_TRY(parse_memory_map(tag, out, diag));
        break;
      case TagType::kAcpiOld:
      case TagType::kAcpiNew:
        EXO_TRY(parse_acpi(tag, out, &seen_acpi_old, &seen_acpi_new, diag));
        break;
      default:
        // Spec 3.6.2: a boot loader may add tags the image does not know; they are skipped.
        break;
    }
    // offset + size <= info.size() was checked above, so neither addition can wrap.
    offset = align_up<usize>(offset + tag_header.size, kTagAlign);
  }
  return fail(diag, "multiboot2: no end tag", info.size());
}

}  // namespace exo::boot
