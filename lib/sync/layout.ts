/**
 * Laying out several objects and data in one piece of shared memory,
 * without computing a single offset by hand.
 *
 *   const Queue = layout({
 *     lock: Mutex,
 *     items: Semaphore.field({ value: 0 }),
 *     spaces: Semaphore.field({ value: 16 }),
 *     head: "u32",
 *     tail: "u32",
 *     slots: ["i32", 16],
 *   });
 *
 *   using shm = new SharedMemory(name, { create: true, size: Queue.size });
 *   using map = shm.map();
 *   const q = Queue.init(map);      // once: zeroes the bytes, initialises the objects
 *   const q = Queue.attach(map);    // in the other processes
 *   q.lock.lock(); q.slots[q.head[0]!] = 42; …
 *
 * Fields are placed in the order written, each at the next offset that is
 * a multiple of its alignment, exactly as a C compiler lays out a struct:
 * a C program with the matching struct sees the same bytes. A number
 * field becomes a typed array of length 1 (so `Atomics` works on it), an
 * array field a typed array of that length, an object field the object.
 */
import type { Mapping } from "../mapping.ts";
import { count } from "../validate.ts";
import { checkPlacement, type FieldKind } from "./common.ts";

/** The number types a field can have, with the typed array that views each. */
const SCALARS = {
  i8: Int8Array,
  u8: Uint8Array,
  i16: Int16Array,
  u16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  i64: BigInt64Array,
  u64: BigUint64Array,
  f32: Float32Array,
  f64: Float64Array,
} as const;

/** The number types of a field: "i8" … "u64", "f32", "f64". */
export type Scalar = keyof typeof SCALARS;
type ArrayOf<S extends Scalar> = InstanceType<(typeof SCALARS)[S]>;

/** One field: a number type, an array of one (`["u8", 64]`), or an object kind (`Mutex`, `Semaphore.field({ value: 1 })`). */
export type FieldSpec = Scalar | readonly [Scalar, number] | FieldKind<unknown>;

/** What a field gives you in the accessors. */
export type FieldValue<F> = F extends Scalar
  ? ArrayOf<F>
  : F extends readonly [infer S extends Scalar, number]
    ? ArrayOf<S>
    : F extends FieldKind<infer T>
      ? T
      : never;

/** The accessors of a laid-out piece of memory: one property per field. */
export type Fields<S extends Record<string, FieldSpec>> = { readonly [K in keyof S]: FieldValue<S[K]> };

/** Where one field went, for printing a layout. */
export interface PlacedField {
  name: string;
  offset: number;
  size: number;
  /** "i32", "u8[64]", "Mutex", … */
  type: string;
}

interface Resolved {
  name: string;
  offset: number;
  size: number;
  align: number;
  type: string;
  make: (mapping: Mapping, offset: number, init: boolean) => unknown;
}

function kindName(kind: FieldKind<unknown>): string {
  const name = (kind as { name?: unknown }).name;
  return typeof name === "string" && name !== "" ? name : "object";
}

function resolve(name: string, spec: FieldSpec): Omit<Resolved, "offset"> {
  if (typeof spec === "string" || Array.isArray(spec)) {
    const [scalar, length] = typeof spec === "string" ? [spec, 1] : (spec as readonly [Scalar, number]);
    const View = SCALARS[scalar as Scalar];
    if (View === undefined) {
      throw new TypeError(`layout: field "${name}" has the unknown type ${JSON.stringify(scalar)}; use one of ${Object.keys(SCALARS).join(", ")}`);
    }
    count(length, `layout: the length of field "${name}"`, Number.MAX_SAFE_INTEGER, 1);
    const size = View.BYTES_PER_ELEMENT;
    return {
      name,
      size: size * length,
      align: size,
      type: typeof spec === "string" ? scalar : `${scalar}[${length}]`,
      make: (mapping, offset) => mapping.view(View as never, offset, length),
    };
  }
  const kind = spec as FieldKind<unknown>;
  if (kind === null || typeof kind !== "object" && typeof kind !== "function" || typeof kind.init !== "function" || typeof kind.attach !== "function") {
    throw new TypeError(`layout: field "${name}" must be a number type ("i32"), an array (["u8", 64]) or an object kind (Mutex, Semaphore.field({ value: 1 }))`);
  }
  count(kind.size, `layout: the size of field "${name}"`, Number.MAX_SAFE_INTEGER, 1);
  count(kind.align, `layout: the alignment of field "${name}"`, 4096, 1);
  return {
    name,
    size: kind.size,
    align: kind.align,
    type: kindName(kind),
    make: (mapping, offset, init) => (init ? kind.init(mapping, offset) : kind.attach(mapping, offset)),
  };
}

