// Process start-up: checks the start block, runs global constructors, calls main, exits.
#include "exo/print.h"
#include "exo/string.h"
#include "exo/syscall.h"

// The program's entry point, as in hosted C++: argv[argc] is nullptr.
int main(int argc, char** argv);

extern "C" {
// From libsys/user.ld: the constructors of the program's globals.
using InitFunction = void (*)();
extern InitFunction __init_array_start[];
extern InitFunction __init_array_end[];

// With -fno-use-cxa-atexit static destructors register through atexit; a process's memory goes
// away with it, so they are never run.
int atexit(void (*)()) {
  return 0;
}
void* __dso_handle = nullptr;
[[noreturn]] void __cxa_pure_virtual() {
  exo::sys::puts("pure virtual call\n");
  exo::sys::process_exit(EXO_EXIT_ABORT);
}
}

namespace exo::sys {
namespace {
constinit const ExoStartBlock* the_start_block = nullptr;
constinit ExoStartBlock empty_block = {};
constinit char* empty_argv[] = {nullptr};
}  // namespace

const ExoStartBlock& start_block() {
  return *the_start_block;
}

const char* getenv(const char* key) {
  const ExoStartBlock& block = *the_start_block;
  auto* env = reinterpret_cast<const char* const*>(block.envp);
  if (env == nullptr) return nullptr;
  usize key_length = strlen(key);
  for (uint64_t i = 0; i < block.envc; ++i) {
    if (env[i] != nullptr && strncmp(env[i], key, key_length) == 0 && env[i][key_length] == '=') {
      return env[i] + key_length + 1;
    }
  }
  return nullptr;
}

Handle start_handle(uint32_t role) {
  const ExoStartBlock& block = *the_start_block;
  auto* handles = reinterpret_cast<const ExoStartHandle*>(block.handles);
  for (uint64_t i = 0; handles != nullptr && i < block.handle_count; ++i) {
    if (handles[i].role == role) return handles[i].handle;
  }
  return kInvalidHandle;
}

}  // namespace exo::sys

// Called by _start (arch/x86_64/entry.S) with the stack aligned.
extern "C" [[noreturn]] void exo_start_main(const ExoStartBlock* block) {
  using namespace exo::sys;
  if (block == nullptr || block->magic != EXO_START_MAGIC || block->version != EXO_START_VERSION) {
    // Still run: a program started by hand with no block gets argc 0.
    empty_block.magic = EXO_START_MAGIC;
    empty_block.version = EXO_START_VERSION;
    empty_block.argv = reinterpret_cast<uint64_t>(empty_argv);
    block = &empty_block;
  }
  the_start_block = block;
  for (InitFunction* f = __init_array_start; f != __init_array_end; ++f) (*f)();
  char** argv = reinterpret_cast<char**>(block->argv);
  int status = main(static_cast<int>(block->argc), argv != nullptr ? argv : empty_argv);
  process_exit(status);
}
