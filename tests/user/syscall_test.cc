// syscall_test: every syscall on its good and bad paths, from ring 3 (docs/syscalls.md rules).
#include "exo/syscall.h"
#include "tests/user/user_test.h"
#include "exo/print.h"
#include "exo/string.h"
#include "kernel/abi/status_map.h"
#include "libsys/src/arch/x86_64/cpu.h"
#include "libsys/src/arch/x86_64/raw_syscall.h"

namespace {

using exo::sys::print;
namespace raw = exo::sys::raw;

using exo::user_test::expect_ok;
using exo::user_test::expect_status;
using exo::user_test::expect_true;

constexpr uint64_t kPage = EXO_PAGE_SIZE;
constexpr uint64_t kKernelAddress = 0xffffffff80000000ull;
constexpr uint64_t kNonCanonical = 0x0000800000000000ull;
constexpr uint64_t kUnmapped = 0x0000100000000000ull;  // nothing is mapped this high in a test
constexpr uint64_t kBadHandle = 0x7ffffffe;
constexpr uint64_t kRW = EXO_PROT_READ | EXO_PROT_WRITE;
constexpr uint64_t kRWX = EXO_PROT_READ | EXO_PROT_WRITE | EXO_PROT_EXECUTE;

uint64_t ptr(const void* p) {
  return reinterpret_cast<uint64_t>(p);
}

void test_unknown_numbers() {
  const uint64_t numbers[] = {
      0, EXO_SYSCALL_COUNT, EXO_SYSCALL_COUNT + 1, 255, 4096, 0x80000000ull, ~0ull};
  for (uint64_t n : numbers) {
    expect_status("unknown syscall number", raw::syscall6(n, 1, 2, 3, 4, 5, 6).status,
                  EXO_ERR_BAD_SYSCALL);
  }
}

void test_debug_log() {
  const char text[] = "syscall_test: debug_log works\n";
  expect_status("debug_log", raw::debug_log(ptr(text), sizeof(text) - 1).status, EXO_OK);
  expect_status("debug_log empty with null", raw::debug_log(0, 0).status, EXO_OK);
  expect_status("debug_log kernel pointer", raw::debug_log(kKernelAddress, 16).status,
                EXO_ERR_FAULT);
  expect_status("debug_log non-canonical", raw::debug_log(kNonCanonical, 16).status, EXO_ERR_FAULT);
  expect_status("debug_log unmapped", raw::debug_log(kUnmapped, 16).status, EXO_ERR_FAULT);
  expect_status("debug_log null", raw::debug_log(0, 16).status, EXO_ERR_FAULT);
  expect_status("debug_log wrapping length", raw::debug_log(ptr(text), ~0ull).status,
                EXO_ERR_FAULT);
  expect_status("debug_log runs into the kernel",
                raw::debug_log(0x00007ffffffff000ull, 0x2000).status, EXO_ERR_FAULT);
}

void test_clock_sleep_yield() {
  raw::Return first = raw::clock_get(EXO_CLOCK_MONOTONIC);
  expect_ok("clock_get monotonic", first.status);
  expect_status("yield", raw::yield().status, EXO_OK);
  expect_status("sleep 2 ms", raw::sleep(2000000).status, EXO_OK);
  raw::Return second = raw::clock_get(EXO_CLOCK_MONOTONIC);
  expect_true("the clock moved on by at least the sleep",
              second.status >= 0 && first.status >= 0 && second.status - first.status >= 2000000);
  expect_status("sleep 0", raw::sleep(0).status, EXO_OK);
  expect_status("clock_get unknown clock", raw::clock_get(99).status, EXO_ERR_INVALID_ARGUMENT);
}

void test_anonymous_memory() {
  raw::Return map = raw::vm_map_anonymous(0, 2 * kPage, kRW, 0);
  expect_ok("vm_map_anonymous RW", map.status);
  if (map.status < 0) return;
  auto* bytes = reinterpret_cast<uint8_t*>(map.status);
  bool zero = true;
  for (uint64_t i = 0; i < 2 * kPage; ++i) zero = zero && bytes[i] == 0;
  expect_true("fresh anonymous memory is zeroed", zero);
  memset(bytes, 0x5a, 2 * kPage);
  expect_true("anonymous memory is writable", bytes[2 * kPage - 1] == 0x5a);
  expect_true("anonymous memory is page-aligned", map.status % kPage == 0);

  expect_status("vm_map_anonymous W+X", raw::vm_map_anonymous(0, kPage, kRWX, 0).status,
                EXO_ERR_ACCESS_DENIED);
  expect_status("vm_map_anonymous W+X without R",
                raw::vm_map_anonymous(0, kPage, EXO_PROT_WRITE | EXO_PROT_EXECUTE, 0).status,
                EXO_ERR_ACCESS_DENIED);
  expect_status("vm_map_anonymous length 0", raw::vm_map_anonymous(0, 0, kRW, 0).status,
                EXO_ERR_INVALID_ARGUMENT);
  expect_status("vm_map_anonymous unaligned length", raw::vm_map_anonymous(0, 100, kRW, 0).status,
                EXO_ERR_NOT_ALIGNED);
  expect_status("vm_map_anonymous unknown protection bit",
                raw::vm_map_anonymous(0, kPage, 0x8, 0).status, EXO_ERR_INVALID_ARGUMENT);
  expect_status("vm_map_anonymous unknown flag",
                raw::vm_map_anonymous(0, kPage, kRW, 0x80000).status, EXO_ERR_INVALID_ARGUMENT);
  expect_status("vm_map_anonymous fixed in the kernel half",
                raw::vm_map_anonymous(kKernelAddress, kPage, kRW, EXO_MAP_FIXED).status,
                EXO_ERR_ACCESS_DENIED);
  expect_status("vm_map_anonymous fixed at page 0",
                raw::vm_map_anonymous(0, kPage, kRW, EXO_MAP_FIXED).status, EXO_ERR_ACCESS_DENIED);
  expect_status("vm_map_anonymous fixed unaligned",
                raw::vm_map_anonymous(kUnmapped + 1, kPage, kRW, EXO_MAP_FIXED).status,
                EXO_ERR_NOT_ALIGNED);
  expect_status("vm_map_anonymous fixed over a mapping",
                raw::vm_map_anonymous(map.status, kPage, kRW, EXO_MAP_FIXED).status,
                EXO_ERR_ALREADY_EXISTS);
  expect_status("vm_map_anonymous huge", raw::vm_map_anonymous(0, 1ull << 62, kRW, 0).status,
                EXO_ERR_NO_MEMORY);

  expect_status("vm_protect to read-only", raw::vm_protect(map.status, kPage, EXO_PROT_READ).status,
                EXO_OK);
  expect_status("vm_protect to W+X", raw::vm_protect(map.status, kPage, kRWX).status,
                EXO_ERR_ACCESS_DENIED);
  expect_status("vm_protect to R+X",
                raw::vm_protect(map.status, kPage, EXO_PROT_READ | EXO_PROT_EXECUTE).status,
                EXO_OK);
  expect_status("vm_protect unaligned", raw::vm_protect(map.status + 1, kPage, kRW).status,
                EXO_ERR_NOT_ALIGNED);
  expect_status("vm_protect kernel", raw::vm_protect(kKernelAddress, kPage, kRW).status,
                EXO_ERR_ACCESS_DENIED);
  expect_status("vm_protect unmapped", raw::vm_protect(kUnmapped, kPage, kRW).status,
                EXO_ERR_NOT_FOUND);

  expect_status("vm_unmap", raw::vm_unmap(map.status, 2 * kPage).status, EXO_OK);
  expect_status("debug_log from unmapped memory", raw::debug_log(map.status, 8).status,
                EXO_ERR_FAULT);
  expect_status("vm_unmap unaligned", raw::vm_unmap(map.status + 8, kPage).status,
                EXO_ERR_NOT_ALIGNED);
  expect_status("vm_unmap kernel", raw::vm_unmap(kKernelAddress, kPage).status,
                EXO_ERR_ACCESS_DENIED);
}

void test_memory_objects() {
  raw::Return object = raw::memory_object_create(2 * kPage, 0);
  expect_ok("memory_object_create", object.status);
  if (object.status < 0) return;
  uint64_t handle = static_cast<uint64_t>(object.status);
  raw::Return rw = raw::memory_object_map(EXO_PROCESS_SELF, handle, 0, 0, 2 * kPage, kRW);
  expect_ok("memory_object_map RW", rw.status);
  raw::Return ro = raw::memory_object_map(EXO_PROCESS_SELF, handle, kPage, 0, kPage, EXO_PROT_READ);
  expect_ok("memory_object_map second view, read-only", ro.status);
  if (rw.status >= 0 && ro.status >= 0) {
    reinterpret_cast<volatile uint8_t*>(rw.status)[kPage + 7] = 0xa5;
    expect_true("two views of one memory object share pages",
                reinterpret_cast<volatile uint8_t*>(ro.status)[7] == 0xa5);
  }
  expect_status("memory_object_map W+X",
                raw::memory_object_map(EXO_PROCESS_SELF, handle, 0, 0, kPage, kRWX).status,
                EXO_ERR_ACCESS_DENIED);
  expect_status("memory_object_map past the end",
                raw::memory_object_map(EXO_PROCESS_SELF, handle, 2 * kPage, 0, kPage, kRW).status,
                EXO_ERR_OUT_OF_RANGE);
  expect_status("memory_object_map unaligned offset",
                raw::memory_object_map(EXO_PROCESS_SELF, handle, 12, 0, kPage, kRW).status,
                EXO_ERR_NOT_ALIGNED);
  expect_status("memory_object_map bad handle",
                raw::memory_object_map(EXO_PROCESS_SELF, kBadHandle, 0, 0, kPage, kRW).status,
                EXO_ERR_BAD_HANDLE);
  expect_status("memory_object_map bad process handle",
                raw::memory_object_map(kBadHandle, handle, 0, 0, kPage, kRW).status,
                EXO_ERR_BAD_HANDLE);
  expect_status("memory_object_map into the kernel half",
                raw::memory_object_map(EXO_PROCESS_SELF, handle, 0, kKernelAddress, kPage,
                                       kRW | EXO_MAP_FIXED)
                    .status,
                EXO_ERR_ACCESS_DENIED);
  expect_status("memory_object_create size 0", raw::memory_object_create(0, 0).status,
                EXO_ERR_INVALID_ARGUMENT);
  expect_status("memory_object_create unknown option",
                raw::memory_object_create(kPage, 0x40).status, EXO_ERR_INVALID_ARGUMENT);
  expect_status("memory_object_map a process handle as memory",
                raw::memory_object_map(EXO_PROCESS_SELF, EXO_PROCESS_SELF, 0, 0, kPage, kRW).status,
                EXO_ERR_BAD_HANDLE);
  if (rw.status >= 0) (void)raw::vm_unmap(rw.status, 2 * kPage);
  if (ro.status >= 0) (void)raw::vm_unmap(ro.status, kPage);
  expect_status("handle_close", raw::handle_close(handle).status, EXO_OK);
  expect_status("handle_close twice", raw::handle_close(handle).status, EXO_ERR_BAD_HANDLE);
  expect_status("handle_close 0", raw::handle_close(0).status, EXO_ERR_BAD_HANDLE);
}

volatile uint32_t thread_ran = 0;
alignas(16) uint8_t thread_stack[16 * 1024];

void thread_body(void* argument) {
  __atomic_store_n(&thread_ran, static_cast<uint32_t>(reinterpret_cast<uintptr_t>(argument)),
                   __ATOMIC_RELEASE);
}

void test_threads() {
  exo::Result<exo::sys::Handle> thread = exo::sys::thread_create(
      &thread_body, reinterpret_cast<void*>(uintptr_t{42}), thread_stack, sizeof(thread_stack));
  expect_true("thread_create", thread.ok());
  for (int i = 0; i < 100000 && __atomic_load_n(&thread_ran, __ATOMIC_ACQUIRE) == 0; ++i) {
    exo::sys::yield();
  }
  expect_true("the new thread ran with its argument and exited",
              __atomic_load_n(&thread_ran, __ATOMIC_ACQUIRE) == 42);
  if (thread.ok())
    expect_status("close the thread handle", raw::handle_close(*thread).status, EXO_OK);
  expect_status("thread_create kernel entry",
                raw::thread_create(kKernelAddress, ptr(thread_stack + 1024), 0).status,
                EXO_ERR_ACCESS_DENIED);
  expect_status(
      "thread_create kernel stack",
      raw::thread_create(reinterpret_cast<uint64_t>(&thread_body), kKernelAddress, 0).status,
      EXO_ERR_ACCESS_DENIED);
}

// Puts `pattern` in xmm7, yields (the other thread then runs and puts its own pattern there),
// and reads xmm7 back, 50 times, all in one asm block so nothing else touches the register.
bool xmm7_survives_yields(uint64_t pattern) {
  for (int i = 0; i < 50; ++i) {
    uint64_t out;
    asm volatile(
        "movq %[p], %%xmm7\n\t"
        "mov %[yield], %%eax\n\t"
        "syscall\n\t"
        "movq %%xmm7, %[out]"
        : [out] "=r"(out)
        : [p] "r"(pattern), [yield] "i"(EXO_SYS_yield)
        : "rax", "rcx", "r11", "rdx", "r10", "r8", "r9", "xmm7", "memory");
    if (out != pattern) return false;
  }
  return true;
}

volatile uint32_t fpu_thread_result = 0;  // 1 ok, 2 corrupted
alignas(16) uint8_t fpu_thread_stack[16 * 1024];

void fpu_thread_body(void*) {
  bool ok = xmm7_survives_yields(0x1111222233334444ull);
  __atomic_store_n(&fpu_thread_result, ok ? 1u : 2u, __ATOMIC_RELEASE);
}

void test_fpu_state() {
  exo::Result<exo::sys::Handle> thread =
      exo::sys::thread_create(&fpu_thread_body, nullptr, fpu_thread_stack, sizeof(fpu_thread_stack));
  expect_true("thread_create for the FPU test", thread.ok());
  expect_true("xmm7 survives switches to another thread", xmm7_survives_yields(0x5555666677778888ull));
  for (int i = 0; i < 100000 && __atomic_load_n(&fpu_thread_result, __ATOMIC_ACQUIRE) == 0; ++i) {
    exo::sys::yield();
  }
  expect_true("the other thread's xmm7 survived too",
              __atomic_load_n(&fpu_thread_result, __ATOMIC_ACQUIRE) == 1);
  if (thread.ok()) (void)raw::handle_close(*thread);
}

void test_processes() {
  const char name[] = "child";
  raw::Return child = raw::process_create(ptr(name), sizeof(name) - 1, 0);
  expect_ok("process_create", child.status);
  expect_status("process_create kernel name", raw::process_create(kKernelAddress, 5, 0).status,
                EXO_ERR_FAULT);
  expect_status("process_create unknown option", raw::process_create(ptr(name), 5, 0x10).status,
                EXO_ERR_INVALID_ARGUMENT);
  if (child.status < 0) return;
  uint64_t process = static_cast<uint64_t>(child.status);
  expect_status("process_wait polls a process that never started",
                raw::process_wait(process, 0).status, EXO_ERR_TIMED_OUT);

  // A child whose only code is one page we fill: `ud2` at its entry. It faults at once and the
  // kernel reports 64 + #UD (vector 6) as its exit status.
  raw::Return object = raw::memory_object_create(kPage, 0);
  expect_ok("memory_object_create for the child", object.status);
  if (object.status >= 0) {
    raw::Return window = raw::memory_object_map(EXO_PROCESS_SELF, object.status, 0, 0, kPage, kRW);
    if (window.status >= 0) {
      auto* code = reinterpret_cast<uint8_t*>(window.status);
      code[0] = 0x0f;  // ud2
      code[1] = 0x0b;
      (void)raw::vm_unmap(window.status, kPage);
    }
    constexpr uint64_t kChildCode = 0x400000;
    expect_status(
        "memory_object_map into the child W+X",
        raw::memory_object_map(process, object.status, 0, kChildCode, kPage, kRWX | EXO_MAP_FIXED)
            .status,
        EXO_ERR_ACCESS_DENIED);
    expect_ok("memory_object_map into the child R+X",
              raw::memory_object_map(process, object.status, 0, kChildCode, kPage,
                                     EXO_PROT_READ | EXO_PROT_EXECUTE | EXO_MAP_FIXED)
                  .status);
    raw::Return moved = raw::handle_transfer(process, object.status);
    expect_ok("handle_transfer", moved.status);
    expect_status("a transferred handle is gone from the sender",
                  raw::handle_close(object.status).status, EXO_ERR_BAD_HANDLE);
    expect_status("process_start kernel entry",
                  raw::process_start(process, kKernelAddress, 0x500000, 0).status,
                  EXO_ERR_ACCESS_DENIED);
    expect_ok("process_start", raw::process_start(process, kChildCode, 0x500000, 0).status);
    expect_status("process_start twice",
                  raw::process_start(process, kChildCode, 0x500000, 0).status, EXO_ERR_BUSY);
    raw::Return waited = raw::process_wait(process, EXO_DEADLINE_INFINITE);
    expect_status("process_wait", waited.status, EXO_OK);
    expect_true("a child killed by #UD exits with 64 + 6",
                waited.status == 0 && waited.second == EXO_EXIT_FAULT_BASE + 6);
  }
  expect_status("memory_object_map with a process handle as the memory object",
                raw::memory_object_map(EXO_PROCESS_SELF, process, 0, 0, kPage, kRW).status,
                EXO_ERR_WRONG_TYPE);
  expect_status("handle_transfer bad handle", raw::handle_transfer(process, kBadHandle).status,
                EXO_ERR_BAD_HANDLE);
  expect_status("process_wait bad handle", raw::process_wait(kBadHandle, 0).status,
                EXO_ERR_BAD_HANDLE);
  expect_status("close the child", raw::handle_close(process).status, EXO_OK);
}

// A child of two threads: its main thread starts a second one that spins in ring 3 forever,
// sleeps 2 ms so the spinner runs, then calls process_exit(7). The exit must stop the spinner
// too (an interrupt or an IPI brings it into the kernel, where it sees the kill).
void test_exit_stops_other_threads() {
  constexpr uint8_t kCode[] = {
      0xb8, 0x03, 0x00, 0x00, 0x00,  // mov $3, %eax        thread_create(
      0xbf, 0x00, 0x01, 0x40, 0x00,  // mov $0x400100, %edi   entry,
      0xbe, 0x00, 0x00, 0x50, 0x00,  // mov $0x500000, %esi   stack_top,
      0x31, 0xd2,                    // xor %edx, %edx        0)
      0x0f, 0x05,                    // syscall
      0xb8, 0x06, 0x00, 0x00, 0x00,  // mov $6, %eax        sleep(
      0xbf, 0x80, 0x84, 0x1e, 0x00,  // mov $2000000, %edi    2 ms)
      0x0f, 0x05,                    // syscall
      0xb8, 0x02, 0x00, 0x00, 0x00,  // mov $2, %eax        process_exit(
      0xbf, 0x07, 0x00, 0x00, 0x00,  // mov $7, %edi          7)
      0x0f, 0x05,                    // syscall
  };
  constexpr uint64_t kBase = 0x400000;
  raw::Return object = raw::memory_object_create(kPage, 0);
  raw::Return window = raw::memory_object_map(EXO_PROCESS_SELF, object.status, 0, 0, kPage, kRW);
  expect_ok("map the child's code for writing", window.status);
  if (object.status < 0 || window.status < 0) return;
  auto* code = reinterpret_cast<uint8_t*>(window.status);
  for (uint64_t i = 0; i < sizeof(kCode); ++i) code[i] = kCode[i];
  code[0x100] = 0xeb;  // jmp .
  code[0x101] = 0xfe;
  (void)raw::vm_unmap(window.status, kPage);
  const char name[] = "two_threads";
  raw::Return child = raw::process_create(ptr(name), sizeof(name) - 1, 0);
  expect_ok("process_create two_threads", child.status);
  if (child.status < 0) return;
  expect_ok("map the code into the child",
            raw::memory_object_map(child.status, object.status, 0, kBase, kPage,
                                   EXO_PROT_READ | EXO_PROT_EXECUTE | EXO_MAP_FIXED).status);
  expect_status("start the child", raw::process_start(child.status, kBase, 0x500000, 0).status, EXO_OK);
  raw::Return waited = raw::process_wait(child.status, EXO_DEADLINE_INFINITE);
  expect_true("process_exit ends a process whose other thread spins in ring 3",
              waited.status == 0 && waited.second == 7);
  (void)raw::handle_close(child.status);
  (void)raw::handle_close(object.status);
}

uint32_t cpu_now() {
  uint32_t cpu = 0;
  (void)exo::sys::arch::rdtscp(cpu);
  return cpu;
}

// thread_set_affinity: bad masks refused; pinned to each CPU in turn, the thread runs there
// (rdtscp reports the CPU, IA32_TSC_AUX) and stays there across a yield and a sleep.
void test_affinity(uint32_t cpus) {
  expect_status("thread_set_affinity with no CPU", raw::thread_set_affinity(0).status,
                EXO_ERR_INVALID_ARGUMENT);
  expect_status("thread_set_affinity naming a CPU that is not online",
                raw::thread_set_affinity(uint64_t{1} << cpus).status, EXO_ERR_INVALID_ARGUMENT);
  expect_status("thread_set_affinity with every bit", raw::thread_set_affinity(~0ull).status,
                EXO_ERR_INVALID_ARGUMENT);
  expect_status("thread_set_affinity with bit 63", raw::thread_set_affinity(1ull << 63).status,
                EXO_ERR_INVALID_ARGUMENT);
  for (uint32_t round = 0; round < 2; ++round) {
    for (uint32_t cpu = 0; cpu < cpus; ++cpu) {
      expect_status("thread_set_affinity to one CPU", raw::thread_set_affinity(uint64_t{1} << cpu).status,
                    EXO_OK);
      bool there = cpu_now() == cpu;
      exo::sys::yield();
      there = there && cpu_now() == cpu;
      (void)exo::sys::sleep(1000000);
      there = there && cpu_now() == cpu;
      expect_true("a pinned thread runs on its CPU, also after a yield and a sleep", there);
    }
  }
  expect_status("thread_set_affinity to every online CPU",
                raw::thread_set_affinity((uint64_t{1} << cpus) - 1).status, EXO_OK);
}

void test_shutdown_refused() {
  expect_status("debug_shutdown from a process other than init", raw::debug_shutdown(0).status,
                EXO_ERR_ACCESS_DENIED);
}

}  // namespace

// `syscall_test cpus=N`: the machine has N CPUs (1 by default), for the affinity checks.
int main(int argc, char** argv) {
  print("syscall_test: {} syscalls in the table\n",
        sizeof(exo::abi::kSyscalls) / sizeof(exo::abi::kSyscalls[0]));
  uint32_t cpus = 1;
  if (argc > 1 && strncmp(argv[1], "cpus=", 5) == 0) {
    cpus = 0;
    for (const char* c = argv[1] + 5; *c >= '0' && *c <= '9'; ++c) cpus = cpus * 10 + (*c - '0');
  }
  test_unknown_numbers();
  test_debug_log();
  test_clock_sleep_yield();
  test_anonymous_memory();
  test_memory_objects();
  test_threads();
  test_fpu_state();
  test_processes();
  test_exit_stops_other_threads();
  test_affinity(cpus);
  test_shutdown_refused();
  return exo::user_test::finish();
}
