// spawn(): carries out a LoadPlan with memory objects, then starts the process.
#include "exo/elf_loader.h"

#include "exo/string.h"

namespace exo::sys {
namespace {

constexpr usize kMaxStartHandles = 16;

// Closes a handle on every path out of the scope unless released.
class HandleGuard {
 public:
  explicit HandleGuard(Handle handle) : handle_(handle) {}
  ~HandleGuard() {
    if (handle_ != kInvalidHandle) (void)handle_close(handle_);
  }
  HandleGuard(const HandleGuard&) = delete;
  HandleGuard& operator=(const HandleGuard&) = delete;
  Handle get() const { return handle_; }
  Handle release() {
    Handle h = handle_;
    handle_ = kInvalidHandle;
    return h;
  }

 private:
  Handle handle_;
};

// Unmaps a temporary window into this process on every path out of the scope.
class WindowGuard {
 public:
  WindowGuard(void* address, usize length) : address_(address), length_(length) {}
  ~WindowGuard() { (void)vm_unmap(address_, length_); }
  WindowGuard(const WindowGuard&) = delete;
  WindowGuard& operator=(const WindowGuard&) = delete;

 private:
  void* address_;
  usize length_;
};

Status fill_and_map(Handle process, ByteSpan image, const MapOp& op, const SpawnOptions& options,
                    const StartHandle* start_handles, StartLayout* layout) {
  HandleGuard object(EXO_TRY(memory_object_create(op.length)));
  {
    uint64_t window =
        EXO_TRY(memory_object_map(kSelf, object.get(), 0, 0, op.length, kProtRead | kProtWrite));
    auto* bytes = reinterpret_cast<uint8_t*>(window);
    WindowGuard unmap(bytes, op.length);
    if (op.file_length != 0)
      memcpy(bytes + op.copy_offset, image.data() + op.file_offset, op.file_length);
    if (op.is_stack) {
      StartArguments arguments;
      arguments.argv = options.argv;
      arguments.argc = options.argc;
      arguments.envp = options.envp;
      arguments.envc = options.envc;
      arguments.handles = start_handles;
      arguments.handle_count = options.handle_count;
      arguments.initrd_size = options.initrd_size;
      *layout =
          EXO_TRY(build_start_block(MutableByteSpan(bytes, op.length), op.address, arguments));
    }
  }
  EXO_TRY(memory_object_map(process, object.get(), 0, op.address, op.length,
                            op.protection | kMapFixed));
  return ok_status();
}

}  // namespace

Result<Handle> spawn(ByteSpan image, const SpawnOptions& options, loader::ParseDiagnostic* diag) {
  if (options.argc == 0 || options.argv == nullptr || options.handle_count > kMaxStartHandles ||
      (options.handle_count != 0 && (options.handles == nullptr || options.roles == nullptr))) {
    return Error::kInvalidArgument;
  }
  LoadPlan plan;
  EXO_TRY(plan_load(image, options.stack_size, &plan, diag));

  const char* name = options.name != nullptr ? options.name : options.argv[0];
  HandleGuard process(EXO_TRY(process_create(name, strlen(name))));

  StartHandle start_handles[kMaxStartHandles];
  for (usize i = 0; i < options.handle_count; ++i) {
    start_handles[i].handle = EXO_TRY(handle_transfer(process.get(), options.handles[i]));
    start_handles[i].role = options.roles[i];
  }

  StartLayout layout{};
  for (usize i = 0; i < plan.op_count; ++i) {
    EXO_TRY(fill_and_map(process.get(), image, plan.ops[i], options, start_handles, &layout));
  }
  EXO_TRY(process_start(process.get(), plan.entry, layout.stack_top, layout.block_address));
  return process.release();
}

}  // namespace exo::sys
