// Ring-3 entry points: a process's first instruction and a new thread's, before any C++ runs.
// The kernel enters with rdi = the argument and rsp = the given stack top (docs/syscalls.md);
// both re-align rsp to 16 bytes so the C++ they call sees the psABI (3.2.2) frame alignment.

  .section .text.start, "ax"
  .globl _start
  .type _start, @function
_start:
  xor %ebp, %ebp            // the end of the frame-pointer chain for backtraces
  and $-16, %rsp
  call exo_start_main       // rdi: the ExoStartBlock; never returns
  ud2
  .size _start, . - _start

  .text
  .globl exo_thread_entry
  .type exo_thread_entry, @function
exo_thread_entry:
  xor %ebp, %ebp
  and $-16, %rsp
  call exo_thread_main      // rdi: the ThreadStart libsys put on the new stack
  ud2
  .size exo_thread_entry, . - exo_thread_entry

  .section .note.GNU-stack, "", @progbits
