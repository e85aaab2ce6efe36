// Starting the first process: the kernel's own ELF loading, for `init` only. Everything else is
// started by init through the process syscalls and libsys's loader; both use the same pure
// planner (loader::plan_elf, and libsys's plan_load / build_start_block for the stack).
#include "exo/load_plan.h"
#include "kernel/core/boot_info.h"
#include "kernel/core/console.h"
#include "kernel/device/device.h"
#include "kernel/loader/cpio.h"
#include "kernel/mm/kernel_layout.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/proc/process.h"

namespace exo::proc {
namespace {

constexpr const char* kInitName = "init";
constexpr usize kMaxArguments = 32;
// The top of init's stack holds its start block, arguments and their strings.
constexpr usize kStartBlockArea = 8 * 1024;

const boot::BootModule* find_initrd() {
  const boot::BootInfo& info = boot_info();
  for (usize i = 0; i < info.module_count; ++i) {
    const char* name = info.modules[i].cmdline;
    if (name[0] == 'i' && name[1] == 'n' && name[2] == 'i' && name[3] == 't' && name[4] == 'r' &&
        name[5] == 'd' && name[6] == '\0') {
      return &info.modules[i];
    }
  }
  return nullptr;
}

// Maps the whole archive read-only into `process` and gives it a handle to it (to hand on to
// the programs it starts). The archive must start on a page (GRUB aligns modules).
Result<uptr> map_initrd(Process& process, const boot::BootModule& module, object::Handle* handle) {
  if (module.start % mm::kPageSize != 0) return Error::kNotAligned;
  usize pages = (module.end - module.start + mm::kPageSize - 1) / mm::kPageSize;
  auto object = EXO_TRY(vm::MemoryObject::create_physical(module.start, pages));
  *handle = EXO_TRY(process.add_handle(object, Rights::kRead | Rights::kMap | Rights::kDuplicate |
                                                    Rights::kTransfer | Rights::kGetProperty));
  return process.address_space().map(move(object), 0, 0, pages * mm::kPageSize, vm::kProtRead,
                                     vm::kProtRead, false);
}

Status load(Process& process, ByteSpan image, const sys::StartArguments& arguments,
            sys::StartLayout* layout, uint64_t* entry) {
  loader::ParseDiagnostic diag;
  sys::LoadPlan plan;
  Status planned = sys::plan_load(image, sys::kDefaultStackSize, &plan, &diag);
  if (!planned.ok()) {
    kprint("init: not a valid program: {} ({} at offset {:#x})\n", planned.error(), diag.what,
           diag.offset);
    return planned;
  }
  for (usize i = 0; i < plan.op_count; ++i) {
    const sys::MapOp& op = plan.ops[i];
    auto object = EXO_TRY(vm::MemoryObject::create(op.length / mm::kPageSize));
    if (op.file_length != 0) {
      EXO_TRY(object->write(op.copy_offset, image.data() + op.file_offset, op.file_length));
    }
    if (op.is_stack) {
      auto* area = static_cast<uint8_t*>(mm::heap_allocate(kStartBlockArea, 16));
      if (area == nullptr) return Error::kNoMemory;
      uint64_t area_address = op.address + op.length - kStartBlockArea;
      Result<sys::StartLayout> built =
          sys::build_start_block(MutableByteSpan(area, kStartBlockArea), area_address, arguments);
      Status written = built.ok() ? object->write(op.length - kStartBlockArea, area, kStartBlockArea)
                                  : Status(built.error());
      mm::heap_free(area);
      EXO_TRY(written);
      *layout = *built;
    }
    EXO_TRY(process.address_space().map(move(object), 0, op.address, op.length, op.protection,
                                        op.protection, true));
  }
  *entry = plan.entry;
  return ok_status();
}

}  // namespace

Result<RefPtr<Process>> spawn_from_initrd(const char* program, const char* const* argv, usize argc,
                                          bool is_init) {
  const boot::BootModule* module = find_initrd();
  if (module == nullptr) {
    kprint("{}: no initrd module\n", program);
    return Error::kNotFound;
  }
  ByteSpan archive(mm::phys_to_virt<const uint8_t>(module->start), module->end - module->start);
  loader::ParseDiagnostic diag;
  Result<loader::CpioEntry> file = loader::cpio_find(archive, program, &diag);
  if (!file.ok()) {
    kprint("{}: not in the initrd: {} ({} at offset {:#x})\n", program, file.error(), diag.what,
           diag.offset);
    return file.error();
  }
  usize name_length = 0;
  while (program[name_length] != '\0') ++name_length;
  RefPtr<Process> process = EXO_TRY(Process::create(program, name_length));
  sys::StartArguments arguments;
  arguments.argv = argv;
  arguments.argc = argc;
  sys::StartHandle start_handles[2 + device::InterruptLine::kLines] = {};
  if (is_init) {
    // init gets the archive itself, read-only, to start everything else from, and a handle
    // to it to pass on.
    process->set_init();
    object::Handle handle = object::kInvalidHandle;
    arguments.initrd_base = EXO_TRY(map_initrd(*process, *module, &handle));
    arguments.initrd_size = module->end - module->start;
    usize count = 0;
    start_handles[count++] = sys::StartHandle{handle, EXO_START_HANDLE_INITRD};
    // Every hardware resource, for init to share out: all I/O ports, and the ISA interrupt
    // lines but the timer (0) and the cascade (2).
    constexpr Rights kPortRights = Rights::kRead | Rights::kWrite | Rights::kManage |
                                   Rights::kTransfer | Rights::kDuplicate;
    auto ports = EXO_TRY(device::IoPortRange::create(0, 65536));
    start_handles[count++] = sys::StartHandle{EXO_TRY(process->add_handle(move(ports), kPortRights)),
                                              EXO_START_HANDLE_IO_PORTS};
    constexpr Rights kLineRights = Rights::kWait | Rights::kManage | Rights::kTransfer |
                                   Rights::kDuplicate;
    for (uint32_t irq = 1; irq < device::InterruptLine::kLines; ++irq) {
      if (irq == 2) continue;
      auto line = EXO_TRY(device::InterruptLine::get(irq));
      start_handles[count++] = sys::StartHandle{EXO_TRY(process->add_handle(move(line), kLineRights)),
                                                EXO_START_HANDLE_IRQ_BASE + irq};
    }
    arguments.handles = start_handles;
    arguments.handle_count = count;
  }
  sys::StartLayout layout{};
  uint64_t entry = 0;
  EXO_TRY(load(*process, file->data, arguments, &layout, &entry));
  EXO_TRY(process->start(entry, layout.stack_top, layout.block_address));
  return process;
}

Status start_init(const char* command_line) {
  // argv: "init", then the command line split at spaces.
  usize length = 0;
  while (command_line[length] != '\0') ++length;
  auto* words = static_cast<char*>(mm::heap_allocate(length + 1, 1));
  if (words == nullptr) return Error::kNoMemory;
  for (usize i = 0; i <= length; ++i) words[i] = command_line[i];
  const char* argv[kMaxArguments + 1] = {kInitName};
  usize argc = 1;
  for (usize i = 0; i < length && argc < kMaxArguments; ++i) {
    if (words[i] == ' ') {
      words[i] = '\0';
    } else if (i == 0 || words[i - 1] == '\0') {
      argv[argc++] = &words[i];
    }
  }
  Result<RefPtr<Process>> init = spawn_from_initrd(kInitName, argv, argc, true);
  mm::heap_free(words);  // build_start_block copied the strings into init's stack
  if (!init.ok()) return init.error();
  kprint("init: started as process {}\n", (*init)->id());
  return ok_status();
}

}  // namespace exo::proc
