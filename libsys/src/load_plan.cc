// Planning a process image: ELF segments and the stack as map operations; the start block layout.
#include "exo/load_plan.h"

#include "kernel/lib/utility.h"

namespace exo::sys {
namespace {

constexpr uint64_t kPage = loader::kElfPageSize;

uint32_t protection_of(const loader::SegmentPerms& perms) {
  return (perms.read ? EXO_PROT_READ : 0u) | (perms.write ? EXO_PROT_WRITE : 0u) |
         (perms.execute ? EXO_PROT_EXECUTE : 0u);
}

usize string_length(const char* s) {
  usize n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

void copy_bytes(uint8_t* dest, const void* src, usize n) {
  const auto* s = static_cast<const uint8_t*>(src);
  for (usize i = 0; i < n; ++i) dest[i] = s[i];
}

}  // namespace

Result<void> plan_load(ByteSpan image, uint64_t stack_size, LoadPlan* out,
                       loader::ParseDiagnostic* diag) {
  loader::ElfPlan elf;
  EXO_TRY(loader::plan_elf(image, loader::kUserAddressRange, &elf, diag));
  if (elf.has_tls) {
    return loader::fail(diag, "thread-local storage (PT_TLS) is not supported yet", 0,
                        Error::kUnsupported);
  }
  if (stack_size == 0 || stack_size > kStackTop / 2) {
    return loader::fail(diag, "bad stack size", 0, Error::kInvalidArgument);
  }
  stack_size = align_up<uint64_t>(stack_size, kPage);
  out->entry = elf.entry;
  out->op_count = 0;
  out->stack_base = kStackTop - stack_size;
  out->stack_size = stack_size;
  for (usize i = 0; i < elf.segment_count; ++i) {
    const loader::LoadSegment& segment = elf.segments[i];
    uint64_t begin = align_down<uint64_t>(segment.vaddr, kPage);
    // plan_elf checked that vaddr + memsz does not wrap and lies in the user range.
    uint64_t end = align_up<uint64_t>(segment.vaddr + segment.memsz, kPage);
    if (end > out->stack_base && begin < kStackTop) {
      return loader::fail(diag, "a segment overlaps the initial stack", 0, Error::kAlreadyExists);
    }
    out->ops[out->op_count++] = MapOp{begin,
                                      end - begin,
                                      segment.vaddr - begin,
                                      segment.file_offset,
                                      segment.filesz,
                                      protection_of(segment.perms),
                                      false};
  }
  out->ops[out->op_count++] =
      MapOp{out->stack_base, stack_size, 0, 0, 0, EXO_PROT_READ | EXO_PROT_WRITE, true};
  return ok_status();
}

Result<StartLayout> build_start_block(MutableByteSpan buffer, uint64_t buffer_address,
                                      const StartArguments& arguments) {
  constexpr usize kStackReserve = 256;
  if (buffer_address % 16 != 0) return Error::kInvalidArgument;
  if ((arguments.argc != 0 && arguments.argv == nullptr) ||
      (arguments.envc != 0 && arguments.envp == nullptr) ||
      (arguments.handle_count != 0 && arguments.handles == nullptr)) {
    return Error::kInvalidArgument;
  }
  // Counts that could not fit even as bare pointers are refused before anything is read, so
  // the size arithmetic below cannot overflow either.
  usize max_entries = buffer.size() / sizeof(uint64_t);
  if (arguments.argc > max_entries || arguments.envc > max_entries ||
      arguments.handle_count > max_entries) {
    return Error::kOutOfRange;
  }
  // Sizes first, so nothing is written unless everything fits.
  usize strings = 0;
  for (usize i = 0; i < arguments.argc; ++i) {
    if (arguments.argv[i] == nullptr) return Error::kInvalidArgument;
    strings += string_length(arguments.argv[i]) + 1;
  }
  for (usize i = 0; i < arguments.envc; ++i) {
    if (arguments.envp[i] == nullptr) return Error::kInvalidArgument;
    strings += string_length(arguments.envp[i]) + 1;
  }
  usize arrays = (arguments.argc + 1 + arguments.envc + 1) * sizeof(uint64_t) +
                 arguments.handle_count * sizeof(ExoStartHandle);
  usize needed = align_up<usize>(strings, 16) + align_up<usize>(arrays, 16) +
                 align_up<usize>(sizeof(ExoStartBlock), 16) + kStackReserve;
  if (needed > buffer.size()) return Error::kOutOfRange;

  // Offsets in the buffer: [block][arrays][strings] ending at the top (16-aligned).
  usize top = align_down<usize>(buffer.size(), 16);
  usize strings_at = top - align_up<usize>(strings, 16);
  usize arrays_at = strings_at - align_up<usize>(arrays, 16);
  usize block_at = arrays_at - align_up<usize>(sizeof(ExoStartBlock), 16);
  uint8_t* base = buffer.data();
  auto address_of = [&](usize offset) { return buffer_address + offset; };

  usize string_cursor = strings_at;
  usize array_cursor = arrays_at;
  auto put_strings = [&](const char* const* list, usize count) {
    uint64_t array_address = address_of(array_cursor);
    for (usize i = 0; i < count; ++i) {
      usize length = string_length(list[i]) + 1;
      copy_bytes(base + string_cursor, list[i], length);
      uint64_t pointer = address_of(string_cursor);
      copy_bytes(base + array_cursor, &pointer, sizeof(pointer));
      string_cursor += length;
      array_cursor += sizeof(uint64_t);
    }
    uint64_t terminator = 0;
    copy_bytes(base + array_cursor, &terminator, sizeof(terminator));
    array_cursor += sizeof(uint64_t);
    return array_address;
  };
  uint64_t argv_address = put_strings(arguments.argv, arguments.argc);
  uint64_t envp_address = put_strings(arguments.envp, arguments.envc);
  uint64_t handles_address = address_of(array_cursor);
  for (usize i = 0; i < arguments.handle_count; ++i) {
    ExoStartHandle h{arguments.handles[i].handle, arguments.handles[i].role};
    copy_bytes(base + array_cursor, &h, sizeof(h));
    array_cursor += sizeof(h);
  }

  ExoStartBlock block{};
  block.magic = EXO_START_MAGIC;
  block.version = EXO_START_VERSION;
  block.size = static_cast<uint32_t>(string_cursor - block_at);
  block.argc = arguments.argc;
  block.argv = argv_address;
  block.envc = arguments.envc;
  block.envp = envp_address;
  block.handle_count = arguments.handle_count;
  block.handles = arguments.handle_count != 0 ? handles_address : 0;
  block.initrd_base = arguments.initrd_base;
  block.initrd_size = arguments.initrd_size;
  copy_bytes(base + block_at, &block, sizeof(block));
  return StartLayout{address_of(block_at), address_of(block_at)};
}

}  // namespace exo::sys
