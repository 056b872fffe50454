// What a key kind is on the TypeScript side: its compiled section of the table image and what it
// fills in the header. Implemented by one module per kind (port-slices.ts), listed in kinds.ts.
import type { ABI } from '../generated/abi.js';
import type { TableState } from './state.js';

/** A field of struct su_table_header, by its C name. */
export type HeaderField = keyof typeof ABI.tableHeader.fields;

/** What a key kind compiled from a table. */
export interface KindSection {
  /** The section as the image holds it (its layout: table.h). */
  bytes: Uint8Array;
  /** Header fields this kind fills (port-slice: key_count and range_count). */
  header: Partial<Record<HeaderField, number>>;
  /** Its share of CompileStats. */
  stats: { slices?: number; keys?: number; ranges?: number };
}

/**
 * A way of finding a packet's owner. Its TypeScript module holds what the kind decides: the
 * checks of its entries (port-slice: SliceTable's, table.ts), its compiled section, and how
 * explain() names what it found; its C header holds the lookup over the section
 * (docs/design.md, "Key kinds").
 */
export interface KeyKind {
  /** The kind's name as table.h spells it: its value is ABI.table.keyKinds[name]. */
  readonly name: keyof typeof ABI.table.keyKinds;
  /** The kind's section of `state`, owners by `imageOwner` (owner id -> record index in the image); undefined when the table has none of its entries (no section). */
  compile(state: TableState, imageOwner: Int32Array): KindSection | undefined;
}
