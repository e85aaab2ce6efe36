// kbench: process create + start + exit + reclaim, through the kernel's loader.
#include "kernel/arch/arch.h"
#include "kernel/proc/process.h"
#include "kernel/test/kbench.h"

namespace exo {
namespace {

// exit_zero (tests/user) returns 0 from main: the whole life of a process, from an ELF in the
// initrd to its last frame back, waited for by a kernel thread.
EXO_KBENCH(process_create_exit,
           "load exit_zero from the initrd, start it, wait for its exit and reclamation") {
  const char* argv[] = {"exit_zero"};
  bench.run(9, 20, [&] {
    auto process = proc::spawn_from_initrd("exit_zero", argv, 1, false);
    if (process.ok()) (void)(*process)->wait(proc::Process::kInfiniteDeadline);
  });
}

}  // namespace
}  // namespace exo
