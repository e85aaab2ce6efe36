// Runs an Exo ring-3 program on the Linux host under ptrace, emulating a subset of the syscalls.
//
// Until the kernel half exists this is the only place libsys's start-up, heap and printing run
// for real: the program is a static ET_EXEC at 0x400000, which Linux execs as is. The tracer
// writes an ExoStartBlock (built by libsys's own build_start_block) below the initial stack,
// points rdi at it, and at every syscall stop translates Exo numbers to Linux ones:
//   debug_log -> write(1), process_exit -> exit_group, yield/sleep -> sched_yield,
//   clock_get -> the tracer's CLOCK_MONOTONIC, vm_map_anonymous -> mmap (W+X refused here, as
//   the kernel will), vm_unmap -> munmap, vm_protect -> mprotect;
// everything else returns EXO_ERR_UNSUPPORTED, unknown numbers EXO_ERR_BAD_SYSCALL.
// Usage: ring3_runner PROGRAM [ARGS...]; exits with the program's status (128 + signal if a
// signal killed it), or, when EXO_EXPECT_STATUS=N is set, 0 if the status was N and 1 if not.
// Environment for the program: EXO_ENV="k=v" (one entry, optional).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vector>

#include "exo/load_plan.h"
#include "kernel/abi/status.h"
#include "kernel/abi/syscalls.h"

