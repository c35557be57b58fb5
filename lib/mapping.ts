/**
 * A region of memory mapped into this process: by mmap(2) from a POSIX
 * shared-memory object or a regular file, or by shmat(2) from a System V
 * segment. The region is exposed as an ArrayBuffer over the mapped pages,
 * so `Atomics` and typed arrays work on it directly.
 *
 * Safety rules the class enforces, because breaking them kills the process
 * with SIGSEGV or SIGBUS instead of throwing:
 * - a read-only mapping never hands out a writable view: `read()` copies;
 * - after `unmap()` the buffer is detached, so every view kept reads as
 *   empty (length 0) instead of touching unmapped memory.
 */
import { toArrayBuffer, type Pointer } from "bun:ffi";
import { MS } from "./ffi/constants.ts";
import { sys } from "./ffi/libc.ts";
import { closed, lastError } from "./errors.ts";
import { count } from "./validate.ts";

/** Constructors of the typed arrays a mapping can be viewed through. */
export type TypedArrayConstructor<T> = {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): T;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
};

/** How the pages were mapped and how to give them back. */
export interface MappingInit {
  pointer: Pointer;
  length: number;
  /** Where the mapping starts inside the object. */
  offset: number;
  writable: boolean;
  /** false for a private, copy-on-write mapping. */
  shared: boolean;
  /** What the mapping is of, for error messages ("/counter", "data.bin"). */
  label: string;
  /** munmap or shmdt; returns -1 and sets errno on failure. */
  release: { call: string; fn: (pointer: Pointer, length: number) => number };
  /** msync applies to mmap mappings; System V segments have no backing file. */
  syncable: boolean;
}

/**
 * Memory mapped into this process, from `SharedMemory.map()`,
 * `MappedFile.map()` or `SysVSharedMemory.attach()`: typed views over it
 * for `Atomics`, copies out of it, and `unmap()` (or `using`) to give it back.
 */
export class Mapping implements Disposable {
  /** Bytes mapped. */
  readonly length: number;
  /** Offset of the first mapped byte in the object. */
  readonly offset: number;
  readonly writable: boolean;
  /** true: writes reach the object and other processes; false: copy-on-write. */
  readonly shared: boolean;
  readonly label: string;
  #pointer: Pointer | null;
  #buffer: ArrayBuffer;
  readonly #init: MappingInit;

  /** Wraps pages that are mapped already; the library's `map()` and `attach()` call this. */
  constructor(init: MappingInit) {
    this.#init = init;
    this.#pointer = init.pointer;
    this.length = init.length;
    this.offset = init.offset;
    this.writable = init.writable;
    this.shared = init.shared;
    this.label = init.label;
    this.#buffer = toArrayBuffer(init.pointer, 0, init.length);
  }

  /** false once unmapped. */
  get mapped(): boolean {
    return this.#pointer !== null;
  }

