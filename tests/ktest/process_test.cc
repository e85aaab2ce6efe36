// ktest=process: processes started by the kernel's loader end, are waited for, and give back
// every frame they used.
#include "kernel/abi/status.h"
#include "kernel/mm/kernel_memory.h"
#include "kernel/proc/process.h"
#include "kernel/sched/thread.h"
#include "kernel/test/ktest.h"

namespace exo {
namespace {

// Runs fault_test MODE to its end; its exit status, or -1 if it could not be started.
int64_t run_fault_test(const char* mode) {
  const char* argv[] = {"fault_test", mode};
  Result<object::RefPtr<proc::Process>> process = proc::spawn_from_initrd("fault_test", argv, 2, false);
  if (!process.ok()) return -1;
  Result<int64_t> status = (*process)->wait(proc::Process::kInfiniteDeadline);
  return status.ok() ? *status : -1;
}

// The free-frame count once the last thread's kernel stack is back too. A process is dead (and
// wait returns) when its address space and handles are released; its last thread's stack and
// TCB follow when that thread has switched away for good, which a timer interrupt can delay,
// so give it up to 100 ms to reach `expected`.
uint64_t free_frames_settled(uint64_t expected) {
  uint64_t free = mm::frame_counts().free;
  for (int i = 0; i < 100 && free != expected; ++i) {
    thread_sleep_ns(1000000);
    free = mm::frame_counts().free;
  }
  return free;
}

// The count once the previous process's last thread has certainly been reaped.
uint64_t free_frames_after_pause() {
  thread_sleep_ns(5000000);
  return mm::frame_counts().free;
}

EXO_KTEST(process, faulting_process_reports_64_plus_vector) {
  KEXPECT_EQ(run_fault_test("ud"), EXO_EXIT_FAULT_BASE + 6);
  KEXPECT_EQ(run_fault_test("pf_null"), EXO_EXIT_FAULT_BASE + 14);
  KEXPECT_EQ(run_fault_test("no_such_mode"), 2);  // a clean exit with the program's status
}

EXO_KTEST(process, an_exited_process_returns_every_frame) {
  // The first runs may grow the kernel heap (it keeps the pages it grew by), so count after a
  // warm-up: from then on a process's frames, tables and stacks all come back.
  (void)run_fault_test("pf_exec_stack");
  uint64_t before = free_frames_after_pause();
  KEXPECT_EQ(run_fault_test("pf_exec_stack"), EXO_EXIT_FAULT_BASE + 14);
  KEXPECT_EQ(free_frames_settled(before), before);
  KEXPECT_EQ(run_fault_test("no_such_mode"), 2);
  KEXPECT_EQ(free_frames_settled(before), before);
}

// The syscall fuzzer (random numbers and arguments, seeded) as a child of the kernel: it must
// end normally, and everything it made must come back with it.
int64_t run_fuzz() {
  const char* argv[] = {"syscall_fuzz", "seed=12345", "count=3000"};
  Result<object::RefPtr<proc::Process>> process = proc::spawn_from_initrd("syscall_fuzz", argv, 3, false);
  if (!process.ok()) return -1;
  Result<int64_t> status = (*process)->wait(proc::Process::kInfiniteDeadline);
  return status.ok() ? *status : -1;
}

EXO_KTEST(process, syscall_fuzz_survives_and_returns_every_frame) {
  KEXPECT_EQ(run_fuzz(), 0);  // warm-up: heap growth
  uint64_t before = free_frames_after_pause();
  KEXPECT_EQ(run_fuzz(), 0);
  KEXPECT_EQ(free_frames_settled(before), before);
}

EXO_KTEST(process, missing_program_is_an_error) {
  const char* argv[] = {"no_such_program"};
  Result<object::RefPtr<proc::Process>> process =
      proc::spawn_from_initrd("no_such_program", argv, 1, false);
  KEXPECT(!process.ok());
}

}  // namespace
}  // namespace exo
