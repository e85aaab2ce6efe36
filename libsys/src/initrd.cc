// Reaching the initrd from a program: the mapping init was given, or the handle init passed on.
#include "exo/initrd.h"

#include "kernel/loader/cpio.h"

namespace exo::sys {
namespace {
constinit const uint8_t* g_base = nullptr;
constinit usize g_size = 0;
}  // namespace

Result<ByteSpan> initrd() {
  if (g_base == nullptr) {
    const ExoStartBlock& block = start_block();
    if (block.initrd_base != 0) {
      g_base = reinterpret_cast<const uint8_t*>(block.initrd_base);
    } else {
      Handle handle = start_handle(EXO_START_HANDLE_INITRD);
      if (handle == kInvalidHandle || block.initrd_size == 0) return Error::kNotFound;
      usize length = (block.initrd_size + kPageSize - 1) & ~(kPageSize - 1);
      uint64_t address = EXO_TRY(memory_object_map(kSelf, handle, 0, 0, length, kProtRead));
      g_base = reinterpret_cast<const uint8_t*>(address);
    }
    g_size = block.initrd_size;
  }
  return ByteSpan(g_base, g_size);
}

Result<Handle> spawn_from_initrd(const char* name, const SpawnOptions& options,
                                 loader::ParseDiagnostic* diag) {
  ByteSpan archive = EXO_TRY(initrd());
  loader::CpioEntry entry = EXO_TRY(loader::cpio_find(archive, name, diag));
  if (!loader::cpio_is_regular(entry)) return Error::kWrongType;
  return spawn(entry.data, options, diag);
}

}  // namespace exo::sys
