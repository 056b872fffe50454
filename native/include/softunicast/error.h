/* Errors of the native layer: a stable code, the errno and syscall behind it, and a message that
 * names the bad value. Filled by native/xsk, turned into the TypeScript error classes by the addon. */
#ifndef SOFTUNICAST_ERROR_H
#define SOFTUNICAST_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Every code the native layer can report. src/errors.ts defines one class per code; the
 * generated src/generated/abi.ts lists them, so a code added here fails the TypeScript build
 * until it has a class. */
#define SU_ERROR_CODES(X)                                                                \
	X(ERR_INVALID_OPTION, "an option has a wrong type or value")                         \
	X(ERR_INTERFACE_NOT_FOUND, "no such interface in this network namespace")            \
	X(ERR_QUEUE_NOT_FOUND, "the interface has no such RX queue")                         \
	X(ERR_QUEUE_BUSY, "another AF_XDP socket is bound to the queue")                     \
	X(ERR_PERMISSION_DENIED, "the process lacks the capabilities for BPF and AF_XDP")    \
	X(ERR_MODE_UNSUPPORTED, "the driver does not support the requested XDP or bind mode") \
	X(ERR_XDP_PROGRAM_PRESENT, "the interface already carries another XDP program")      \
	X(ERR_BPF_LOAD, "the XDP program could not be opened or loaded")                     \
	X(ERR_INVALID_FRAME, "a frame given back to a queue is not one the caller owns")     \
	X(ERR_CLOSED, "the port is closed")                                                  \
	X(ERR_NATIVE_BUILD, "the native binary is missing or was built from other sources")  \
	X(ERR_INVALID_SLICE, "a slice's address, prefix, protocols or port range is invalid")      \
	X(ERR_SLICE_OVERLAP, "two slices with different owners cover the same packets")          \
	X(ERR_UNKNOWN_OWNER, "a slice names an owner the table does not define")                 \
	X(ERR_OWNER_UNREACHABLE, "an owner's address is of a family this host cannot send from") \
	X(ERR_TABLE_LIMIT, "the table exceeds a fixed limit of the XDP program or the image")    \
	X(ERR_INVALID_TABLE, "a table image failed the native fast path's checks")               \
	X(ERR_SLICE_EXHAUSTED, "every port of this host's slice is in use for that destination") \
	X(ERR_INVALID_CONFIG, "a configuration file has problems: each one is listed")           \
	X(ERR_ADDRESS_CONFLICT, "a shared address covers a host's own address, or two hosts share one") \
	X(ERR_SLICE_CONFLICT, "a slice changed owner since it was read: another writer moved it first") \
	X(ERR_STORE_UNAVAILABLE, "the table store (etcd) could not be reached or refused a request")   \
	X(ERR_INVALID_PACKET, "a packet header is malformed or of an unsupported kind")      \
	X(ERR_INVALID_RECORD, "a DNS record's data or text is invalid: family, prefix, host bits") \
	X(ERR_INVALID_RULE, "a steering rule's protocol, prefix, port range or socket is invalid") \
	X(ERR_SYSCALL, "a system call failed")

struct su_error {
	char code[32];     /* one of SU_ERROR_CODES, "" when no error */
	int errnum;        /* positive errno, 0 when not a system error */
	char syscall[32];  /* the failing call, "" when not a system error */
	char message[1024];
};

/* Fills `err` and returns -errnum (or -EINVAL when errnum is 0), so callers can
 * `return su_error_set(...)`. `syscall` may be NULL. */
int su_error_set(struct su_error *err, const char *code, int errnum, const char *syscall,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#ifdef __cplusplus
}
#endif

#endif /* SOFTUNICAST_ERROR_H */
