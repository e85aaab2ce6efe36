// Armed-catch state for run_catching_faults.
#include "kernel/arch/x86_64/fault_catch.h"

extern "C" bool exo_catch_call(void (*fn)(void*), void* arg, uint64_t* resume_rsp);
extern "C" char exo_catch_landing[];

namespace exo::arch {
namespace {

struct CatchState {
  bool armed;
  uint64_t resume_rsp;
  FaultInfo* info;
};
constinit CatchState g_catch = {};

}  // namespace

bool run_catching_faults(void (*fn)(void*), void* arg, FaultInfo* info) {
  g_catch.info = info;
  g_catch.armed = true;
  bool faulted = exo_catch_call(fn, arg, &g_catch.resume_rsp);
  g_catch.armed = false;
  return faulted;
}

bool try_recover_caught_fault(TrapFrame* frame, uint64_t cr2) {
  if (!g_catch.armed) return false;
  g_catch.armed = false;
  *g_catch.info = FaultInfo{frame->vector, frame->error_code, cr2, frame->rip,
                            reinterpret_cast<uint64_t>(frame)};
  frame->rip = reinterpret_cast<uint64_t>(exo_catch_landing);
  frame->rsp = g_catch.resume_rsp;
  return true;
}

}  // namespace exo::arch
