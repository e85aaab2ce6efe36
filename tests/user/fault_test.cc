// fault_test MODE: provokes one CPU fault from ring 3; the kernel must end only this process.
#include "exo/print.h"
#include "exo/string.h"
#include "exo/syscall.h"
#include "libsys/src/arch/x86_64/cpu.h"

namespace {

using exo::sys::print;
namespace arch = exo::sys::arch;

// Interrupt vectors (Intel SDM vol. 3A, 6.3.1): the exit status is 64 + vector.
constexpr int kDivideError = 0;
constexpr int kInvalidOpcode = 6;
constexpr int kGeneralProtection = 13;
constexpr int kPageFault = 14;

// .data: writable, so never executable under W^X.
alignas(16) uint8_t data_code[16];
const uint8_t rodata_byte = 1;

void read_null() {
  (void)arch::load_byte(0x10);
}
void read_kernel() {
  (void)arch::load_byte(0xffffffff80000000ull);
}
void read_non_canonical() {
  (void)arch::load_byte(0x0000800000000000ull);
}
void write_text() {
  arch::store_byte(reinterpret_cast<uint64_t>(&read_null), 0xcc);
}
void write_rodata() {
  arch::store_byte(reinterpret_cast<uint64_t>(&rodata_byte), 2);
}
void execute_data() {
  // Stored at run time so the compiler cannot move a never-written array to .rodata.
  *static_cast<volatile uint8_t*>(data_code) = 0xc3;  // ret
  reinterpret_cast<void (*)()>(static_cast<void*>(data_code))();
}
void execute_stack() {
  alignas(16) volatile uint8_t stack_code[16] = {0xc3};  // ret
  reinterpret_cast<void (*)()>(const_cast<uint8_t*>(stack_code))();
}
void invalid_opcode() {
  arch::ud2();
}
void privileged() {
  arch::hlt();
}
// COM1's data port, which only the serial server may touch (its I/O-port handle).
void port_without_permission() {
  asm volatile("outb %0, %1" ::"a"(uint8_t{'!'}), "Nd"(uint16_t{0x3f8}));
}
void divide_by_zero() {
  volatile uint64_t zero = 0;
  print("quotient {}\n", arch::div(1, zero));
}

struct Mode {
  const char* name;
  void (*provoke)();
  int vector;
  const char* what;
};

constexpr Mode kModes[] = {
    {"pf_null", &read_null, kPageFault, "read of the null page"},
    {"pf_kernel", &read_kernel, kPageFault, "read of kernel memory"},
    {"pf_write_text", &write_text, kPageFault, "write to read-only text"},
    {"pf_write_rodata", &write_rodata, kPageFault, "write to read-only data"},
    {"pf_exec_data", &execute_data, kPageFault, "execution of writable data (NX)"},
    {"pf_exec_stack", &execute_stack, kPageFault, "execution on the stack (NX)"},
    {"gp_non_canonical", &read_non_canonical, kGeneralProtection, "non-canonical address"},
    {"gp_privileged", &privileged, kGeneralProtection, "privileged instruction (hlt)"},
    {"ud", &invalid_opcode, kInvalidOpcode, "invalid opcode (ud2)"},
    {"de", &divide_by_zero, kDivideError, "divide by zero"},
    {"io_port", &port_without_permission, kGeneralProtection, "I/O port without its handle"},
};

}  // namespace

// Exits with 64 + the vector through the kernel's fault handling; returning means the fault did
// not happen, which is a failure (status 1). An unknown mode lists the modes (status 2).
int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  for (const Mode& m : kModes) {
    if (strcmp(m.name, mode) != 0) continue;
    print("fault_test: {}: expecting vector {}, exit status {}\n", m.what, m.vector,
          EXO_EXIT_FAULT_BASE + m.vector);
    m.provoke();
    print("fault_test: {}: no fault happened\n", m.name);
    print("0 passed, 1 failed\n");
    return 1;
  }
  print("fault_test: unknown mode '{}'; modes:", mode);
  for (const Mode& m : kModes) print(" {}", m.name);
  print("\n");
  return 2;
}
