// Every error softunicast throws: one class per stable `code`. Native code creates these too
// (src/native.ts hands the addon a factory), so a caller can rely on `instanceof` and `code`.
import { ABI } from './generated/abi.js';

export type ErrorCode = (typeof ABI.errorCodes)[number];

/** Base class: `code` is stable and literal; system failures also carry `errno` and `syscall`. */
export class SoftunicastError extends Error {
  readonly code: ErrorCode;
  readonly errno: number | undefined;
  readonly syscall: string | undefined;

  constructor(code: ErrorCode, message: string, errno?: number, syscall?: string) {
    super(message);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

function define<C extends ErrorCode>(code: C, name: string) {
  const cls = class extends SoftunicastError {
    declare readonly code: C;
    constructor(message: string, errno?: number, syscall?: string) {
      super(code, message, errno, syscall);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  Object.defineProperty(cls.prototype, 'name', { value: name });
  return cls;
}

/** An option has a wrong type or value; the message names the option, what was expected and what was received. */
export const InvalidOptionError = define('ERR_INVALID_OPTION', 'InvalidOptionError');
/** The interface does not exist in the caller's network namespace. */
export const InterfaceNotFoundError = define('ERR_INTERFACE_NOT_FOUND', 'InterfaceNotFoundError');
/** The interface has no RX queue with that index. */
export const QueueNotFoundError = define('ERR_QUEUE_NOT_FOUND', 'QueueNotFoundError');
/** Another AF_XDP socket is bound to the queue. */
export const QueueBusyError = define('ERR_QUEUE_BUSY', 'QueueBusyError');
/** The process lacks CAP_BPF / CAP_NET_ADMIN / CAP_NET_RAW. */
export const PermissionDeniedError = define('ERR_PERMISSION_DENIED', 'PermissionDeniedError');
/** The driver does not support the requested attach mode or zero-copy bind. */
export const ModeUnsupportedError = define('ERR_MODE_UNSUPPORTED', 'ModeUnsupportedError');
/** The interface carries another XDP program and `replace` was not set (or it cannot be replaced). */
export const XdpProgramPresentError = define('ERR_XDP_PROGRAM_PRESENT', 'XdpProgramPresentError');
/** The XDP object could not be opened or was rejected by the verifier. */
export const BpfLoadError = define('ERR_BPF_LOAD', 'BpfLoadError');
/** A frame handed back to a queue is not one the caller holds, or its length does not fit. */
export const InvalidFrameError = define('ERR_INVALID_FRAME', 'InvalidFrameError');
/** The port was closed. */
export const ClosedError = define('ERR_CLOSED', 'ClosedError');
/** softunicast.node or the XDP object is missing, or was built from other sources: run the build. */
export const NativeBuildError = define('ERR_NATIVE_BUILD', 'NativeBuildError');
/** A slice's address, prefix (host bits set), protocol set or port range is invalid. */
export const InvalidSliceError = define('ERR_INVALID_SLICE', 'InvalidSliceError');
/** Two slices with different owners cover the same packets; the message names both. */
export const SliceOverlapError = define('ERR_SLICE_OVERLAP', 'SliceOverlapError');
/** A slice names an owner the table does not define. */
export const UnknownOwnerError = define('ERR_UNKNOWN_OWNER', 'UnknownOwnerError');
/** An owner's address is of a family this host has no unicast address of. */
export const OwnerUnreachableError = define('ERR_OWNER_UNREACHABLE', 'OwnerUnreachableError');
/** The table exceeds a fixed limit (local slices the XDP program checks, trusted peers, ...). */
export const TableLimitError = define('ERR_TABLE_LIMIT', 'TableLimitError');
/** The native fast path rejected a table image: a bug in the compiler or a hand-made image. */
export const InvalidTableError = define('ERR_INVALID_TABLE', 'InvalidTableError');
/** Every port of this host's slice is in use towards that destination. */
export const SliceExhaustedError = define('ERR_SLICE_EXHAUSTED', 'SliceExhaustedError');
/**
 * One problem of a configuration file: where it is (the path in the file, and the line and column
 * when the text is known), its error code and message. src/config/problems.ts collects them.
 */
export interface ConfigProblem {
  /** 'egress[1].slices[0].ports'; '' for the file as a whole. */
  readonly path: string;
  /** 1-based, when the problem was found in a file's text. */
  readonly line?: number;
  readonly column?: number;
  /** The code the problem would have as an error of its own: ERR_INVALID_OPTION, ERR_SLICE_OVERLAP, ... */
  readonly code: ErrorCode;
  /** "Expected X for PATH but received Z", or what conflicts with what; one line. */
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/**
 * A configuration file has problems: `problems` lists every error found (at most 10,000;
 * `omitted` counts the rest), `warnings` what validation warned about on the way. The message
 * lists them one per line, at most about 50.
 */
export class InvalidConfigError extends define('ERR_INVALID_CONFIG', 'InvalidConfigError') {
  readonly problems: readonly ConfigProblem[];
  readonly warnings: readonly ConfigProblem[];
  readonly omitted: number;

  constructor(message: string, problems: readonly ConfigProblem[] = [], warnings: readonly ConfigProblem[] = [], omitted = 0) {
    super(message);
    this.problems = problems;
    this.warnings = warnings;
    this.omitted = omitted;
  }
}
Object.defineProperty(InvalidConfigError, 'name', { value: 'InvalidConfigError' });
/**
 * A shared address or prefix covers an address a host needs for itself (a server's, an
 * endpoint's, a trusted peer's), or two hosts are given the same address.
 */
export const AddressConflictError = define('ERR_ADDRESS_CONFLICT', 'AddressConflictError');
/**
 * A compare-and-swap change of the table store lost a race: the slice it was to change has
 * another owner (or is gone) since it was read. The message names the slice, the owner expected
 * and the one found, with the store's revision.
 */
export const SliceConflictError = define('ERR_SLICE_CONFLICT', 'SliceConflictError');
/**
 * The table store (etcd) did not answer in time, could not be reached, or refused a request;
 * the message names the endpoint and what was asked. A router keeps its last table meanwhile.
 */
export const StoreUnavailableError = define('ERR_STORE_UNAVAILABLE', 'StoreUnavailableError');
/**
 * A packet or header given to a decoder is malformed (too short, a field out of range, an
 * unsupported variant or type); the message names the field, what was expected and what was found.
 */
export const InvalidPacketError = define('ERR_INVALID_PACKET', 'InvalidPacketError');
/**
 * A DNS record given to an encoder, or written in presentation format, is invalid (an unknown
 * address family, a prefix length out of range, host bits set beyond the prefix, a malformed
 * item); the message names the value and what was expected. Malformed wire data is InvalidPacketError.
 */
export const InvalidRecordError = define('ERR_INVALID_RECORD', 'InvalidRecordError');
/**
 * A socket-steering rule is invalid: protocol unknown, prefix not an ip-num prefix (or host bits
 * set), port range reversed or out of range, the same rule twice, the server not a listening
 * socket or of the wrong protocol or family; the message names the value and what was expected.
 */
export const InvalidRuleError = define('ERR_INVALID_RULE', 'InvalidRuleError');
/** Any other failed system call; see `errno` and `syscall`. */
export const SyscallError = define('ERR_SYSCALL', 'SyscallError');

type Make = new (message: string, errno?: number, syscall?: string) => SoftunicastError;

const byCode: { [C in ErrorCode]: Make } = {
  ERR_INVALID_OPTION: InvalidOptionError,
  ERR_INTERFACE_NOT_FOUND: InterfaceNotFoundError,
  ERR_QUEUE_NOT_FOUND: QueueNotFoundError,
  ERR_QUEUE_BUSY: QueueBusyError,
  ERR_PERMISSION_DENIED: PermissionDeniedError,
  ERR_MODE_UNSUPPORTED: ModeUnsupportedError,
  ERR_XDP_PROGRAM_PRESENT: XdpProgramPresentError,
  ERR_BPF_LOAD: BpfLoadError,
  ERR_INVALID_FRAME: InvalidFrameError,
  ERR_CLOSED: ClosedError,
  ERR_NATIVE_BUILD: NativeBuildError,
  ERR_INVALID_SLICE: InvalidSliceError,
  ERR_SLICE_OVERLAP: SliceOverlapError,
  ERR_UNKNOWN_OWNER: UnknownOwnerError,
  ERR_OWNER_UNREACHABLE: OwnerUnreachableError,
  ERR_TABLE_LIMIT: TableLimitError,
  ERR_INVALID_TABLE: InvalidTableError,
  ERR_SLICE_EXHAUSTED: SliceExhaustedError,
  // Native code never reports one; made here, it holds no problems (its constructor's second
  // argument is the problems, not an errno).
  ERR_INVALID_CONFIG: function invalidConfig(message: string) {
    return new InvalidConfigError(message);
  } as unknown as Make,
  ERR_ADDRESS_CONFLICT: AddressConflictError,
  ERR_SLICE_CONFLICT: SliceConflictError,
  ERR_STORE_UNAVAILABLE: StoreUnavailableError,
  ERR_INVALID_PACKET: InvalidPacketError,
  ERR_INVALID_RECORD: InvalidRecordError,
  ERR_INVALID_RULE: InvalidRuleError,
  ERR_SYSCALL: SyscallError,
};

/** Builds the error for a code reported by native code; unknown codes are a build mismatch. */
export function errorFromCode(code: string, message: string, errno?: number, syscall?: string): SoftunicastError {
  const cls = (byCode as Record<string, (typeof byCode)[ErrorCode] | undefined>)[code];
  if (cls === undefined) return new SyscallError(`${message} (unknown native error code ${code})`, errno, syscall);
  return new cls(message, errno, syscall);
}

/** The most characters of a string a message quotes. */
const QUOTE_MAX = 80;

/** A string as a message quotes it: control characters escaped, cut to QUOTE_MAX with its length given. */
function quote(value: string): string {
  // One problem per line: a value must not break a message over lines.
  const shown = value.length > QUOTE_MAX ? value.slice(0, QUOTE_MAX - 1) : value;
  const escaped = shown.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return value.length > QUOTE_MAX ? `'${escaped}…' (${value.length} characters)` : `'${escaped}'`;
}

/**
 * Formats a received value for "Expected X for Y but received Z" messages: a string quoted (at
 * most 80 characters of it), a list or an object by its kind, never a whole structure.
 */
export function describe(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const ctor = (value as object).constructor;
  return ctor && ctor !== Object ? `an instance of ${typeof ctor.name === 'string' ? ctor.name.slice(0, QUOTE_MAX) : 'a class'}` : 'an object';
}

/** Throws InvalidOptionError in the house format. */
export function invalid(path: string, expected: string, received: unknown): never {
  throw new InvalidOptionError(`Expected ${expected} for ${path} but received ${describe(received)}`);
}
