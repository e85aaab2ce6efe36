// ELF64 executable validation (System V gABI, "ELF Header" and "Program Header"; x86-64 psABI).
#include "kernel/loader/elf.h"

#include "kernel/lib/utility.h"

namespace exo::loader {
namespace {

// gABI, "ELF Header": Elf64_Ehdr.
struct Elf64Header {
  uint8_t ident[16];
  uint16_t type;
  uint16_t machine;
  uint32_t version;
  uint64_t entry;
  uint64_t phoff;
  uint64_t shoff;
  uint32_t flags;
  uint16_t ehsize;
  uint16_t phentsize;
  uint16_t phnum;
  uint16_t shentsize;
  uint16_t shnum;
  uint16_t shstrndx;
};
static_assert(sizeof(Elf64Header) == 64);

// e_ident indexes and values.
inline constexpr uint8_t kMagic[4] = {0x7f, 'E', 'L', 'F'};
inline constexpr usize kIdentClass = 4;
inline constexpr usize kIdentData = 5;
inline constexpr usize kIdentVersion = 6;
inline constexpr uint8_t kClass64 = 2;  // ELFCLASS64
inline constexpr uint8_t kData2Lsb = 1;  // ELFDATA2LSB
inline constexpr uint8_t kVersionCurrent = 1;  // EV_CURRENT
inline constexpr uint16_t kTypeExec = 2;  // ET_EXEC
inline constexpr uint16_t kTypeDyn = 3;  // ET_DYN
inline constexpr uint16_t kMachineX86_64 = 62;  // EM_X86_64
inline constexpr uint16_t kPhnumExtended = 0xffff;  // PN_XNUM

// gABI, "Program Header": Elf64_Phdr.
struct Elf64ProgramHeader {
  uint32_t type;
  uint32_t flags;
  uint64_t offset;
  uint64_t vaddr;
  uint64_t paddr;
  uint64_t filesz;
  uint64_t memsz;
  uint64_t align;
};
static_assert(sizeof(Elf64ProgramHeader) == 56);

inline constexpr uint32_t kPtLoad = 1;
inline constexpr uint32_t kPtDynamic = 2;
inline constexpr uint32_t kPtInterp = 3;
inline constexpr uint32_t kPtTls = 7;
inline constexpr uint32_t kPfExecute = 1;
inline constexpr uint32_t kPfWrite = 2;
inline constexpr uint32_t kPfRead = 4;

Result<void> check_header(ByteSpan image, const Elf64Header& h, ParseDiagnostic* diag) {
  for (usize i = 0; i < 4; ++i) {
    if (h.ident[i] != kMagic[i]) return fail(diag, "elf: bad magic", i);
  }
  if (h.ident[kIdentClass] != kClass64) {
    return fail(diag, "elf: not ELF64 (EI_CLASS)", kIdentClass, Error::kUnsupported);
  }
  if (h.ident[kIdentData] != kData2Lsb) {
    return fail(diag, "elf: not little-endian (EI_DATA)", kIdentData, Error::kUnsupported);
  }
  if (h.ident[kIdentVersion] != kVersionCurrent || h.version != kVersionCurrent) {
    return fail(diag, "elf: bad ELF version", kIdentVersion);
  }
  if (h.machine != kMachineX86_64) {
    return fail(diag, "elf: machine is not x86_64", offsetof(Elf64Header, machine),
                Error::kUnsupported);
  }
  if (h.type != kTypeExec) {
    return fail(diag,
                h.type == kTypeDyn ? "elf: ET_DYN (PIE or shared object); only static ET_EXEC"
                                   : "elf: not an executable (e_type is not ET_EXEC)",
                offsetof(Elf64Header, type), Error::kUnsupported);
  }
  if (h.phentsize != sizeof(Elf64ProgramHeader)) {
    return fail(diag, "elf: e_phentsize is not 56", offsetof(Elf64Header, phentsize));
  }
  if (h.phnum == kPhnumExtended) {
    return fail(diag, "elf: extended program header numbering", offsetof(Elf64Header, phnum),
                Error::kUnsupported);
  }
  if (h.phnum == 0) return fail(diag, "elf: no program headers", offsetof(Elf64Header, phnum));
  // phnum < 0xffff, so the product cannot overflow.
  usize table_size = usize{h.phnum} * sizeof(Elf64ProgramHeader);
  if (h.phoff > image.size() || !image.contains_range(h.phoff, table_size)) {
    return fail(diag, "elf: program headers outside the file", offsetof(Elf64Header, phoff));
  }
  return {};
}

// Validates one PT_LOAD header and appends it. `at` is the header's offset in the image.
Result<void> add_load(ByteSpan image, const AddressRange& allowed, const Elf64ProgramHeader& ph,
                      usize at, ElfPlan* out, ParseDiagnostic* diag) {
  if (ph.filesz > ph.memsz) return fail(diag, "elf: segment filesz above memsz", at);
  if (ph.offset > image.size() || !image.contains_range(ph.offset, ph.filesz)) {
    return fail(diag, "elf: segment file bytes outside the file", at);
  }
  uint64_t end;
  if (!checked_add(ph.vaddr, ph.memsz, &end)) {
    return fail(diag, "elf: segment address + size wraps", at);
  }
  if (ph.vaddr < allowed.begin || end > allowed.end) {
    return fail(diag, "elf: segment outside the allowed address range", at,
                Error::kAccessDenied);
  }
  // gABI: p_align 0 or 1 means none; otherwise a power of two with vaddr = offset (mod align).
  if (ph.align > 1 && (!is_power_of_two(ph.align) || ph.vaddr % ph.align != ph.offset % ph.align)) {
    return fail(diag, "elf: bad p_align", at);
  }
  // Mapping file pages needs page congruence whatever p_align says.
  if (ph.vaddr % kElfPageSize != ph.offset % kElfPageSize) {
    return fail(diag, "elf: p_vaddr and p_offset differ modulo the page size", at);
  }
  if ((ph.flags & kPfWrite) && (ph.flags & kPfExecute)) {
    return fail(diag, "elf: segment is both writable and executable", at, Error::kAccessDenied);
  }
  // gABI: PT_LOAD entries are sorted by p_vaddr. Since memory is mapped in pages, a segment
  // may not start in the last page of the previous one either (they would need two sets of
  // permissions for one page). `end` <= allowed.end, so align_up cannot wrap unless
  // allowed.end is within a page of 2^64; guard that anyway.
  if (out->segment_count > 0) {
    const LoadSegment& prev = out->segments[out->segment_count - 1];
    uint64_t prev_end = prev.vaddr + prev.memsz;
    uint64_t prev_end_page;
    if (!checked_add<uint64_t>(prev_end, kElfPageSize - 1, &prev_end_page)) {
      return fail(diag, "elf: segment address + size wraps", at);
    }
    prev_end_page &= ~(kElfPageSize - 1);
    if (ph.vaddr < prev.vaddr) return fail(diag, "elf: PT_LOAD segments not in address order", at);
    if (align_down<uint64_t>(ph.vaddr, kElfPageSize) < prev_end_page) {
      return fail(diag, "elf: segments overlap or share a page", at);
    }
  }
  if (out->segment_count == kMaxLoadSegments) {
    return fail(diag, "elf: more PT_LOAD segments than kMaxLoadSegments", at,
                Error::kUnsupported);
  }
  out->segments[out->segment_count++] =
      LoadSegment{ph.vaddr, ph.memsz, ph.offset, ph.filesz,
                  SegmentPerms{(ph.flags & kPfRead) != 0, (ph.flags & kPfWrite) != 0,
                               (ph.flags & kPfExecute) != 0}};
  return {};
}

bool inside_segment(const ElfPlan& plan, uint64_t begin, uint64_t size) {
  for (usize i = 0; i < plan.segment_count; ++i) {
    const LoadSegment& s = plan.segments[i];
    if (begin >= s.vaddr && begin - s.vaddr <= s.memsz && size <= s.memsz - (begin - s.vaddr)) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<void> plan_elf(ByteSpan image, const AddressRange& allowed, ElfPlan* out,
                      ParseDiagnostic* diag) {
  out->entry = 0;
  out->segment_count = 0;
  out->has_tls = false;
  if (image.size() < sizeof(Elf64Header)) {
    return fail(diag, "elf: file shorter than the ELF header", 0);
  }
  auto header = load_le<Elf64Header>(image.data());
  EXO_TRY(check_header(image, header, diag));

  usize tls_at = 0;
  Elf64ProgramHeader tls{};
  for (usize i = 0; i < header.phnum; ++i) {
    usize at = header.phoff + i * sizeof(Elf64ProgramHeader);
    auto ph = load_le<Elf64ProgramHeader>(image.data() + at);
    switch (ph.type) {
      case kPtLoad:
        // gABI allows empty PT_LOADs; there is nothing to map.
        if (ph.memsz != 0) EXO_TRY(add_load(image, allowed, ph, at, out, diag));
        break;
      case kPtInterp:
      case kPtDynamic:
        return fail(diag, "elf: dynamically linked (PT_INTERP or PT_DYNAMIC)", at,
                    Error::kUnsupported);
      case kPtTls:
        if (out->has_tls) return fail(diag, "elf: more than one PT_TLS", at);
        out->has_tls = true;
        tls = ph;
        tls_at = at;
        break;
      default:
        break;  // PT_NOTE, PT_PHDR, PT_GNU_STACK and the like need no action
    }
  }
  if (out->segment_count == 0) return fail(diag, "elf: no PT_LOAD segment", header.phoff);

  // x86-64 psABI: the entry is where execution starts, so it must be backed by file bytes
  // of an executable segment.
  bool entry_ok = false;
  for (usize i = 0; i < out->segment_count; ++i) {
    const LoadSegment& s = out->segments[i];
    if (s.perms.execute && header.entry >= s.vaddr && header.entry - s.vaddr < s.filesz) {
      entry_ok = true;
    }
  }
  if (!entry_ok) {
    return fail(diag, "elf: entry point not inside an executable segment",
                offsetof(Elf64Header, entry));
  }
  out->entry = header.entry;

  if (out->has_tls) {
    // gABI, "Thread-Local Storage": the template is the initialised image of one thread's
    // block; it lies inside a loaded segment.
    if (tls.filesz > tls.memsz) return fail(diag, "elf: PT_TLS filesz above memsz", tls_at);
    if (tls.align > 1 && !is_power_of_two(tls.align)) {
      return fail(diag, "elf: PT_TLS alignment is not a power of two", tls_at);
    }
    if (!inside_segment(*out, tls.vaddr, tls.filesz)) {
      return fail(diag, "elf: PT_TLS template outside the loaded segments", tls_at);
    }
    out->tls = TlsTemplate{tls.vaddr, tls.filesz, tls.memsz, tls.align > 1 ? tls.align : 1};
  }
  return {};
}

}  // namespace exo::loader
