// x86_64 MMU control: CR3 loads, CR4 paging features, TLB invalidation (Intel SDM vol. 3,
// 4.10.4).
#include "kernel/arch/mmu.h"

#include "kernel/arch/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/arch/x86_64/percpu.h"
#include "kernel/sync/spinlock.h"

namespace exo::arch {
namespace {

using namespace control_bits;
constexpr uint32_t kLeaf1EdxPge = 1u << 13;
constexpr uint32_t kExtendedLeaf1EdxPage1Gb = 1u << 26;

// PCIDs 1..kUserPcids-1: a bitmap of those in use (bit 0, the kernel's, always set).
constinit Spinlock g_pcid_lock;
constinit uint64_t g_pcids_used[kUserPcids / 64] = {1};
}  // namespace

namespace detail {
constinit bool g_pcid_enabled = false;
constinit uint64_t g_pcid_generation[kMaxCpus][kUserPcids] = {};
}  // namespace detail
using detail::g_pcid_enabled;

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
  // PCIDs only with PGE: kernel translations must be global to survive in every PCID, and a
  // full flush of all PCIDs is a PGE toggle (flush_tlb_everything).
  if (features.pcid && (leaf1.edx & kLeaf1EdxPge) && (read_cr3() & 0xfff) == 0) cr4 |= kCr4Pcide;
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

bool pcids_enabled() { return g_pcid_enabled; }

uint16_t allocate_pcid() {
  if (!g_pcid_enabled) return 0;
  SpinlockGuard guard(g_pcid_lock);
  for (uint16_t word = 0; word < kUserPcids / 64; ++word) {
    if (g_pcids_used[word] == ~uint64_t{0}) continue;
    auto bit = static_cast<uint16_t>(__builtin_ctzll(~g_pcids_used[word]));
    g_pcids_used[word] |= uint64_t{1} << bit;
    return static_cast<uint16_t>(word * 64 + bit);
  }
  return 0;
}

void free_pcid(uint16_t pcid) {
  if (pcid == 0 || pcid >= kUserPcids) return;
  SpinlockGuard guard(g_pcid_lock);
  g_pcids_used[pcid / 64] &= ~(uint64_t{1} << (pcid % 64));
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
