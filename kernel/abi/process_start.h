/* The start block: what a new process finds through rdi at its entry point. */
#ifndef EXO_ABI_PROCESS_START_H
#define EXO_ABI_PROCESS_START_H

#include <stdint.h>

/*
 * At the entry point of a process's first thread (docs/syscalls.md, "Process start"):
 *   rdi = user address of an ExoStartBlock (the `argument` of process_start),
 *   rsp = 16-byte aligned (x86-64 psABI 3.4.1), with the block and its strings above it,
 *   every other general register 0, rflags.IF = 1, SSE state clean (MXCSR 0x1f80, FCW 0x37f).
 * The block and everything it points to lie in memory the process owns and may write
 * (normally the top of its initial stack). Pointers are user addresses stored as uint64_t so
 * the layout is the same for every language and for the host tests.
 */

#define EXO_START_MAGIC 0x54524154534f5845ull /* "EXOSTART" little-endian */
#define EXO_START_VERSION 1u

/* What a handle passed at start-up is for. */
#define EXO_START_HANDLE_NONE 0u
#define EXO_START_HANDLE_PROCESS_SELF 1u /* the process's own handle */
#define EXO_START_HANDLE_INITRD 2u       /* the initrd archive, a memory object (read, map) */
#define EXO_START_HANDLE_IO_PORTS 3u     /* init: every I/O port (with MANAGE, to hand out parts) */
#define EXO_START_HANDLE_CONSOLE 4u      /* the console: the serial server's endpoint (write) */
#define EXO_START_HANDLE_IRQ_BASE 0x10u  /* init: ISA interrupt line n has role 0x10 + n */
#define EXO_START_HANDLE_USER 0x100u     /* first value for protocol-defined roles */

typedef struct ExoStartHandle {
  uint32_t handle; /* the value in the new process's table */
  uint32_t role;   /* EXO_START_HANDLE_* */
} ExoStartHandle;

typedef struct ExoStartBlock {
  uint64_t magic;   /* EXO_START_MAGIC */
  uint32_t version; /* EXO_START_VERSION */
  uint32_t size;    /* bytes from the block's start to the end of its last string */
  uint64_t argc;
  uint64_t argv;    /* const char* [argc + 1], the last one 0; argv[0] is the program name */
  uint64_t envc;
  uint64_t envp;    /* const char* [envc + 1] of "key=value", the last one 0 */
  uint64_t handle_count;
  uint64_t handles; /* const ExoStartHandle[handle_count] */
  /* init only (0 otherwise): the initrd archive, mapped read-only, and its length. */
  uint64_t initrd_base;
  uint64_t initrd_size;
} ExoStartBlock;

#ifdef __cplusplus
static_assert(sizeof(ExoStartHandle) == 8, "ExoStartHandle layout is ABI");
static_assert(sizeof(ExoStartBlock) == 80, "ExoStartBlock layout is ABI");
static_assert(__builtin_offsetof(ExoStartBlock, argv) == 24, "ExoStartBlock layout is ABI");
static_assert(__builtin_offsetof(ExoStartBlock, initrd_base) == 64, "ExoStartBlock layout is ABI");
#endif

#endif /* EXO_ABI_PROCESS_START_H */
