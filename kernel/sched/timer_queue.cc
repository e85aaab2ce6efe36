// The timer queue instantiated for threads, so the kernel build compiles every member freestanding.
#include "kernel/sched/timer_queue.h"

#include "kernel/sched/sched_entity.h"

namespace exo::sched {

template class TimerQueue<SchedEntity>;

}  // namespace exo::sched