/** The next multiple of `align` at or after `offset`. */
export function alignUp(offset: number, align: number): number {
  return Math.ceil(offset / align) * align;
}

/** A described piece of shared memory: its size, its fields' offsets, and init/attach to reach them. */
export class SharedLayout<S extends Record<string, FieldSpec>> {
  /** Bytes the whole layout takes, padded to a multiple of its alignment (like C's sizeof). */
  readonly size: number;
  /** The largest alignment of its fields: place the layout at a multiple of this. */
  readonly align: number;
  /** Each field's offset from the start of the layout. */
  readonly offsets: { readonly [K in keyof S]: number };
  readonly #fields: Resolved[];

  constructor(spec: S) {
    if (spec === null || typeof spec !== "object" || Object.keys(spec).length === 0) {
      throw new TypeError("layout: describe at least one field: layout({ lock: Mutex, count: \"i32\" })");
    }
    let offset = 0;
    let align = 1;
    this.#fields = Object.entries(spec).map(([name, fieldSpec]) => {
      const field = resolve(name, fieldSpec);
      offset = alignUp(offset, field.align);
      const placed = { ...field, offset };
      offset += field.size;
      align = Math.max(align, field.align);
      return placed;
    });
    this.align = align;
    this.size = alignUp(offset, align);
    this.offsets = Object.fromEntries(this.#fields.map((f) => [f.name, f.offset])) as { [K in keyof S]: number };
  }

  /** Where every field went: name, offset, size and type. */
  get fields(): PlacedField[] {
    return this.#fields.map(({ name, offset, size, type }) => ({ name, offset, size, type }));
  }

  /**
   * Sets the memory up, once, in one process: zeroes the layout's bytes at
   * `offset` and initialises every object in it (mutexes, semaphores, …).
   */
  init(mapping: Mapping, offset = 0): Fields<S> {
    this.#check("layout.init", mapping, offset);
    mapping.bytes().fill(0, offset, offset + this.size);
    return this.#accessors(mapping, offset, true);
  }

  /** Reaches memory that another process set up with init(). */
  attach(mapping: Mapping, offset = 0): Fields<S> {
    this.#check("layout.attach", mapping, offset);
    return this.#accessors(mapping, offset, false);
  }

  /** A table of the fields, for printing. */
  toString(): string {
    const rows = this.#fields.map((f) => `${String(f.offset).padStart(6)}  ${String(f.size).padStart(5)}  ${f.name}: ${f.type}`);
    return [`offset   size  field (${this.size} bytes, aligned to ${this.align})`, ...rows].join("\n");
  }

  #check(call: string, mapping: Mapping, offset: number): void {
    checkPlacement(call, mapping, offset, { size: this.size, align: this.align });
  }

  #accessors(mapping: Mapping, offset: number, init: boolean): Fields<S> {
    const out: Record<string, unknown> = {};
    for (const field of this.#fields) out[field.name] = field.make(mapping, offset + field.offset, init);
    return Object.freeze(out) as Fields<S>;
  }
}

/** Describes a piece of shared memory field by field; see SharedLayout. */
export function layout<const S extends Record<string, FieldSpec>>(spec: S): SharedLayout<S> {
  return new SharedLayout(spec);
}
