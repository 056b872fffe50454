/* Fixed-width integer types and byte copies for code that compiles both for the host and for
 * `clang -target bpf` (native/core's headers, the XDP program). Under -target bpf, <stdint.h>
 * reaches glibc's <gnu/stubs-32.h>, which only libc6-dev-i386 provides (DESIGN.md, "Things that
 * bite"): BPF builds take the kernel's <linux/types.h> instead, the host keeps libc's. */
#ifndef SOFTUNICAST_FREESTANDING_H
#define SOFTUNICAST_FREESTANDING_H

#if defined(__bpf__)
#include <linux/types.h>
typedef __u8 uint8_t;
typedef __u16 uint16_t;
typedef __u32 uint32_t;
typedef __u64 uint64_t;
typedef __s32 int32_t;
typedef __s64 int64_t;
#else
#include <stdint.h>
#endif

/* The compiler's builtins, not libc's functions: BPF has no libc, and for the small constant
 * sizes used on the packet path both targets turn them into plain loads and stores. */
#define su_memcpy __builtin_memcpy
#define su_memset __builtin_memset
#define su_memcmp __builtin_memcmp

#endif /* SOFTUNICAST_FREESTANDING_H */
