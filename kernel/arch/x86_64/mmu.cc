// x86_64 MMU control: CR3 loads, CR4 paging features, TLB invalidation (Intel SDM vol. 3,
// 4.10.4).
#include "kernel/arch/mmu.h"

#include "kernel/arch/x86_64/cpu.h"

namespace exo::arch {
namespace {

using namespace control_bits;
constexpr uint32_t kLeaf1EdxPge = 1u << 13;
constexpr uint32_t kExtendedLeaf1EdxPage1Gb = 1u << 26;

constinit bool g_pcid_enabled = false;

}  // namespace

MmuFeatures enable_mmu_features() {
  CpuidResult leaf1 = cpuid(1);
  CpuidResult leaf7 = cpuid(7, 0);
  MmuFeatures features{(leaf1.ecx & cpuid_bits::kLeaf1EcxPcid) != 0,
                       (leaf7.ebx & cpuid_bits::kLeaf7EbxInvpcid) != 0,
                       (leaf7.ebx & cpuid_bits::kLeaf7EbxSmep) != 0,
                       (leaf7.ebx & cpuid_bits::kLeaf7EbxSmap) != 0};
  uint64_t cr4 = read_cr4();
  if (leaf1.edx & kLeaf1EdxPge) cr4 |= kCr4Pge;
  // CR4.PCIDE may only be set while CR3[11:0] is 0 (SDM vol. 3, 4.10.1): the kernel's own
  // address space is PCID 0.
  if (features.pcid && (read_cr3() & 0xfff) == 0) cr4 |= kCr4Pcide;
  if (features.smep) cr4 |= kCr4Smep;
  if (features.smap) cr4 |= kCr4Smap;
  write_cr4(cr4);
  g_pcid_enabled = (cr4 & kCr4Pcide) != 0;
  features.pcid = g_pcid_enabled;
  return features;
}

bool has_1gib_pages() {
  // Leaf 80000001H exists on every x86_64 CPU: the boot code checked long mode through it.
  return (cpuid(0x80000001).edx & kExtendedLeaf1EdxPage1Gb) != 0;
}

void load_address_space(uint64_t root, uint16_t pcid) {
  write_cr3(g_pcid_enabled ? (root | pcid) : root);
}

uint64_t current_address_space_root() { return read_cr3() & ~uint64_t{0xfff}; }

void apply_tlb_flush(const mm::TlbFlush& flush) {
  if (flush.empty()) return;
  if (!flush.flush_all()) {
    for (usize i = 0; i < flush.count(); ++i) invlpg(flush.page(i));
    return;
  }
  if (flush.global()) {
    // Toggling PGE drops every TLB entry, global ones included (SDM vol. 3, 4.10.4.1).
    uint64_t cr4 = read_cr4();
    write_cr4(cr4 & ~kCr4Pge);
    write_cr4(cr4);
  } else {
    write_cr3(read_cr3());
  }
}

}  // namespace exo::arch
