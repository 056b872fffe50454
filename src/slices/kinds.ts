// The key kinds a table image holds (SU_KEY_KINDS in table.h), one module each, in the order
// compileTable (compile.ts) places their sections and the packet path (route.h) asks them.
import { addressSliceKind } from './address-slices.js';
import { flowHashKind } from './flow-hash.js';
import type { KeyKind } from './kind.js';
import { portSliceKind } from './port-slices.js';

/** Every key kind, one line each, in the order the image places (and the packet path asks) them. */
export const KEY_KINDS: readonly KeyKind[] = [
  portSliceKind,
  flowHashKind,
  addressSliceKind,
];