namespace {

int64_t status_from_errno(int64_t linux_result) {
  switch (-linux_result) {
    case ENOMEM:
      return EXO_ERR_NO_MEMORY;
    case EINVAL:
      return EXO_ERR_INVALID_ARGUMENT;
    case EFAULT:
      return EXO_ERR_FAULT;
    case EEXIST:
      return EXO_ERR_ALREADY_EXISTS;
    case EACCES:
    case EPERM:
      return EXO_ERR_ACCESS_DENIED;
    default:
      return EXO_ERR_INTERNAL;
  }
}

// Writes the start block into the tracee below its initial rsp and sets rdi/rsp.
bool install_start_block(pid_t pid, int argc, char** argv) {
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) != 0) return false;
  constexpr size_t kArea = 16384;
  uint64_t area_top = (regs.rsp - 4096) & ~uint64_t{15};  // leave Linux's own start data alone
  uint64_t area = area_top - kArea;
  std::vector<uint8_t> buffer(kArea);
  std::vector<const char*> args(argv, argv + argc);
  std::vector<const char*> env;
  if (const char* e = getenv("EXO_ENV"); e != nullptr) env.push_back(e);
  exo::sys::StartArguments start;
  start.argv = args.data();
  start.argc = args.size();
  start.envp = env.data();
  start.envc = env.size();
  auto layout =
      exo::sys::build_start_block(exo::MutableByteSpan(buffer.data(), buffer.size()), area, start);
  if (!layout.ok()) return false;
  for (size_t offset = 0; offset < kArea; offset += 8) {
    uint64_t word;
    memcpy(&word, buffer.data() + offset, 8);
    if (ptrace(PTRACE_POKEDATA, pid, area + offset, word) != 0) return false;
  }
  regs.rdi = layout->block_address;
  regs.rsp = layout->stack_top;
  return ptrace(PTRACE_SETREGS, pid, nullptr, &regs) == 0;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: ring3_runner PROGRAM [ARGS...]\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    char* empty_env[] = {nullptr};
    execve(argv[1], argv + 1, empty_env);
    perror("execve");
    _exit(127);
  }
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);  // the SIGTRAP after execve
  if (!WIFSTOPPED(wstatus)) {
    fprintf(stderr, "ring3_runner: %s did not start\n", argv[1]);
    return 2;
  }
  ptrace(PTRACE_SETOPTIONS, pid, nullptr, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
  if (!install_start_block(pid, argc - 1, argv + 1)) {
    fprintf(stderr, "ring3_runner: cannot install the start block\n");
    kill(pid, SIGKILL);
    return 2;
  }

  bool entering = true;
  int64_t override_result = 0;
  bool override = false;
  int pending_signal = 0;
  for (;;) {
    ptrace(PTRACE_SYSCALL, pid, nullptr,
           reinterpret_cast<void*>(static_cast<intptr_t>(pending_signal)));
    pending_signal = 0;
    if (waitpid(pid, &wstatus, 0) < 0) return 2;
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    if (!WIFSTOPPED(wstatus)) continue;
    if (WSTOPSIG(wstatus) != (SIGTRAP | 0x80)) {
      pending_signal = WSTOPSIG(wstatus);
      fprintf(stderr, "ring3_runner: the program got signal %d (a fault in ring 3)\n",
              pending_signal);
      continue;
    }
    user_regs_struct regs;
    ptrace(PTRACE_GETREGS, pid, nullptr, &regs);
    if (entering) {
      override = false;
      uint64_t a0 = regs.rdi, a1 = regs.rsi, a2 = regs.rdx, a3 = regs.r10;
      long linux_number = -1;
      switch (regs.orig_rax) {
        case EXO_SYS_debug_log:
          linux_number = SYS_write;
          regs.rdi = 1;
          regs.rsi = a0;
          regs.rdx = a1;
          break;
        case EXO_SYS_process_exit:
          linux_number = SYS_exit_group;
          break;
        case EXO_SYS_yield:
        case EXO_SYS_sleep:
          linux_number = SYS_sched_yield;
          override = true;
          override_result = 0;
          break;
        case EXO_SYS_clock_get: {
          linux_number = SYS_sched_yield;
          timespec now;
          clock_gettime(CLOCK_MONOTONIC, &now);
          override = true;
          override_result = a0 == EXO_CLOCK_MONOTONIC ? now.tv_sec * 1000000000ll + now.tv_nsec
                                                      : EXO_ERR_INVALID_ARGUMENT;
          break;
        }
        case EXO_SYS_vm_map_anonymous:
          if ((a2 & EXO_PROT_WRITE) && (a2 & EXO_PROT_EXECUTE)) {
            override = true;
            override_result = EXO_ERR_ACCESS_DENIED;
            break;
          }
          linux_number = SYS_mmap;
          regs.r10 = MAP_PRIVATE | MAP_ANONYMOUS | ((a3 & EXO_MAP_FIXED) ? MAP_FIXED_NOREPLACE : 0);
          regs.r8 = static_cast<uint64_t>(-1);
          regs.r9 = 0;
          break;
        case EXO_SYS_vm_unmap:
          linux_number = SYS_munmap;
          break;
        case EXO_SYS_vm_protect:
          if ((a2 & EXO_PROT_WRITE) && (a2 & EXO_PROT_EXECUTE)) {
            override = true;
            override_result = EXO_ERR_ACCESS_DENIED;
            break;
          }
          linux_number = SYS_mprotect;
          break;
        default:
          override = true;
          override_result = regs.orig_rax > 0 && regs.orig_rax < EXO_SYSCALL_COUNT
                                ? EXO_ERR_UNSUPPORTED
                                : EXO_ERR_BAD_SYSCALL;
          break;
      }
      regs.orig_rax = linux_number;  // -1: Linux skips the call
      ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
    } else {
      if (override) {
        regs.rax = static_cast<uint64_t>(override_result);
      } else if (static_cast<int64_t>(regs.rax) < 0 && static_cast<int64_t>(regs.rax) > -4096) {
        regs.rax = static_cast<uint64_t>(status_from_errno(static_cast<int64_t>(regs.rax)));
      }
      ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
    }
    entering = !entering;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int status = run(argc, argv);
  const char* expected = getenv("EXO_EXPECT_STATUS");
  if (expected == nullptr) return status;
  if (status == atoi(expected)) return 0;
  fprintf(stderr, "ring3_runner: status %d, expected %s\n", status, expected);
  return 1;
}
