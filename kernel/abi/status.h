/* ABI status codes: what rax holds after a syscall (negative values are errors). */
#ifndef EXO_ABI_STATUS_H
#define EXO_ABI_STATUS_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

/*
 * A syscall returns a signed 64-bit status in rax: >= 0 is success (0 or a value), < 0 is one of
 * the codes below. The values are ABI: they never change and retired codes are never reused.
 * The kernel turns its internal exo::Error into these in one place (kernel/abi/status_map.h);
 * the mapping is documented in docs/syscalls.md and host-tested.
 */
#ifndef __ASSEMBLER__
typedef int64_t ExoStatus;
#endif

#define EXO_OK 0
#define EXO_ERR_NO_MEMORY (-1)          /* out of memory, handles or address space */
#define EXO_ERR_INVALID_ARGUMENT (-2)   /* an argument is outside its documented domain */
#define EXO_ERR_OUT_OF_RANGE (-3)       /* an offset or length runs past its object */
#define EXO_ERR_MALFORMED (-4)          /* input data (an image, a message) is not well formed */
#define EXO_ERR_NOT_FOUND (-5)          /* nothing by that name or address */
#define EXO_ERR_ALREADY_EXISTS (-6)     /* the slot, name or range is taken */
#define EXO_ERR_UNSUPPORTED (-7)        /* a valid request this kernel does not provide */
#define EXO_ERR_ACCESS_DENIED (-8)      /* rights or policy forbid it (W^X, kernel addresses) */
#define EXO_ERR_BAD_HANDLE (-9)         /* the handle value names nothing */
#define EXO_ERR_WRONG_TYPE (-10)        /* the handle names an object of another type */
#define EXO_ERR_BUSY (-11)              /* the resource is in use */
#define EXO_ERR_WOULD_BLOCK (-12)       /* it would have to wait and the caller asked not to */
#define EXO_ERR_TIMED_OUT (-13)         /* the deadline passed */
#define EXO_ERR_PEER_CLOSED (-14)       /* the other side is gone */
#define EXO_ERR_FAULT (-15)             /* a user pointer could not be read or written */
#define EXO_ERR_OVERFLOW (-16)          /* address or size arithmetic would wrap */
#define EXO_ERR_NOT_ALIGNED (-17)       /* an address or length is not page-aligned */
#define EXO_ERR_BAD_SYSCALL (-18)       /* no syscall has this number */
#define EXO_ERR_INTERNAL (-19)          /* a kernel error with no ABI code (a kernel bug) */

/* Lowest defined code: statuses in [EXO_STATUS_MIN, -1] are errors, anything lower is not ABI. */
#define EXO_STATUS_MIN EXO_ERR_INTERNAL

/*
 * Process exit statuses with a fixed meaning (what process_wait reports in rdx). Programs use
 * 0..61 freely. Statuses reach QEMU through init and debug_shutdown only in 0..126
 * (docs/testing.md); init reports anything outside that range as 126.
 */
#define EXO_EXIT_NOT_STARTED 62 /* init: run=NAME could not be found or loaded */
#define EXO_EXIT_ABORT 63       /* libsys gave up: heap misuse, failed new, pure virtual call */
#define EXO_EXIT_FAULT_BASE 64  /* killed by an unhandled CPU exception: 64 + vector */
#define EXO_EXIT_STATUS_MAX_REPORTABLE 126

#endif /* EXO_ABI_STATUS_H */
