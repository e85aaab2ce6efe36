// x86_64's inline part of the MMU seam (kernel/arch/mmu.h): loading a user address space, which
// every switch between processes does.
#pragma once

#include "kernel/arch/x86_64/arch_inline.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/percpu.h"

namespace exo::arch {

namespace detail {
// CR4.PCIDE, set once per boot (enable_mmu_features).
extern bool g_pcid_enabled;
// Per CPU and PCID: the generation of the address space whose entries this CPU may cache under
// that PCID (0: none trusted). Only the owning CPU touches its row, with interrupts off.
extern uint64_t g_pcid_generation[kMaxCpus][kUserPcids];
// With CR4.PCIDE = 1, a MOV to CR3 whose bit 63 is set need not invalidate anything (SDM vol. 3,
// 4.10.4.1); the bit is not part of CR3 itself.
inline constexpr uint64_t kCr3NoFlush = uint64_t{1} << 63;
}  // namespace detail

inline void load_user_address_space(uint64_t root, uint16_t pcid, uint64_t generation) {
  if (!detail::g_pcid_enabled || pcid == 0) {
    write_cr3(root);
    return;
  }
  uint64_t& trusted = detail::g_pcid_generation[current_cpu()][pcid];
  if (trusted == generation) {
    write_cr3(root | pcid | detail::kCr3NoFlush);
    return;
  }
  // Entries this CPU cached under the PCID belong to an older generation of this space or to a
  // space that held the PCID before: the load without bit 63 drops them.
  write_cr3(root | pcid);
  trusted = generation;
}

}  // namespace exo::arch
