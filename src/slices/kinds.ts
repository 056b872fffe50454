// The key kinds a table image holds (native/include/softunicast/table.h, SU_KEY_KINDS), one
// module each; compileTable (compile.ts) places their sections in the order listed here, which is
// the order the packet path asks them in (native/core/route.h, su_lookup_kinds).
import type { KeyKind } from './kind.js';
import { portSliceKind } from './port-slices.js';

/** Every key kind, one line each, in the order the image places (and the packet path asks) them. */
export const KEY_KINDS: readonly KeyKind[] = [
  portSliceKind,
];