  /** The address of the first byte, for passing to other C calls. */
  get pointer(): Pointer {
    if (this.#pointer === null) throw closed("mapping", this.label);
    return this.#pointer;
  }

  /**
   * The whole mapping as an ArrayBuffer (writable mappings only). Views
   * over it read as empty after `unmap()`.
   */
  get buffer(): ArrayBuffer {
    this.#assertWritable("buffer");
    return this.#buffer;
  }

  /** A byte view over the whole mapping (writable mappings only). */
  bytes(): Uint8Array {
    return this.view(Uint8Array);
  }

  /**
   * A typed view over part of the mapping, such as `view(Int32Array, 0, 1)`
   * for a shared counter. Checks bounds and alignment, which the typed-array
   * constructor would report less clearly.
   */
  view<T>(Type: TypedArrayConstructor<T>, byteOffset = 0, length?: number): T {
    this.#assertWritable(`view(${Type.name})`);
    const size = Type.BYTES_PER_ELEMENT;
    count(byteOffset, `view: byteOffset`, this.length);
    if (byteOffset % size !== 0) {
      throw new RangeError(`view: a ${Type.name} must start at a multiple of ${size} bytes; byteOffset ${byteOffset} is not`);
    }
    const fits = Math.floor((this.length - byteOffset) / size);
    const elements = length === undefined ? fits : count(length, "view: length");
    if (elements > fits) {
      throw new RangeError(
        `view: ${elements} × ${size} bytes from offset ${byteOffset} run past the end of the ${this.length}-byte mapping of ${this.label}`,
      );
    }
    return new Type(this.#buffer, byteOffset, elements);
  }

  /** A copy of `length` bytes from `offset`; works on read-only mappings too. */
  read(offset = 0, length?: number): Uint8Array {
    this.#assertMapped("read");
    // Past the end the default length is 0, so #range reports the offset.
    const [start, size] = this.#range("read", offset, length ?? Math.max(0, this.length - offset));
    return new Uint8Array(this.#buffer, start, size).slice();
  }

  /** Text from `offset`, up to `length` bytes or the first NUL byte. */
  readText(offset = 0, length?: number): string {
    const bytes = this.read(offset, length);
    const end = bytes.indexOf(0);
    return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
  }

  /** Copies bytes (or UTF-8 text) into the mapping at `offset`; returns the byte count. */
  write(data: string | ArrayBufferView, offset = 0): number {
    this.#assertWritable("write");
    const bytes =
      typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const [start] = this.#range("write", offset, bytes.length);
    new Uint8Array(this.#buffer, start, bytes.length).set(bytes);
    return bytes.length;
  }

  /**
   * Flushes changes of a file mapping to the file (msync). `wait: false`
   * only schedules the write-back (MS_ASYNC).
   */
  sync({ wait = true, invalidate = false }: { wait?: boolean; invalidate?: boolean } = {}): void {
    this.#assertMapped("sync");
    if (!this.#init.syncable) return;
    const flags = (wait ? MS.SYNC : MS.ASYNC) | (invalidate ? MS.INVALIDATE : 0);
    if (sys.msync(this.#pointer, this.length, flags) === -1) throw lastError("msync", this.label);
  }

  /**
   * Unmaps the pages; every view over them then reads as empty. Idempotent.
   * While a helper thread still uses the pages (see `pin`), they stay
   * mapped until it lets go, but this object counts as unmapped at once.
   */
  unmap(): void {
    const pointer = this.#pointer;
    if (pointer === null) return;
    this.#pointer = null;
    // Detach first: views kept by the caller become empty, never dangling.
    this.#buffer = this.#buffer.transfer(0);
    if (this.#pins > 0) {
      this.#pinnedPointer = pointer; // munmap when the last pin goes
      return;
    }
    if (this.#init.release.fn(pointer, this.length) === -1) throw lastError(this.#init.release.call, this.label);
  }

  #pins = 0;
  #pinnedPointer: Pointer | null = null;

  /**
   * Keeps the pages mapped while another thread of this process uses them
   * (an async wait of lib/sync), even if `unmap()` is called meanwhile: a
   * thread that wakes up in memory that is gone would kill the process.
   * Returns the function that lets go.
   * @internal
   */
  pin(): () => void {
    this.#assertMapped("pin");
    this.#pins += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#pins -= 1;
      const pointer = this.#pinnedPointer;
      if (this.#pins === 0 && pointer !== null) {
        this.#pinnedPointer = null;
        this.#init.release.fn(pointer, this.length); // nobody left to tell if this fails
      }
    };
  }

  [Symbol.dispose](): void {
    this.unmap();
  }

  #assertMapped(what: string): void {
    if (this.#pointer === null) throw closed(what, this.label);
  }

  #assertWritable(what: string): void {
    this.#assertMapped(what);
    if (!this.writable) {
      throw new TypeError(
        `${what}: the mapping of ${this.label} is read-only; writing to it would kill the process with SIGSEGV. ` +
          `Use read() to copy bytes out, or map it with protection "read-write".`,
      );
    }
  }

  #range(what: string, offset: number, length: number): [number, number] {
    count(offset, `${what}: offset`);
    count(length, `${what}: length`);
    if (offset + length > this.length) {
      throw new RangeError(
        `${what}: ${length} bytes at offset ${offset} run past the end of the ${this.length}-byte mapping of ${this.label}`,
      );
    }
    return [offset, length];
  }
}
